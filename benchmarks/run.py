"""numnet against PyTorch (and scikit-learn for the MLPs) on the CPU: `python -m benchmarks`.

For each case the frameworks train the same network on the same data from the same initial weights
in the same batch order, one epoch at a time and alternating, so that both see the same machine
load. Seconds per epoch are the median of the timed epochs after a warm-up epoch. BLAS threads are
limited with threadpoolctl (numnet, scikit-learn) and torch.set_num_threads (PyTorch), equal for all.

Needs the bench extra (pip install -e ".[bench]") and Fashion-MNIST (apt-get install dataset-fashion-mnist).
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from . import cases as C

ROOT = Path(__file__).resolve().parent.parent


def machine_description(thread_counts):
    import torch

    from threadpoolctl import threadpool_info

    cpuinfo = {}
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        key, _, value = line.partition(":")
        cpuinfo.setdefault(key.strip(), value.strip())  # the first processor's entries
    cpu = cpuinfo.get("model name") or platform.processor() or "unknown CPU"
    if "cpu family" in cpuinfo:  # a virtual machine may name only the vendor's line ("AMD EPYC")
        cpu += f" (CPU family {cpuinfo['cpu family']}, model {cpuinfo.get('model', '?')})"
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    kernels = {info.get("architecture") for info in threadpool_info() if info.get("user_api") == "blas"} - {None}
    kernels = f" ({', '.join(sorted(kernels))} kernels)" if kernels else ""
    return (f"{cpu}, {len(os.sched_getaffinity(0))} cores available, BLAS thread counts run: {', '.join(map(str, thread_counts))}; "
            f"Python {platform.python_version()}, NumPy {np.__version__} with {blas.get('name')} {blas.get('version')}"
            f"{kernels}, PyTorch {torch.__version__}")


def matmul_peak(threads, size=1024, repeats=20):
    """Best float32 GFLOP/s of a size×size matrix product: the machine's practical ceiling."""
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    b = a.T.copy()
    with threadpool_limits(threads):
        a @ b
        best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def matmul_floor_epoch(case, model, samples):
    """A function that runs the matrix multiplies alone of one training epoch of an MLP: numnet's products
    in numnet's layouts (Y = X Wᵀ, dW = (Xᵀ dY)ᵀ, dX = dY W except for the first layer), batch by batch,
    with nothing in between. Its time is the floor that a training epoch can approach on this machine."""
    rng = np.random.default_rng(0)
    layers = [layer for layer in model.layers if layer.params]
    batches = [min(case.batch_size, samples - start) for start in range(0, samples, case.batch_size)]
    inputs = {n: [rng.random((n, layer.in_features), dtype=np.float32) for layer in layers] for n in set(batches)}
    grads = {n: [rng.random((n, layer.out_features), dtype=np.float32) for layer in layers] for n in set(batches)}

    def epoch():
        for n in batches:
            for layer, x in zip(layers, inputs[n]):
                x.dot(layer.weight.T)
            for index, (layer, x, dy) in enumerate(zip(layers, inputs[n], grads[n])):
                x.T.dot(dy).T
                if index:
                    dy.dot(layer.weight)

    return epoch


def floor_ratio(row):
    """numnet's epoch over its matmul floor (None for the other frameworks and the CNN)."""
    return row["seconds"] / row["matmul_floor"] if row["matmul_floor"] and row["framework"] == "numnet" else None


def _timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def load_data(samples):
    from numnet.datasets import load_fashion_mnist, scale

    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(progressbar=False)
    x_train, y_train = scale(x_train[:samples]), y_train[:samples].astype(np.int64)
    return x_train, y_train, scale(x_test), y_test.astype(np.int64)


def shaped(case, images):
    return images[:, None] if case.kind == "cnn" else images.reshape(len(images), -1)


