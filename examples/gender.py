"""Predict gender from weight and height with a 2-2-1 sigmoid network, as the texts do by hand.

Run: python examples/gender.py
"""

import numpy as np

from numnet import Sequential
from numnet.datasets import GENDER_NAMES, gender
from numnet.layers import Dense, Sigmoid
from numnet.losses import MSE
from numnet.optimizers import SGD


def build_network():
    """2-2-1 sigmoid network with all weights 1 and all biases 0, in float64 like the hand calculation."""
    model = Sequential([Dense(2, 2, dtype=np.float64), Sigmoid(), Dense(2, 1, dtype=np.float64), Sigmoid()])
    for dense in (model.layers[0], model.layers[2]):
        dense.weight[...] = 1
        dense.bias[...] = 0
    return model


def chain_of_numbers(model, x, y):
    """Forward and backward on one sample; return h1, ŷ and ∂L/∂w1 (first input -> first hidden neuron)."""
    y_pred = model.forward(x)
    model.backward(MSE().gradient(y, y_pred))
    h1 = model.layers[1].forward(model.layers[0].forward(x))[0, 0]
    return h1, y_pred[0, 0], model.layers[0].grads["weight"][0, 0]


def train(model, x, y, *, epochs=1000, lr=0.1, report_every=10, seed=0, print_fn=print):
    """Per-sample SGD (batch_size=1), printing the loss on all the data every `report_every` epochs."""
    loss = MSE()
    optimizer = SGD(lr)
    for epoch in range(report_every, epochs + 1, report_every):
        model.fit(x, y, loss=loss, optimizer=optimizer, epochs=report_every, batch_size=1, seed=seed + epoch, verbose=0)
        print_fn(f"Epoch {epoch:4d} loss: {loss(y, model.predict(x)):.4f}")
    return model


if __name__ == "__main__":
    x, y = gender()
    model = build_network()
    h1, y_pred, dL_dw1 = chain_of_numbers(model, x[:1], y[:1])
    print(f"{GENDER_NAMES[0]} alone: h1 = {h1:.4f}, y_pred = {y_pred:.3f}, dL/dw1 = {dL_dw1:.4f}")
    train(model, x, y)
    for name, sample in [("Emily", [-7, -3]), ("Frank", [20, 2])]:
        print(f"{name}: {model.predict(np.array([sample], dtype=np.float64))[0, 0]:.3f}  (1 = female)")
