"""A playground session as a Python script that builds and trains the same network with numnet.

The script draws the same data (numnet.datasets.planar with the session's seed), builds the same
layers with the same initial weights (one generator seeded like the session's), and trains them
with ``Sequential.fit`` and the session's optimizer, learning rate, L2 and batch size for as many
epochs as the session has trained. Its batch order is fit's own, so the final weights differ from
the session's, but not what the network can learn.
"""

import json

from .playground import OPTIMIZERS, layer_specs


def _literal(value):
    """Python source for a value, strings in double quotes as the rest of numnet writes them."""
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _arguments(kwargs):
    positional = [_literal(kwargs[key]) for key in ("in_features", "out_features") if key in kwargs]
    named = [f"{key}={_literal(value)}" for key, value in kwargs.items() if key not in ("in_features", "out_features")]
    return positional + named


def python_code(config, epochs):
    """The script's text for a PlaygroundConfig, training for ``epochs`` epochs (at least 1)."""
    epochs = max(1, int(epochs))
    specs = layer_specs(config)
    layer_lines = []
    for cls, kwargs in specs:
        arguments = _arguments(kwargs) + (["rng=rng"] if "in_features" in kwargs else [])
        layer_lines.append(f"    {cls.__name__}({', '.join(arguments)}),")
    layer_names = sorted({cls.__name__ for cls, _ in specs})
    optimizer = OPTIMIZERS[config.optimizer].__name__
    sizes = "-".join(str(n) for n in (2, *config.hidden, 2))
    return f'''"""A {sizes} {config.activation} network learning "{config.dataset}" (exported from the numnet playground).

Run it with: python {config.dataset}_network.py
"""

import numpy as np

from numnet import Sequential
from numnet.datasets.planar import planar_dataset
from numnet.layers import {", ".join(layer_names)}
from numnet.losses import CrossEntropy
from numnet.optimizers import {optimizer}

EPOCHS = {epochs}

(x_train, y_train), (x_test, y_test) = planar_dataset(
    {_literal(config.dataset)}, points={config.points}, noise={config.noise!r}, test_fraction={config.test_fraction!r}, seed={config.seed}
)

rng = np.random.default_rng({config.seed})
model = Sequential([
{chr(10).join(layer_lines)}
])

history = model.fit(
    x_train, y_train,
    loss=CrossEntropy(),
    optimizer={optimizer}({config.lr!r}, weight_decay={config.l2!r}),  # weight_decay: the L2 penalty
    epochs=EPOCHS,
    batch_size={config.batch_size},
    seed={config.seed},
    validation_data=(x_test, y_test),
    verbose=0,
)

test_accuracy = np.mean(model.predict(x_test).argmax(axis=1) == y_test)
print(f"after {{EPOCHS}} epochs: train loss {{history.history['loss'][-1]:.4f}}, "
      f"test loss {{history.history['val_loss'][-1]:.4f}}, test accuracy {{test_accuracy:.1%}}")
model.save("{config.dataset}_network.safetensors")
'''