def benchmark_case(case, data, threads, repeats, with_sklearn):
    """Alternate numnet / torch / sklearn epochs; return one result row per framework."""
    import torch
    from threadpoolctl import threadpool_limits

    x_train, y_train, x_test, y_test = data
    x, xt = shaped(case, x_train), shaped(case, x_test)
    model = C.numnet_model(case)
    flops = C.flops_per_sample(model) * len(x)
    module = C.torch_model(case, model)
    runners = {
        "numnet": (lambda seed, o=C.numnet_optimizer(case): C.numnet_epoch(model, o, case, x, y_train, seed)),
        "PyTorch": (lambda seed, o=C.torch_optimizer(case, module), tx=torch.from_numpy(x), ty=torch.from_numpy(y_train):
                    C.torch_epoch(module, o, case, tx, ty, seed)),
    }
    if with_sklearn and case.kind == "mlp":
        classifier = C.sklearn_model(case)
        runners["scikit-learn"] = lambda seed: C.sklearn_epoch(classifier, x, y_train)
    if case.kind == "mlp":  # timed in turn with the frameworks, so that the ratio sees the same machine load
        runners["matmul floor"] = lambda seed, epoch=matmul_floor_epoch(case, model, len(x)): epoch()
    times = {name: [] for name in runners}
    fit_setup = []
    torch.set_num_threads(threads)
    with threadpool_limits(threads):
        for epoch in range(1 + repeats):
            for name, run in runners.items():
                start = time.perf_counter()
                epoch_seconds = run(100 + epoch)  # numnet's epoch is timed inside fit, without fit's setup
                seconds = time.perf_counter() - start
                if epoch:  # epoch 0 warms caches and allocators up
                    times[name].append(seconds if epoch_seconds is None else epoch_seconds)
                    if epoch_seconds is not None:
                        fit_setup.append(seconds - epoch_seconds)
        accuracy = accuracy_on_test_set(model, module, xt, y_test)
        if "scikit-learn" in runners:
            accuracy["scikit-learn"] = float(np.mean(classifier.predict(xt) == y_test))
    floor_times = times.pop("matmul floor", None)
    rows = []
    for name, measured in times.items():
        seconds = statistics.median(measured)
        rows.append({"case": case.name, "framework": name, "seconds": seconds, "samples_per_s": len(x) / seconds,
                     "gflops": flops / seconds / 1e9, "accuracy": accuracy[name], "epochs": 1 + repeats,
                     "matmul_floor": statistics.median(floor_times) if floor_times else None,
                     "epoch_seconds": measured, "floor_epoch_seconds": floor_times,
                     "fit_setup_seconds": statistics.median(fit_setup) if name == "numnet" else None})
    return rows


def ratio_range(ours, theirs):
    """Lowest and highest ratio of epochs timed in turn: how far the load on the machine moved a ratio."""
    ratios = [a / b for a, b in zip(ours, theirs)]
    return min(ratios), max(ratios)


def _with_range(ratio, ours, theirs, bold=False):
    text = f"**{ratio:.2f}**" if bold else f"{ratio:.2f}"
    return text + (" ({:.2f}–{:.2f})".format(*ratio_range(ours, theirs)) if len(ours) > 1 else "")


def accuracy_on_test_set(model, module, x_test, y_test):
    import torch

    with torch.no_grad():
        theirs = module(torch.from_numpy(x_test)).argmax(1).numpy()
    return {"numnet": float(np.mean(model.predict(x_test).argmax(1) == y_test)), "PyTorch": float(np.mean(theirs == y_test))}


def accuracy_over_seeds(case, data, threads, seeds, epochs):
    """Test accuracy of numnet and PyTorch after ``epochs`` epochs, once per seed 1..``seeds``.

    Each seed draws new initial weights and batch orders, shared by the two frameworks; the spread
    across seeds is the run-to-run noise that a difference between the frameworks is judged against."""
    import torch
    from threadpoolctl import threadpool_limits

    x_train, y_train, x_test, y_test = data
    x, xt = shaped(case, x_train), shaped(case, x_test)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y_train)
    accuracies = {"numnet": [], "PyTorch": []}
    torch.set_num_threads(threads)
    with threadpool_limits(threads):
        for seed in range(1, seeds + 1):
            model = C.numnet_model(case, seed)
            module = C.torch_model(case, model)
            optimizer, torch_optimizer = C.numnet_optimizer(case), C.torch_optimizer(case, module)
            for epoch in range(epochs):
                C.numnet_epoch(model, optimizer, case, x, y_train, 1000 * seed + epoch)
                C.torch_epoch(module, torch_optimizer, case, tx, ty, 1000 * seed + epoch)
            for name, value in accuracy_on_test_set(model, module, xt, y_test).items():
                accuracies[name].append(value)
    return accuracies


