"""XOR with a 2-3-1 tanh network, trained the way the texts write it: a plain loop over a list of layers.

Run: python examples/xor.py
"""

import numpy as np

from numnet.datasets import xor
from numnet.layers import Dense, Tanh
from numnet.losses import MSE
from numnet.optimizers import SGD


def train_xor(epochs=1000, lr=0.1, seed=0):
    x, y = xor()
    rng = np.random.default_rng(seed)
    network = [Dense(2, 3, rng=rng), Tanh(), Dense(3, 1, rng=rng), Tanh()]
    loss, optimizer = MSE(), SGD(lr)
    for epoch in range(epochs):
        error = 0.0
        for sample, target in zip(x, y):
            output = sample[None]  # a batch of one
            for layer in network:
                output = layer.forward(output)
            error += loss(target[None], output)
            grad = loss.gradient(target[None], output)
            for layer in reversed(network):
                grad = layer.backward(grad)
            optimizer.step(network)
        if (epoch + 1) % 100 == 0:
            print(f"epoch {epoch + 1:4d}  error {error / len(x):.6f}")
    return network


def predict(network, x):
    for layer in network:
        x = layer.forward(x)
    return x


if __name__ == "__main__":
    network = train_xor()
    x, y = xor()
    for sample, output in zip(x, predict(network, x)):
        print(f"{sample} -> {output[0]: .3f}")
