import json
import time

import numpy as np
import pytest

from numnet.layers import Dense, ReLU
from numnet.serialization import load_model
from numnet.serve import playground
from numnet.serve.playground import PlaygroundConfig, Session, SessionError, SessionLimit, SessionStore, build_network


def snapshot(session):
    return json.loads(session.snapshot_json)


def test_config_defaults_and_checks():
    config = PlaygroundConfig.from_json({"dataset": "xor", "hidden": [3]})
    assert config == PlaygroundConfig(dataset="xor", hidden=(3,))
    assert PlaygroundConfig.from_json({}).to_json()["hidden"] == [4, 2]
    bad = [
        ({"dataset": "moons"}, "dataset must be one of 'circles', 'xor', 'spirals', 'blobs'. Received: dataset='moons'"),
        ({"points": 5000}, r"points must be an integer in the range \[10, 2000\]. Received: points=5000"),
        ({"hidden": [4] * 7}, "hidden must be a list of at most 6 layer sizes"),
        ({"hidden": [9]}, r"hidden units must be an integer in the range \[1, 8\]"),
        ({"hidden": "4,2"}, "hidden must be a list"),
        ({"lr": 0}, r"lr must be a number in the range \(0, 10\]"),
        ({"lr": "fast"}, "lr must be a number"),
        ({"batch_size": 251}, r"batch_size must be an integer in the range \[1, 250\]"),
        ({"noise": 1}, r"noise must be a number in the range \[0, 0.5\]"),
        ({"activation": "swish"}, "activation must be one of"),
        ({"momentum": 0.9}, "unknown playground setting 'momentum'; expected some of dataset, noise"),
        ([1, 2], "playground settings must be a JSON object"),
    ]
    for data, message in bad:
        with pytest.raises(ValueError, match=message):
            PlaygroundConfig.from_json(data)


def test_the_network_follows_the_settings():
    model = build_network(PlaygroundConfig(hidden=(5, 3), activation="relu", seed=4))
    assert [type(layer) for layer in model.layers] == [Dense, ReLU, Dense, ReLU, Dense]
    assert [layer.weight.shape for layer in model.layers[::2]] == [(5, 2), (3, 5), (2, 3)]
    assert [layer.init for layer in model.layers[::2]] == ["he_normal", "he_normal", "glorot_uniform"]
    again = build_network(PlaygroundConfig(hidden=(5, 3), activation="relu", seed=4))
    np.testing.assert_array_equal(model.layers[0].weight, again.layers[0].weight)
    assert [type(layer) for layer in build_network(PlaygroundConfig(hidden=())).layers] == [Dense]


def test_steps_lower_the_loss_and_snapshots_show_the_plane():
    session = Session(PlaygroundConfig(dataset="blobs", hidden=(3,), points=200))
    first = snapshot(session)
    assert first["step"] == 0 and first["state"] == "paused" and first["version"] == 1
    assert np.asarray(first["boundary"]).shape == (40, 40)
    assert len(first["units"]) == 1 and np.asarray(first["units"][0]["maps"]).shape == (3, 20, 20)
    after = json.loads(session.step(50))
    assert after["step"] == 50 and after["epoch"] == 5  # 100 training points, batches of 10
    assert after["train_loss"] < first["train_loss"] and after["test_accuracy"] > 0.9
    assert after["history"]["step"] == [0, 50]
    assert len(after["history"]["train_loss"]) == 2
    boundary = np.asarray(after["boundary"])
    assert boundary[-1, 0] < 0.5 < boundary[0, -1]  # bottom left is class 0's blob, top right class 1's
    described = session.describe()
    assert len(described["data"]["train"]["x"]) == 100 and set(described["data"]["test"]["y"]) == {0, 1}


def test_step_bounds():
    session = Session(PlaygroundConfig(points=50))
    with pytest.raises(ValueError, match=r"batches must be an integer in the range \[1, 1000\]"):
        session.step(0)
    with pytest.raises(ValueError, match="batches must be an integer"):
        session.step(1001)


def test_play_trains_in_the_background_until_paused():
    session = Session(PlaygroundConfig(dataset="xor", points=100))
    session.play()
    assert snapshot(session)["state"] == "playing"
    deadline = time.monotonic() + 10
    while snapshot(session)["step"] == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    session.pause()
    paused = snapshot(session)
    assert paused["state"] == "paused" and paused["step"] > 0
    time.sleep(0.1)
    assert snapshot(session)["step"] == paused["step"]
    session.close()


def test_play_stops_by_itself_after_max_epochs(monkeypatch):
    monkeypatch.setattr(playground, "MAX_EPOCHS", 3)
    session = Session(PlaygroundConfig(points=40, batch_size=20))  # one epoch is one step
    session.play()
    session._thread.join(10)
    final = snapshot(session)
    assert final["state"] == "paused" and final["epoch"] == 3 and "paused after 3 epochs" in final["message"]
    with pytest.raises(SessionError, match="this session has trained 3 epochs, the most a session may"):
        session.play()


def test_divergence_is_reported_not_raised():
    # with L2 λ = 1 and lr = 10, SGD multiplies the weights by 1 − lr·λ = −9 each step
    session = Session(PlaygroundConfig(lr=10, l2=1, optimizer="sgd", hidden=()))
    state = json.loads(session.step(1000))
    assert state["state"] == "diverged" and "training diverged; lower the learning rate (now 10)" in state["message"]
    assert state["train_loss"] is None and state["boundary"] is None
    with pytest.raises(SessionError, match="diverged"):
        session.play()


def test_model_file_loads_back_with_the_settings(tmp_path):
    session = Session(PlaygroundConfig(dataset="circles", hidden=(2,)))
    session.step(5)
    (tmp_path / "m.safetensors").write_bytes(session.model_file())
    model = load_model(tmp_path / "m.safetensors")
    assert model.metadata["playground"]["dataset"] == "circles" and model.metadata["steps"] == 5
    np.testing.assert_array_equal(model.layers[0].weight, session.model.layers[0].weight)
    np.testing.assert_allclose(model.predict(session.x_test), session.model.predict(session.x_test))


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_idle_sessions_are_freed_but_watched_ones_stay():
    clock = Clock()
    store = SessionStore(max_sessions=3, idle_timeout=60, clock=clock)
    idle, watched, used = (store.create(PlaygroundConfig(points=20)) for _ in range(3))
    watched.watchers = 1
    idle.play()
    clock.now = 50
    store.get(used.id)
    clock.now = 70
    assert store.sweep() == [idle.id]
    assert idle.closed and snapshot(idle)["state"] == "paused"  # its training thread has stopped
    with pytest.raises(KeyError):
        store.get(idle.id)
    assert store.get(watched.id) is watched and store.get(used.id) is used
    clock.now = 200
    watched.watchers = 0
    assert sorted(store.sweep()) == sorted([watched.id, used.id]) and len(store) == 0


def test_the_number_of_sessions_is_bounded():
    store = SessionStore(max_sessions=2, idle_timeout=60, clock=Clock())
    first = store.create(PlaygroundConfig(points=20))
    store.create(PlaygroundConfig(points=20))
    with pytest.raises(SessionLimit, match="2 playground sessions are open, the most allowed"):
        store.create(PlaygroundConfig(points=20))
    store.remove(first.id)
    store.create(PlaygroundConfig(points=20))
    store.close_all()
    assert len(store) == 0
    with pytest.raises(ValueError, match="idle_timeout must be a number"):
        SessionStore(idle_timeout=0)