def prediction_latency(data, threads, repeats=2000, block=100):
    """Single-sample predict (µs, median) and batch-10,000 throughput of 784-128-10, numnet and torch.

    Latency is measured twice. Warm: the frameworks alternate in blocks of ``block`` calls, so each
    answers from its own warm caches, as a process serving one request after another does. Cold: they
    alternate call by call, so each call first reloads the weights the other framework evicted."""
    import torch
    from threadpoolctl import threadpool_limits

    case = C.Case("MLP 784-128-10", "mlp", (128,))
    model = C.numnet_model(case)
    module = C.torch_model(case, model).eval()
    x = shaped(case, data[2])
    torch.set_num_threads(threads)
    results = {}
    with threadpool_limits(threads), torch.no_grad():
        tx = torch.from_numpy(x)
        single = {"numnet": lambda i: model.predict(x[i : i + 1]), "PyTorch": lambda i: module(tx[i : i + 1])}
        batch = {"numnet": lambda: model.predict(x, batch_size=len(x)), "PyTorch": lambda: module(tx)}
        latencies = {(name, size): [] for name in single for size in (block, 1)}
        for size in (block, 1):
            for first in range(0, repeats, size):
                for name, function in single.items():
                    for i in range(first, first + size):
                        latencies[name, size].append(_timed(lambda: function(i % len(x))))
        for name in single:
            throughput = len(x) / statistics.median(_timed(batch[name]) for _ in range(7))
            warm, cold = (statistics.median(latencies[name, size]) * 1e6 for size in (block, 1))
            results[name] = {"warm": warm, "cold": cold, "throughput": throughput}
    return results


MEMORY_PROBE = """
import sys
from benchmarks import cases as C
from benchmarks.run import load_data, shaped
case = [c for c in C.mlp_cases() + [C.CNN_CASE] if c.name == sys.argv[1]][0]
framework = sys.argv[2]
x_train, y_train, _, _ = load_data(int(sys.argv[3]))
x = shaped(case, x_train)
import torch  # imported by both, so that its libraries count on both sides
import gc

def status(key):
    return int(next(l for l in open("/proc/self/status") if l.startswith(key)).split()[1])

model = C.numnet_model(case)
if framework == "PyTorch":
    module = C.torch_model(case, model)
    optimizer, tx, ty = C.torch_optimizer(case, module), torch.from_numpy(x), torch.from_numpy(y_train)
else:
    optimizer = C.numnet_optimizer(case)
gc.collect()
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")  # reset the peak (VmHWM) to the current resident size
before = status("VmRSS:")
if framework == "numnet":
    C.numnet_epoch(model, optimizer, case, x, y_train, 0)
else:
    C.torch_epoch(module, optimizer, case, tx, ty, 0)
print(status("VmHWM:") - before)
"""


