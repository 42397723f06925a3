"""Training itself, not just each layer, is the same maths as PyTorch: same start, same batches, same weights."""

import numpy as np
import pytest

import numnet
from benchmarks.cases import torch_model
from numnet.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Tanh
from numnet.losses import CrossEntropy
from numnet.optimizers import SGD, Adam


@pytest.mark.parametrize("kind", ["mlp-sgd", "mlp-adam", "cnn-adam"])
def test_a_training_run_matches_torch(kind):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    if kind.startswith("cnn"):
        x = rng.random((48, 1, 10, 10))
        layers = [Conv2D(1, 4, 3, padding=1, rng=1, dtype=np.float64), ReLU(), MaxPool2D(2), Flatten(),
                  Dense(100, 5, rng=2, dtype=np.float64)]
    else:
        x = rng.normal(size=(48, 12))
        layers = [Dense(12, 16, rng=1, dtype=np.float64), Tanh(), Dense(16, 16, rng=2, dtype=np.float64), ReLU(),
                  Dense(16, 5, rng=3, dtype=np.float64)]
    y = rng.integers(0, 5, 48)
    model = numnet.Sequential(layers)
    module = torch_model(None, model)
    optimizer, torch_optimizer = (
        (SGD(0.1), torch.optim.SGD(module.parameters(), lr=0.1)) if kind.endswith("sgd")
        else (Adam(0.01), torch.optim.Adam(module.parameters(), lr=0.01))
    )
    loss = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for epoch in range(3):
        model.fit(x, y, loss=CrossEntropy(), optimizer=optimizer, epochs=1, batch_size=8, seed=epoch, verbose=0)
        order = torch.from_numpy(np.random.default_rng(epoch).permutation(48))  # fit's order for that seed
        for start in range(0, 48, 8):
            index = order[start : start + 8]
            torch_optimizer.zero_grad()
            loss(module(xt[index]), yt[index]).backward()
            torch_optimizer.step()
    ours = [p for layer in model.layers for p in layer.params.values()]
    theirs = [p.detach().numpy() for p in module.parameters()]
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
