"""AND, OR and NAND: one sigmoid neuron each, trained with fit. XOR needs a hidden layer (examples/xor.py).

Run: python examples/logic_gates.py
"""

from numnet import Sequential
from numnet.datasets import logic_gate
from numnet.layers import Dense, Sigmoid
from numnet.losses import BinaryCrossEntropy
from numnet.optimizers import SGD


def train_gate(name, epochs=500, seed=0):
    x, y = logic_gate(name)
    model = Sequential([Dense(2, 1, rng=seed), Sigmoid()])
    model.fit(x, y, loss=BinaryCrossEntropy(), optimizer=SGD(1.0), epochs=epochs, batch_size=4, seed=seed, verbose=0)
    return model


if __name__ == "__main__":
    for gate in ("and", "or", "nand"):
        model = train_gate(gate)
        x, y = logic_gate(gate)
        outputs = model.predict(x)[:, 0]
        print(gate.upper(), " ".join(f"{a:.0f}{b:.0f}->{o:.2f}" for (a, b), o in zip(x, outputs)))