def peak_memory_mb(case, framework, samples, threads):
    """Growth of peak resident memory during one training epoch over the memory held before it
    (data, model, optimizer), in a fresh process (MB; Linux's VmHWM, reset through clear_refs)."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run([sys.executable, "-c", MEMORY_PROBE, case.name, framework, str(samples)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=True)
    return int(done.stdout.strip().splitlines()[-1]) / 1024


def render(rows, memory, latency, peaks, seed_accuracy, description, args):
    lines = [
        "# Benchmarks: numnet against PyTorch on the CPU",
        "",
        f"Generated by `{' '.join(['python -m benchmarks', *sys.argv[1:]])}`.",
        "",
        f"Machine: {description}.",
        f"Data: Fashion-MNIST, {args.samples:,} training and 10,000 test images. Seconds per epoch: median of "
        f"{args.repeats} epochs after a warm-up epoch, the frameworks alternating epoch by epoch. Test accuracy after "
        f"{args.repeats + 1} epochs from the same initial weights and batch order (scikit-learn: its own initialisation "
        "and order). GFLOP/s counts the multiply-adds of forward, weight gradients and input gradients (none for the "
        "first layer).",
        "",
    ]
    setups = [row["fit_setup_seconds"] * 1e3 for by_threads in rows.values() for row in by_threads if row["fit_setup_seconds"]]
    if setups:
        lines += [
            "numnet's epochs are timed inside `fit`, from the start of the epoch (before its shuffle) to its end. A `fit` "
            f"call also checks its whole input once, however many epochs it runs: that took a further {min(setups):.1f}–"
            f"{max(setups):.1f} ms a call here, left out as the PyTorch loop's tensors are made once, outside its epochs.",
            "",
        ]
    for threads in sorted(rows):
        peak = peaks[threads]
        lines += [
            f"## {threads} thread{'s' if threads > 1 else ''} (float32 matmul peak measured: {peak:.0f} GFLOP/s)",
            "",
            "| case | framework | s/epoch | samples/s | GFLOP/s | % of peak | × matmul floor | test acc. | peak MB | numnet / PyTorch |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in rows[threads]:
            torch_row = next(r for r in rows[threads] if r["case"] == row["case"] and r["framework"] == "PyTorch")
            ratio = (_with_range(row["seconds"] / torch_row["seconds"], row["epoch_seconds"], torch_row["epoch_seconds"], bold=True)
                     if row["framework"] == "numnet" else "")
            mb = memory.get((threads, row["case"], row["framework"]))
            floor = _with_range(floor_ratio(row), row["epoch_seconds"], row["floor_epoch_seconds"]) if floor_ratio(row) else ""
            lines.append(
                f"| {row['case']} | {row['framework']} | {row['seconds']:.3f} | {row['samples_per_s']:,.0f} | "
                f"{row['gflops']:.1f} | {100 * row['gflops'] / peak:.0f} | {floor} | {row['accuracy']:.4f} | "
                f"{'' if mb is None else f'{mb:.0f}'} | {ratio} |"
            )
        if threads in latency:
            ours, theirs = latency[threads]["numnet"], latency[threads]["PyTorch"]
            lines += [
                "",
                "| prediction, 784-128-10 | numnet | PyTorch | numnet / PyTorch |",
                "|---|---:|---:|---:|",
                f"| single sample, warm, µs (median) | {ours['warm']:.1f} | {theirs['warm']:.1f} | "
                f"**{ours['warm'] / theirs['warm']:.2f}** |",
                f"| single sample, cold, µs (median) | {ours['cold']:.1f} | {theirs['cold']:.1f} | "
                f"**{ours['cold'] / theirs['cold']:.2f}** |",
                f"| batch of 10,000, samples/s | {ours['throughput']:,.0f} | {theirs['throughput']:,.0f} | "
                f"**{theirs['throughput'] / ours['throughput']:.2f}** (time ratio) |",
            ]
        lines.append("")
    if seed_accuracy:
        seeds = len(next(iter(seed_accuracy.values()))["numnet"])
        lines += [
            f"## Test accuracy over {seeds} seeds ({args.repeats + 1} epochs, {args.threads[0]} thread{'s' if args.threads[0] > 1 else ''})",
            "",
            "Each seed gives both frameworks the same new initial weights and batch orders. The spread across seeds "
            "is the run-to-run noise that the difference between the frameworks is judged against.",
            "",
            "| case | numnet, per seed | numnet mean | PyTorch, per seed | PyTorch mean | numnet − PyTorch | spread across seeds |",
            "|---|---|---:|---|---:|---:|---:|",
        ]
        for name, accuracies in seed_accuracy.items():
            ours, theirs = accuracies["numnet"], accuracies["PyTorch"]
            spread = max(max(ours) - min(ours), max(theirs) - min(theirs))
            lines.append(
                f"| {name} | {', '.join(f'{a:.4f}' for a in ours)} | {np.mean(ours):.4f} | "
                f"{', '.join(f'{a:.4f}' for a in theirs)} | {np.mean(theirs):.4f} | "
                f"{np.mean(ours) - np.mean(theirs):+.4f} | {spread:.4f} |"
            )
        lines.append("")
    lines.append("× matmul floor: numnet's epoch over the time that its matrix multiplies alone take (the same "
                 "products in the same layouts, batch by batch, with nothing in between), timed in turn with the "
                 "frameworks' epochs.")
    lines.append("")
    lines.append("Ratios in brackets: the lowest and the highest ratio of single epochs timed one after the other; "
                 "the load that other tenants put on the machine moves them.")
    lines.append("")
    lines.append("Peak MB: growth of the peak resident memory during one epoch over what the process held before "
                 "it (data, model, optimizer), measured in a fresh process for the batch-64 cases.")
    lines.append("")
    lines.append("Single-sample latency: `model.predict(x[i:i+1])` against `module(x[i:i+1])` under `torch.no_grad()`, "
                 "2,000 calls each. Warm: the frameworks alternate in blocks of 100 calls, so each answers from its own "
                 "caches as a serving process does. Cold: they alternate call by call, so each call first reloads "
                 "the weights the other just evicted.")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="BLAS thread counts to run (default: 1 2)")
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs per case after the warm-up (default: 3)")
    parser.add_argument("--samples", type=int, default=60000, help="training images used (default: all 60,000)")
    parser.add_argument("--cases", default="all", choices=["all", "mlp", "cnn", "headline"],
                        help="headline: the batch-64 cases of the README (default: all)")
    parser.add_argument("--seeds", type=int, default=3,
                        help="seeds of the accuracy comparison, batch-64 cases, first thread count (default: 3; 0: skip)")
    parser.add_argument("--no-sklearn", action="store_true", help="leave out the scikit-learn column")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--output", default="benchmark-report.md", help="markdown report of this run (default: %(default)s)")
    args = parser.parse_args(argv)
    for name, low in (("repeats", 1), ("samples", 64), ("seeds", 0)):
        if getattr(args, name) < low:
            parser.error(f"--{name} must be at least {low}. Received: {getattr(args, name)}")
    if min(args.threads) < 1:
        parser.error(f"--threads must be at least 1. Received: {args.threads}")

    chosen = {"mlp": C.mlp_cases(), "cnn": [C.CNN_CASE], "all": C.mlp_cases() + [C.CNN_CASE],
              "headline": [c for c in C.mlp_cases() if c.batch_size == 64] + [C.CNN_CASE]}[args.cases]
    data = load_data(args.samples)
    rows, memory, latency, peaks = {}, {}, {}, {}
    for threads in args.threads:
        peaks[threads] = matmul_peak(threads)
        print(f"== {threads} thread(s): float32 matmul peak {peaks[threads]:.0f} GFLOP/s", flush=True)
        rows[threads] = []
        for case in chosen:
            for row in benchmark_case(case, data, threads, args.repeats, not args.no_sklearn):
                rows[threads].append(row)
                floor = f"  ({floor_ratio(row):.2f}× its matmul floor)" if floor_ratio(row) else ""
                print(f"{case.name:42} {row['framework']:13} {row['seconds']:8.3f} s/epoch  acc {row['accuracy']:.4f}{floor}", flush=True)
            if not args.no_memory and case.batch_size == 64:
                for framework in ("numnet", "PyTorch"):
                    memory[(threads, case.name, framework)] = peak_memory_mb(case, framework, args.samples, threads)
        latency[threads] = prediction_latency(data, threads)
        ours, theirs = latency[threads]["numnet"], latency[threads]["PyTorch"]
        print(f"single-sample predict, warm: numnet {ours['warm']:.1f} µs, PyTorch {theirs['warm']:.1f} µs; "
              f"cold: numnet {ours['cold']:.1f} µs, PyTorch {theirs['cold']:.1f} µs", flush=True)
    seed_accuracy = {}
    for case in (c for c in chosen if c.batch_size == 64 and args.seeds > 0):
        seed_accuracy[case.name] = accuracy_over_seeds(case, data, args.threads[0], args.seeds, args.repeats + 1)
        print(f"{case.name:42} test accuracy over {args.seeds} seeds: numnet {seed_accuracy[case.name]['numnet']}, "
              f"PyTorch {seed_accuracy[case.name]['PyTorch']}", flush=True)
    report = render(rows, memory, latency, peaks, seed_accuracy, machine_description(args.threads), args)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(report)
    print(report)
    return {"rows": rows, "seed_accuracy": seed_accuracy}


if __name__ == "__main__":
    main()
