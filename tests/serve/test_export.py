import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from numnet import load as load_model
from numnet.serve.export import python_code
from numnet.serve.playground import PlaygroundConfig, Session

ROOT = Path(__file__).resolve().parents[2]


def run_script(code, folder):
    (folder / "network.py").write_text(code)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the numnet of this tree
    return subprocess.run([sys.executable, "network.py"], cwd=folder, capture_output=True, text=True, timeout=120, env=env)


def test_the_exported_script_builds_and_trains_the_same_network(tmp_path):
    config = PlaygroundConfig(dataset="xor", hidden=(4, 3), activation="relu", optimizer="sgd", lr=0.1, l2=0.001,
                              batch_size=5, points=120, noise=0.1, test_fraction=0.25, seed=7)
    session = Session(config)
    initial = [layer.weight.copy() for layer in session.model.layers[::2]]
    session.step(60)  # 90 training points in batches of 5: 3 epochs and a third
    code = python_code(session.config, session.epochs)
    assert "EPOCHS = 3" in code and "SGD(0.1, weight_decay=0.001)" in code and 'Dense(2, 4, init="he_normal", rng=rng)' in code

    done = run_script(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("after 3 epochs: train loss ") and "test accuracy" in done.stdout
    exported = load_model(tmp_path / "xor_network.safetensors")
    assert [type(a) for a in exported.layers] == [type(b) for b in session.model.layers]
    assert [a.get_config() for a in exported.layers] == [b.get_config() for b in session.model.layers]

    # the script starts from the session's initial weights: run it for no training at all to see them
    untrained = code.replace("history = model.fit(", "model.save('initial.safetensors')\nhistory = model.fit(")
    assert run_script(untrained, tmp_path).returncode == 0
    start = load_model(tmp_path / "initial.safetensors")
    for weight, layer in zip(initial, start.layers[::2]):
        np.testing.assert_array_equal(weight, layer.weight)


def test_every_optimizer_and_no_hidden_layer_export(tmp_path):
    for optimizer in ("adam", "rmsprop", "adagrad"):
        code = python_code(PlaygroundConfig(optimizer=optimizer, hidden=(), points=40), epochs=0)
        assert "EPOCHS = 1" in code
        compile(code, "network.py", "exec")
    done = run_script(python_code(PlaygroundConfig(optimizer="adagrad", hidden=(), points=40, dataset="blobs"), 2), tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "blobs_network.safetensors").is_file()
