"""Sequence layers against PyTorch: one training step (forward, backward, Adam) of an LSTM and of a transformer block.

`python -m benchmarks.sequences` times, on one thread for both frameworks (threadpoolctl for NumPy's
BLAS, torch.set_num_threads for PyTorch):

- LSTM: LSTM(32 -> 128) over a batch of 32 sequences of 16 steps (the names model's recurrent layer);
- transformer: 2 pre-norm blocks of width 64 with 4 heads and causal self-attention, then a 4·64 ReLU
  MLP, over a batch of 32 sequences of 16 positions (the names model's blocks).

Both frameworks start from the same weights (numnet's, copied into torch.nn) and take the same input and
the same upstream gradient dY (the loss L = Σ Y ⊙ dY); their outputs and gradients are checked to agree
before anything is timed. The frameworks alternate in rounds of ``steps`` training steps each, so
both see the same load on a shared machine; the ratio of each round is numnet's time over PyTorch's,
and the report gives the median ratio and the lowest and highest.
"""

import argparse
import statistics
import time
from dataclasses import dataclass

import numpy as np

from numnet.layers import LSTM, Dense, LayerNorm, MultiHeadSelfAttention, ReLU, Residual
from numnet.model import Sequential
from numnet.optimizers import Adam


@dataclass(frozen=True)
class SequenceCase:
    name: str
    kind: str  # "lstm" or "transformer"
    batch: int = 32
    steps: int = 16
    width: int = 64  # transformer: dim
    input_size: int = 32  # lstm
    hidden: int = 128  # lstm
    heads: int = 4
    blocks: int = 2


CASES = (
    SequenceCase("LSTM 32->128, batch 32, 16 steps", "lstm"),
    SequenceCase("Transformer, 2 blocks, dim 64, 4 heads, batch 32, 16 positions", "transformer"),
)


def numnet_model(case, seed=0):
    rng = np.random.default_rng(seed)
    if case.kind == "lstm":
        return Sequential([LSTM(case.input_size, case.hidden, rng=rng)])
    d = case.width
    layers = []
    for _ in range(case.blocks):
        layers += [
            Residual([LayerNorm(d), MultiHeadSelfAttention(d, case.heads, causal=True, rng=rng)]),
            Residual([LayerNorm(d), Dense(d, 4 * d, rng=rng), ReLU(), Dense(4 * d, d, rng=rng)]),
        ]
    return Sequential(layers)


def torch_model(case, model):
    """The same network in torch.nn, with numnet's weights copied in."""
    import torch

    def tensor(array):
        return torch.nn.Parameter(torch.from_numpy(np.array(array)))

    if case.kind == "lstm":
        module = torch.nn.LSTM(case.input_size, case.hidden, batch_first=True)
        for name, array in model.layers[0].params.items():
            setattr(module, f"{name}_l0", tensor(array))
        return module

    class Block(torch.nn.Module):
        def __init__(self, attention_block, mlp_block):
            super().__init__()
            norm1, attention = attention_block.layers
            norm2, dense1, _, dense2 = mlp_block.layers
            # created in numnet's order, so that parameters() lists them as the numnet blocks do
            self.norm1 = torch.nn.LayerNorm(case.width)
            self.attention = torch.nn.MultiheadAttention(case.width, case.heads, batch_first=True)
            self.norm2 = torch.nn.LayerNorm(case.width)
            self.mlp = torch.nn.Sequential(torch.nn.Linear(case.width, 4 * case.width), torch.nn.ReLU(),
                                           torch.nn.Linear(4 * case.width, case.width))
            for norm, ours in ((self.norm1, norm1), (self.norm2, norm2)):
                norm.weight, norm.bias = tensor(ours.params["weight"]), tensor(ours.params["bias"])
            self.attention.in_proj_weight = tensor(attention.params["in_proj_weight"])
            self.attention.in_proj_bias = tensor(attention.params["in_proj_bias"])
            self.attention.out_proj.weight = tensor(attention.params["out_proj_weight"])
            self.attention.out_proj.bias = tensor(attention.params["out_proj_bias"])
            for linear, ours in ((self.mlp[0], dense1), (self.mlp[2], dense2)):
                linear.weight, linear.bias = tensor(ours.params["weight"]), tensor(ours.params["bias"])

        def forward(self, x, mask):
            a = self.norm1(x)
            x = x + self.attention(a, a, a, attn_mask=mask, need_weights=False)[0]
            return x + self.mlp(self.norm2(x))

    class Blocks(torch.nn.Module):
        def __init__(self):
            super().__init__()
            pairs = zip(model.layers[0::2], model.layers[1::2])
            self.blocks = torch.nn.ModuleList([Block(a, m) for a, m in pairs])

        def forward(self, x):
            mask = torch.triu(torch.ones(x.shape[1], x.shape[1], dtype=torch.bool), diagonal=1)  # True: hidden
            for block in self.blocks:
                x = block(x, mask)
            return x

    return Blocks()


