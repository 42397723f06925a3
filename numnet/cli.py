"""The `numnet` command: parses arguments and calls numnet.runs. Nothing else lives here."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from typing import Optional, Sequence

from .explain import EXAMPLES, explain_model_file
from .model import load
from .names_runs import NAMES_MODELS, NamesConfig, saved_names_config, train_names
from .onnx import DEFAULT_OPSET
from .onnx import export as export_onnx
from . import serve as web_app
from .runs import (
    ACTIVATIONS, DATASETS, OPTIMIZERS, SCHEDULES, TrainConfig, evaluate, model_summary, predict_images, saved_config, train,
)
from .sampling import sample

from .version import __version__


def _number(convert, accept, expected):
    """An argparse type: text -> number, with a message naming what was expected and what came."""

    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


_positive_int = _number(int, lambda v: v > 0, "a positive integer")
_non_negative_int = _number(int, lambda v: v >= 0, "a non-negative integer")
_positive_float = _number(float, lambda v: 0 < v < float("inf"), "a positive number")
_non_negative_float = _number(float, lambda v: 0 <= v < float("inf"), "a non-negative number")
_fraction = _number(float, lambda v: 0 <= v < 1, "a number in [0, 1)")

#: the options of the digit models (mlp, cnn) that the names models do not take
DIGIT_OPTIONS = ("hidden", "activation", "dropout", "optimizer", "momentum", "weight_decay", "schedule", "early_stopping",
                 "augment", "data_dir", "diagnose")


def build_parser() -> argparse.ArgumentParser:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(prog="numnet", description="Neural networks from scratch on NumPy: train and use a digit "
                                                                "recognizer, and a model that writes names.")
    parser.add_argument("--version", action="version", version=f"numnet {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train a digit recognizer or a names model and write a run folder",
                                description="Train a digit recognizer (mlp, cnn), or with --dataset names a model that writes "
                                            "names (lstm, transformer); writes the model, history and pictures to a run folder.")
    train.add_argument("--dataset", choices=[*DATASETS, "names"], default=defaults.dataset,
                       help="default: %(default)s (embedded, offline); names: 5,163 first names (embedded)")
    train.add_argument("--model", choices=["mlp", "cnn", *NAMES_MODELS],
                       help="mlp: dense layers (--hidden); cnn: a LeNet-like network of two conv + pool blocks; with --dataset "
                            "names: lstm or transformer (default: mlp, lstm with --dataset names)")
    train.add_argument("--hidden", type=_positive_int, nargs="+", default=list(defaults.hidden), metavar="SIZE",
                       help="hidden layer sizes of the mlp (default: %(default)s)")
    train.add_argument("--activation", choices=list(ACTIVATIONS), default=defaults.activation, help="default: %(default)s")
    train.add_argument("--dropout", type=_fraction, help="dropout after each hidden layer (default: 0.2 mlp, 0.3 cnn)")
    train.add_argument("--optimizer", choices=list(OPTIMIZERS), default=defaults.optimizer, help="default: %(default)s")
    train.add_argument("--lr", type=_positive_float, help=f"learning rate (default: {defaults.lr}; names: 0.003 lstm, 0.001 transformer)")
    train.add_argument("--momentum", type=_fraction, default=defaults.momentum, help="momentum for sgd and rmsprop (default: %(default)s)")
    train.add_argument("--weight-decay", type=_non_negative_float, default=defaults.weight_decay, help="L2 weight decay (default: %(default)s)")
    train.add_argument("--schedule", choices=SCHEDULES,
                       help="learning-rate schedule: step (×0.1 every third of the epochs), exponential (×0.9 per epoch), "
                            "cosine (2 warm-up epochs), plateau (×0.5 after 2 epochs without progress) (default: none mlp, cosine cnn)")
    train.add_argument("--early-stopping", type=_non_negative_int, default=defaults.early_stopping, metavar="PATIENCE",
                       help="stop after PATIENCE epochs without a better validation loss and keep the best weights (default: off)")
    train.add_argument("--augment", action=argparse.BooleanOptionalAction,
                       help="randomly shift (±2 px) and rotate (±10°) training digits (default: off mlp, on cnn)")
    train.add_argument("--resume", metavar="RUN_DIR",
                       help="continue the run in RUN_DIR (an existing folder) from its last checkpoint with its saved settings "
                            "(starts one there if it holds none)")
    train.add_argument("--epochs", type=_positive_int, help="default: 20 mlp, 15 cnn, 12 lstm, 15 transformer")
    train.add_argument("--batch-size", type=_positive_int, help=f"default: {defaults.batch_size} (names: {NamesConfig.batch_size})")
    train.add_argument("--clip-norm", type=_positive_float,
                       help=f"clip the gradients to this global norm after each backward pass (default: off; names: {NamesConfig.clip_norm})")
    train.add_argument("--seed", type=_non_negative_int, default=defaults.seed,
                       help="seed of weights, batch order and dropout, a non-negative integer (default: %(default)s)")
    train.add_argument("--out", help="run folder (default: runs/<date-time>)")
    train.add_argument("--data-dir", help="folder holding the MNIST / Fashion-MNIST files (or set NUMNET_DATA)")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.add_argument("--diagnose", action="store_true",
                       help="record per-layer statistics, warn in plain words when training goes wrong (diagnostics.csv/.txt/.png)")

    evaluate = commands.add_parser("evaluate", help="accuracy, per-class precision and recall, confusion matrix")
    evaluate.add_argument("model", help="a model file written by numnet train")
    evaluate.add_argument("--dataset", choices=DATASETS, help="default: the dataset the model was trained on")
    evaluate.add_argument("--data-dir", help="folder holding the MNIST / Fashion-MNIST files")
    evaluate.add_argument("--json", action="store_true", help="machine-readable output")

    predict = commands.add_parser("predict", help="read digits from PNG or JPEG images")
    predict.add_argument("model", help="a model file written by numnet train")
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="photos or scans of single digits, any size")
    predict.add_argument("--json", action="store_true", help="machine-readable output")

    sample_names = commands.add_parser("sample", help="new names from a model trained with --dataset names",
                                       description="Print new names drawn character by character from a names model.")
    sample_names.add_argument("model", help="a model file written by numnet train --dataset names")
    sample_names.add_argument("-n", "--count", type=_positive_int, default=20, help="how many names (default: %(default)s)")
    sample_names.add_argument("--temperature", type=_positive_float, default=1.0,
                              help="below 1: safer, more common names; above 1: stranger ones (default: %(default)s)")
    sample_names.add_argument("--seed", type=int, help="seed of the draws (default: a different set each time)")

    summary = commands.add_parser("summary", help="the architecture and parameter counts of a model file")
    summary.add_argument("model", help="a model file")
    summary.add_argument("--json", action="store_true", help="machine-readable output")

    export = commands.add_parser("export", help="write a model file as ONNX (needs the onnx package)",
                                 description="Write a numnet model file as an ONNX model, for onnxruntime and other ONNX tools.")
    export.add_argument("model", help="a model file")
    export.add_argument("output", help="the .onnx file to write")
    export.add_argument("--opset", type=_positive_int, default=DEFAULT_OPSET, help="ONNX opset, 13 or newer (default: %(default)s)")
    _add_explain(commands)
    serve = commands.add_parser("serve", help="a local web app: look inside a model, train in a playground, browse runs",
                                description="Start a local web app and print its URL (needs the serve extra).")
    serve.add_argument("model", nargs="?", help="the model file to look inside (default: the newest run's under --runs)")
    serve.add_argument("--runs", default="runs", metavar="DIR", help="the folder of run folders (default: %(default)s)")
    serve.add_argument("--port", type=_number(int, lambda v: 0 <= v <= 65535, "a port number in [0, 65535]"), default=8000,
                       help="default: %(default)s; 0 picks a free port")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s, this machine only)")
    return parser


def _train(args):
    saved_names = saved_names_config(args.resume) if args.resume else None
    if args.dataset == "names" or saved_names is not None:
        _train_names(args, saved_names)
        return
    defaults = TrainConfig()
    config = TrainConfig(
        dataset=args.dataset, model=args.model or defaults.model, hidden=tuple(args.hidden), activation=args.activation,
        dropout=args.dropout, optimizer=args.optimizer, lr=defaults.lr if args.lr is None else args.lr, momentum=args.momentum,
        weight_decay=args.weight_decay, schedule=args.schedule, early_stopping=args.early_stopping, augment=args.augment,
        epochs=args.epochs, batch_size=args.batch_size or defaults.batch_size, seed=args.seed, data_dir=args.data_dir,
        out=args.out, verbose=0 if args.quiet else 1, diagnose=args.diagnose, clip_norm=args.clip_norm,
    )
    if args.resume:
        saved = saved_config(args.resume)
        if saved is not None:
            print(f"Resuming the run in {args.resume} with its saved settings.")
            config = saved
        config = dataclasses.replace(config, out=args.resume, verbose=0 if args.quiet else 1, diagnose=args.diagnose)
    result = train(config, resume=bool(args.resume))
    state = "stopped early (Ctrl-C)" if result.interrupted else "done"
    if result.interrupted:
        print(f"numnet train --resume {result.folder} continues it.")
    print(f"Training {state} in {result.seconds:.1f} s. Test accuracy: {result.test_accuracy:.2%} on {config.dataset}")
    print(f"Run folder: {result.folder}")
    for path in result.files:
        print(f"  {path.name}")


def _train_names(args, saved):
    defaults = NamesConfig()
    config = NamesConfig(
        model=args.model or defaults.model, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size or defaults.batch_size,
        clip_norm=args.clip_norm or defaults.clip_norm, seed=args.seed, out=args.out, verbose=0 if args.quiet else 1,
    )
    if args.resume:
        if saved is not None:
            print(f"Resuming the run in {args.resume} with its saved settings.")
            config = saved
        config = dataclasses.replace(config, out=args.resume, verbose=0 if args.quiet else 1)
    result = train_names(config, resume=bool(args.resume))
    state = "stopped early (Ctrl-C)" if result.interrupted else "done"
    print(f"Training {state} in {result.seconds:.1f} s.")
    print(f"Test loss: {result.test_loss:.4f} nats/character ({config.model}); "
          f"bigram on the same split: {result.bigram_test_loss:.4f} nats/character")
    print(f"{result.share_new:.0%} of {len(result.samples)} sampled names are not in the training list. The first 20:")
    print("  " + " ".join(result.samples[:20]))
    print(f"Run folder: {result.folder}")
    for path in result.files:
        print(f"  {path.name}")


def _sample(args):
    for name in sample(load(args.model), args.count, temperature=args.temperature, rng=args.seed):
        print(name)


def _evaluate(args):
    report = evaluate(load(args.model), args.dataset, args.data_dir, source=args.model)
    if args.json:
        print(json.dumps({"model": args.model, **report.to_dict()}, indent=2))
        return
    print(f"Accuracy: {report.accuracy:.2%}")
    width = max(len("class"), *(len(n) for n in report.class_names))
    print(f"{'class':>{width}}  precision  recall")
    for name, p, r in zip(report.class_names, report.precision, report.recall):
        print(f"{name:>{width}}  {p:9.2%}  {r:6.2%}")
    print("Confusion matrix (rows: true class, columns: predicted):")
    cell = max(4, len(str(report.confusion.max())) + 1)
    print(" " * (width + 1) + "".join(f"{i:>{cell}}" for i in range(len(report.class_names))))
    for name, row in zip(report.class_names, report.confusion):
        print(f"{name:>{width}} " + "".join(f"{count:>{cell}}" for count in row))


def _predict(args):
    """Every image answered, in order; exit status 1 when some could not be read."""
    results = predict_images(load(args.model), args.images, source=args.model)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for result in results:
            if "error" in result:
                print(f"{result['image']}: error: {result['error']}")
                continue
            top = ", ".join(f"{t['class']} {t['probability']:.1%}" for t in result["top"])
            print(f"{result['image']}: {result['prediction']}   ({top})")
    failed = sum("error" in result for result in results)
    if failed:
        print(f"numnet predict: error: {failed} of {len(results)} images could not be read", file=sys.stderr)
        return 1
    return 0


def _summary(args):
    model = load(args.model)
    if args.json:
        print(json.dumps(model_summary(model), indent=2))
        return
    model.summary()
    for key in ("dataset", "test_accuracy", "test_loss", "bigram_test_loss", "input"):
        if key in model.metadata:
            print(f"{key}: {model.metadata[key]}")


def _export(args):
    export_onnx(load(args.model), args.output, opset=args.opset)
    print(f"Wrote {args.output} (ONNX opset {args.opset}, input 'input', output 'output')")


def _add_explain(commands):
    explain = commands.add_parser(
        "explain", help="the chain rule for one weight, factor by factor, with numbers",
        description="Write out dL/dw for one parameter and one input as the texts do by hand: every factor's formula "
                    "and value, their product, the backward pass and a finite difference, and the update.")
    explain.add_argument("model", nargs="?", help="a model file written by numnet train")
    explain.add_argument("--example", choices=["gender"], help="the texts' worked example instead of a model file")
    explain.add_argument("--image", help="a picture of one digit (prepared as numnet predict does)")
    explain.add_argument("--input", metavar="VALUES", help="instead of --image, numbers separated by commas, e.g. 0.5,1.0")
    explain.add_argument("--label", help="the target: the class of the picture, or target values such as 1 or 0,1")
    explain.add_argument("--param", help="<layer>.<key>[i, j], e.g. 1.weight[3,17] (default: the first Dense weight [0, 0])")
    explain.add_argument("--loss", choices=["mse", "cross-entropy", "binary-cross-entropy"],
                         help="default: cross-entropy for a model ending in a Dense layer of several outputs, else mse")
    explain.add_argument("--lr", type=_positive_float, default=0.1, help="η of the update shown (default: %(default)s)")
    explain.add_argument("--json", action="store_true", help="machine-readable output")


def _explain(args):
    if args.example:
        result = EXAMPLES[args.example]()
    else:
        result = explain_model_file(args.model, image=args.image, values=args.input, label=args.label, param=args.param,
                                    lr=args.lr, loss=args.loss)
    print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) if args.json else result)


def _serve(args):
    missing = web_app.missing_requirements()
    if missing:
        raise ValueError(f"the web app needs {', '.join(missing)}; install with: {web_app.INSTALL_COMMAND}")
    from .serve.server import serve  # imported here: it needs the optional serve extra (Starlette, uvicorn)

    serve(args.model, args.runs, args.host, args.port)


def _check_model_fits_dataset(parser, args):
    """A usage error for a digit model on names, a names model on digits, or a digit option on names."""
    if args.dataset == "names":
        if args.model not in (None, *NAMES_MODELS):
            parser.error(f"--dataset names trains an lstm or a transformer, not --model {args.model}")
        defaults = parser.parse_args(["train"])
        given = [name for name in DIGIT_OPTIONS if getattr(args, name) != getattr(defaults, name)]
        if given:
            parser.error(f"--{given[0].replace('_', '-')} applies to the digit models (mlp, cnn), not to --dataset names")
    elif args.model in NAMES_MODELS:
        parser.error(f"--model {args.model} writes names: use it with --dataset names")


#: library argument names -> the options typed on the command line: the library's messages name the former
OPTIONS = {
    "data_dir": "--data-dir", "resume": "--resume RUN_DIR", "out": "--out", "seed": "--seed", "epochs": "--epochs",
    "batch_size": "--batch-size", "lr": "--lr", "momentum": "--momentum", "weight_decay": "--weight-decay",
    "dropout": "--dropout", "hidden": "--hidden", "early_stopping": "--early-stopping", "dataset": "--dataset",
    "optimizer": "--optimizer", "activation": "--activation", "schedule": "--schedule", "augment": "--augment",
}


def _as_options(message):
    """``message`` with library argument names as options (OPTIONS): "seed=-1" -> "--seed -1",
    "resume=True" -> "--resume RUN_DIR", "pass data_dir= or" -> "pass --data-dir or", "seed must be" -> "--seed must be"."""
    for name, option in OPTIONS.items():
        message = re.sub(rf"(?<![\w.-]){name}=True\b", option, message)
        message = re.sub(rf"(?<![\w.-]){name}=(?=[^\s,;)])", f"{option} ", message)
        message = re.sub(rf"(?<![\w.-]){name}=", option, message)
        message = re.sub(rf"^{name}(?= must be)", option, message)
    return message


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the console script; returns the exit status (0 ok, 1 error, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "train":
        if args.resume and args.out:
            parser.error("--resume RUN_DIR already names the run folder; leave out --out")
        _check_model_fits_dataset(parser, args)
    if args.command == "explain" and (args.example is None) == (args.model is None):
        parser.error("explain needs a model file or --example gender (one of the two)")
    handlers = {"train": _train, "evaluate": _evaluate, "predict": _predict, "sample": _sample, "summary": _summary, "export": _export,
                "explain": _explain, "serve": _serve}
    try:
        return handlers[args.command](args) or 0
    # DatasetError, ModelFormatError and CheckpointError are ValueErrors; an ImportError names the optional package to install
    except (ValueError, OSError, FloatingPointError, ImportError) as error:
        print(f"numnet {args.command}: error: {_as_options(str(error))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"numnet {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
