"""The texts' first numbers: one sigmoid neuron, a 2-2-1 network, and the mean squared error.

Run: python examples/neuron.py
"""

import numpy as np

from numnet import Sequential
from numnet.layers import Dense, Sigmoid
from numnet.losses import MSE


def neuron_output():
    """One neuron, w = [0, 1], b = 4, x = [2, 3]: σ(0·2 + 1·3 + 4) = σ(7)."""
    neuron = Dense(2, 1, dtype=np.float64)
    neuron.weight[...] = [[0, 1]]
    neuron.bias[...] = 4
    return Sigmoid().forward(neuron.forward(np.array([[2.0, 3.0]])))[0, 0]


def network_output():
    """2-2-1 sigmoid network, every neuron w = [0, 1], b = 0, x = [2, 3]:
    h1 = h2 = σ(3) = 0.9526,  o = σ(0·h1 + 1·h2) = σ(0.9526)."""
    model = Sequential([Dense(2, 2, dtype=np.float64), Sigmoid(), Dense(2, 1, dtype=np.float64), Sigmoid()])
    for dense in (model.layers[0], model.layers[2]):
        dense.weight[...] = [0, 1]
        dense.bias[...] = 0
    return model.forward(np.array([[2.0, 3.0]]))[0, 0]


def mse_example():
    """((1−0)² + 0 + 0 + (1−0)²) / 4."""
    return MSE()(np.array([1, 0, 0, 1]), np.array([0.0, 0, 0, 0]))


if __name__ == "__main__":
    print(f"one neuron:       {neuron_output():.16f}")
    print(f"2-2-1 network:    {network_output():.16f}")
    print(f"MSE:              {mse_example()}")