def inputs(case, seed=0):
    """X and the upstream gradient dY, float32."""
    rng = np.random.default_rng(seed)
    features = case.input_size if case.kind == "lstm" else case.width
    out = case.hidden if case.kind == "lstm" else case.width
    x = rng.standard_normal((case.batch, case.steps, features)).astype(np.float32)
    return x, rng.standard_normal((case.batch, case.steps, out)).astype(np.float32)


def numnet_step(model, optimizer, x, grad):
    model.forward(x, training=True)
    model.backward(grad)
    optimizer.step(model)


def torch_step(module, optimizer, x, grad):
    optimizer.zero_grad()
    out = module(x)
    (out[0] if isinstance(out, tuple) else out).backward(grad)
    optimizer.step()


def check_agreement(case, model, module, x, grad):
    """Output and every parameter gradient equal, before any step changes the weights."""
    import torch

    y = model.forward(x, training=True)
    model.backward(grad)
    tx = torch.from_numpy(x)
    out = module(tx)
    out = out[0] if isinstance(out, tuple) else out
    out.backward(torch.from_numpy(grad))
    np.testing.assert_allclose(y, out.detach().numpy(), rtol=1e-4, atol=1e-5)
    ours = [g for layer in model.layers for g in _grads_in_torch_order(case, layer)]
    theirs = [p.grad.numpy() for p in module.parameters()]
    assert len(ours) == len(theirs), (len(ours), len(theirs))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    module.zero_grad()


def _grads_in_torch_order(case, layer):
    if case.kind == "lstm":
        return [layer.grads[k] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    if isinstance(layer.layers[1], MultiHeadSelfAttention):  # norm1, then attention: in_proj w, b, out_proj w, b
        keys = ["0.weight", "0.bias", "1.in_proj_weight", "1.in_proj_bias", "1.out_proj_weight", "1.out_proj_bias"]
    else:  # norm2, then the MLP
        keys = ["0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias"]
    return [layer.grads[k] for k in keys]


def benchmark_case(case, rounds, steps):
    """Seconds per training step of each framework in each round, the frameworks alternating round by round."""
    import torch

    x, grad = inputs(case)
    model = numnet_model(case)
    module = torch_model(case, model)
    check_agreement(case, model, module, x, grad)
    optimizer, torch_optimizer = Adam(1e-3), torch.optim.Adam(module.parameters(), lr=1e-3)
    tx, tgrad = torch.from_numpy(x), torch.from_numpy(grad)
    runners = {
        "numnet": lambda: numnet_step(model, optimizer, x, grad),
        "PyTorch": lambda: torch_step(module, torch_optimizer, tx, tgrad),
    }
    times = {name: [] for name in runners}
    for round_ in range(1 + rounds):
        for name, run in runners.items():
            start = time.perf_counter()
            for _ in range(steps):
                run()
            if round_:  # round 0 warms caches and allocators up
                times[name].append((time.perf_counter() - start) / steps)
    return times


def summarize(times):
    ratios = [a / b for a, b in zip(times["numnet"], times["PyTorch"])]
    return {
        "numnet_ms": 1e3 * statistics.median(times["numnet"]),
        "torch_ms": 1e3 * statistics.median(times["PyTorch"]),
        "ratio": statistics.median(ratios),
        "low": min(ratios),
        "high": max(ratios),
    }


def render(results, rounds, steps):
    lines = [
        "| case (forward + backward + Adam, 1 thread) | numnet ms/step | PyTorch ms/step | numnet / PyTorch (lowest–highest) |",
        "|---|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(f"| {name} | {r['numnet_ms']:.2f} | {r['torch_ms']:.2f} | **{r['ratio']:.2f}** ({r['low']:.2f}–{r['high']:.2f}) |")
    lines.append("")
    lines.append(f"Medians over {rounds} round{'s' * (rounds > 1)} of {steps} training step{'s' * (steps > 1)} per framework, "
                 "the frameworks alternating round by round; in brackets the lowest and highest ratio of one round.")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sequences", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per case (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=20, help="training steps per round and framework (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch threads (default: %(default)s)")
    args = parser.parse_args(argv)
    for name in ("rounds", "steps", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1. Received: {getattr(args, name)}")
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    results = {}
    with threadpool_limits(args.threads):
        for case in CASES:
            results[case.name] = summarize(benchmark_case(case, args.rounds, args.steps))
            r = results[case.name]
            print(f"{case.name:64} numnet {r['numnet_ms']:7.2f} ms  PyTorch {r['torch_ms']:7.2f} ms  ratio {r['ratio']:.2f} "
                  f"({r['low']:.2f}–{r['high']:.2f})", flush=True)
    print()
    print(render(results, args.rounds, args.steps))
    return results


if __name__ == "__main__":
    main()
