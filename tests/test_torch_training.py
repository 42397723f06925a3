"""Training itself, not just each layer, is the same maths as PyTorch: same start, same batches, same weights."""

import numpy as np
import pytest

import numnet
from numnet.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Tanh
from numnet.losses import CrossEntropy
from numnet.optimizers import SGD, Adam


def copy_weights(torch, model, module):
    """Copy the numnet model's initial weights into the torch twin, layer by layer."""
    weighted = [layer for layer in model.layers if layer.params]
    twins = [m for m in module if list(m.parameters())]
    assert len(weighted) == len(twins)
    with torch.no_grad():
        for layer, twin in zip(weighted, twins):
            twin.weight.copy_(torch.from_numpy(layer.params["weight"]))
            twin.bias.copy_(torch.from_numpy(layer.params["bias"]))


@pytest.mark.parametrize("kind", ["mlp-sgd", "mlp-adam", "cnn-adam"])
def test_a_training_run_matches_torch(kind):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    if kind.startswith("cnn"):
        x = rng.random((48, 1, 10, 10))
        layers = [Conv2D(1, 4, 3, padding=1, rng=1, dtype=np.float64), ReLU(), MaxPool2D(2), Flatten(),
                  Dense(100, 5, rng=2, dtype=np.float64)]
        module = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                     torch.nn.Flatten(), torch.nn.Linear(100, 5))
    else:
        x = rng.normal(size=(48, 12))
        layers = [Dense(12, 16, rng=1, dtype=np.float64), Tanh(), Dense(16, 16, rng=2, dtype=np.float64), ReLU(),
                  Dense(16, 5, rng=3, dtype=np.float64)]
        module = torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16), torch.nn.ReLU(),
                                     torch.nn.Linear(16, 5))
    y = rng.integers(0, 5, 48)
    model = numnet.Sequential(layers)
    module = module.double()
    copy_weights(torch, model, module)
    initial = model.get_weights()
    optimizer, torch_optimizer = (
        (SGD(0.1), torch.optim.SGD(module.parameters(), lr=0.1)) if kind.endswith("sgd")
        else (Adam(0.01), torch.optim.Adam(module.parameters(), lr=0.01))
    )
    loss = torch.nn.CrossEntropyLoss()
    for epoch in range(3):
        # the test shuffles, so both frameworks see the same batches whatever order fit would pick
        order = rng.permutation(48)
        model.fit(x[order], y[order], loss=CrossEntropy(), optimizer=optimizer, epochs=1, batch_size=8, shuffle=False,
                  verbose=0)
        xt, yt = torch.from_numpy(x[order]), torch.from_numpy(y[order])
        for start in range(0, 48, 8):
            torch_optimizer.zero_grad()
            loss(module(xt[start : start + 8]), yt[start : start + 8]).backward()
            torch_optimizer.step()
    ours = [p for layer in model.layers for p in layer.params.values()]
    theirs = [p.detach().numpy() for p in module.parameters()]
    assert len(ours) == len(theirs) == (2 if kind.startswith("cnn") else 3) * 2
    moved = [np.abs(model.get_weights()[key] - value).max() for key, value in initial.items()]
    assert min(moved) > 1e-3  # every tensor trained: agreeing at the start alone would not do
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
