"""The networks the benchmark trains, built identically in numnet, PyTorch and scikit-learn.

Every framework gets the same data, the same initial weights (numnet's, copied), the same batch
order (one permutation per epoch from a shared seed) and the same hyperparameters.
"""

import time
from dataclasses import dataclass

import numpy as np

import numnet
from numnet.callbacks import Callback
from numnet.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
from numnet.losses import CrossEntropy
from numnet.optimizers import SGD, Adam


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # "mlp" or "cnn"
    hidden: tuple = ()
    optimizer: str = "sgd"
    batch_size: int = 64

    @property
    def lr(self):
        return 0.1 if self.optimizer == "sgd" else 1e-3


def mlp_cases(hidden_sets=((128,), (256, 128)), optimizers=("sgd", "adam"), batch_sizes=(32, 64, 128, 256)):
    return [
        Case(f"MLP 784-{'-'.join(map(str, h))}-10 {o.upper() if o == 'sgd' else 'Adam'}, batch {b}", "mlp", h, o, b)
        for h in hidden_sets for o in optimizers for b in batch_sizes
    ]


CNN_CASE = Case("LeNet-like CNN Adam, batch 64", "cnn", optimizer="adam", batch_size=64)


def numnet_model(case, seed=0):
    rng = np.random.default_rng(seed)
    if case.kind == "cnn":
        return numnet.Sequential([
            Conv2D(1, 6, 5, padding=2, rng=rng), ReLU(), MaxPool2D(2),
            Conv2D(6, 16, 5, rng=rng), ReLU(), MaxPool2D(2), Flatten(),
            Dense(400, 120, rng=rng), ReLU(), Dense(120, 84, rng=rng), ReLU(), Dense(84, 10, rng=rng),
        ], input_shape=(1, 28, 28))
    layers, width = [], 784
    for size in case.hidden:
        layers += [Dense(width, size, rng=rng), ReLU()]
        width = size
    return numnet.Sequential(layers + [Dense(width, 10, rng=rng)], input_shape=(784,))


def flops_per_sample(model):
    """Multiply-add FLOPs of one training step per sample: forward, dW, and dX except for the first layer."""
    total = 0
    for index, (layer, out_shape) in enumerate(zip(model.layers, model.output_shapes())):
        weight = layer.params.get("weight")
        if weight is not None and weight.ndim >= 2:
            positions = int(np.prod(out_shape[1:])) if len(out_shape) == 3 else 1
            one_pass = 2 * weight.size * positions
            total += one_pass * (2 if index == 0 else 3)
    return total


def numnet_optimizer(case):
    return SGD(case.lr) if case.optimizer == "sgd" else Adam(case.lr)


class _EpochTimer(Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.start


def numnet_epoch(model, optimizer, case, x, y, seed):
    """One epoch of ``fit``; returns its seconds from the epoch's start (before its shuffle) to its end.

    That leaves out what a fit call does once, however many epochs it runs (checking the whole input),
    as the torch loop's tensors are made once, outside its epochs."""
    timer = _EpochTimer()
    model.fit(x, y, loss=CrossEntropy(), optimizer=optimizer, epochs=1, batch_size=case.batch_size, seed=seed, verbose=0,
              callbacks=[timer])
    return timer.seconds


def torch_model(case, model):
    """The same network in torch.nn, with numnet's initial weights copied in (and their dtype)."""
    import torch

    dtype = getattr(torch, model.dtype.name)
    modules = []
    for layer in model.layers:
        name = type(layer).__name__
        if name == "Dense":
            module = torch.nn.Linear(layer.in_features, layer.out_features, dtype=dtype)
        elif name == "Conv2D":
            module = torch.nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, layer.padding,
                                     dtype=dtype)
        elif name in ("ReLU", "Tanh"):
            module = getattr(torch.nn, name)()
        elif name == "MaxPool2D":
            module = torch.nn.MaxPool2d(layer.kernel_size, layer.stride)
        elif name == "Flatten":
            module = torch.nn.Flatten()
        else:
            raise ValueError(f"no torch equivalent for {layer!r}")
        if layer.params:
            with torch.no_grad():
                module.weight.copy_(torch.from_numpy(layer.weight))
                module.bias.copy_(torch.from_numpy(layer.bias))
        modules.append(module)
    return torch.nn.Sequential(*modules)


def torch_optimizer(case, module):
    import torch

    if case.optimizer == "sgd":
        return torch.optim.SGD(module.parameters(), lr=case.lr)
    return torch.optim.Adam(module.parameters(), lr=case.lr)


def torch_epoch(module, optimizer, case, x, y, seed):
    """One epoch in the idiomatic PyTorch loop, over numnet's batch order for this seed."""
    import torch

    loss_function = torch.nn.CrossEntropyLoss()
    order = torch.from_numpy(np.random.default_rng(seed).permutation(len(x)))
    for start in range(0, len(x), case.batch_size):
        index = order[start : start + case.batch_size]
        optimizer.zero_grad()
        loss = loss_function(module(x[index]), y[index])
        loss.backward()
        optimizer.step()


def sklearn_model(case, seed=0):
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=case.hidden, activation="relu", solver=case.optimizer, alpha=0.0,
        batch_size=case.batch_size, learning_rate_init=case.lr, momentum=0.0, nesterovs_momentum=False,
        shuffle=True, random_state=seed,
    )


def sklearn_epoch(model, x, y):
    """partial_fit makes exactly one pass over the data in mini-batches."""
    model.partial_fit(x, y, classes=np.arange(10))
