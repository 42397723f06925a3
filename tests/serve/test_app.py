"""The JSON API through Starlette's TestClient: answers, and bad requests answered 4xx with JSON."""

import io
import time
import warnings

import numpy as np
import pytest
from PIL import Image

from numnet.datasets import load_digits_sample
from numnet.runs import TrainConfig, predict_images
from numnet import load as load_model
from numnet.serve.app import create_app

with warnings.catch_warnings():  # Starlette asks for httpx2 in place of httpx for its TestClient
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient


def png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def client(runs_dir):
    with TestClient(create_app(runs_dir=runs_dir), raise_server_exceptions=False) as client:
        yield client


def assert_json_error(response, status, message):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["status"] == status
    assert message in response.json()["error"], response.json()["error"]
    assert "Traceback" not in response.text


def test_pages_and_static_files(client):
    for path, marker in [("/", 'data-testid="pad"'), ("/playground", 'data-testid="boundary"'), ("/runs", 'id="run-list"')]:
        response = client.get(path)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html") and marker in response.text
    assert client.get("/static/inside.js").status_code == 200
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and missing.text.startswith("404: no such resource") and "Traceback" not in missing.text


def test_model_description(client, runs_dir):
    info = client.get("/api/model").json()
    assert info["state"] == "ready" and info["model"]["source"] == "small" and info["model"]["run"] == "small"
    assert [layer["kind"] for layer in info["model"]["layers"]] == ["Flatten", "Dense", "ReLU", "Dropout", "Dense"]
    assert client.get("/api/model?run=small").json()["model"]["source"] == "small"
    assert_json_error(client.get("/api/model?run=nope"), 404, "no run 'nope' with a model file")
    assert_json_error(client.get("/api/model?run=..%2F.."), 404, "no run '../..'")


def test_predict_an_image_like_numnet_predict(client, model_path, tmp_path):
    _, (x_test, _) = load_digits_sample()
    (tmp_path / "digit.png").write_bytes(png(x_test[3]))
    expected = predict_images(load_model(model_path), [tmp_path / "digit.png"])[0]
    response = client.post("/api/predict", content=png(x_test[3]), headers={"Content-Type": "image/png"})
    assert response.status_code == 200
    result = response.json()
    assert result["prediction"] == expected["prediction"] and result["top"] == expected["top"]
    assert len(result["layers"]) == 5 and np.asarray(result["input"]).shape == (28, 28)
    plain = client.post("/api/predict?trace=false", content=png(x_test[3]), headers={"Content-Type": "image/png"}).json()
    assert "layers" not in plain and plain["prediction"] == result["prediction"]


def test_predict_pixels(client):
    _, (x_test, _) = load_digits_sample()
    pixels = (x_test[3] / 255).round(4).tolist()
    result = client.post("/api/predict?trace=0", json={"pixels": pixels}).json()
    from_png = client.post("/api/predict?trace=0", content=png(x_test[3]), headers={"Content-Type": "image/png"}).json()
    assert result["prediction"] == from_png["prediction"]
    np.testing.assert_allclose(result["probabilities"], from_png["probabilities"], atol=1e-3)


@pytest.mark.parametrize("body, content_type, status, message", [
    (b"{not json", "application/json", 400, "the request body is not valid JSON"),
    (b"[1, 2]", "application/json", 400, "the request body must be a JSON object"),
    (b'{"pixels": [[0, 1], [0]]}', "application/json", 400, "pixels must be a 2-D array"),
    (b'{"pixels": [[0, 2], [0, 1]]}', "application/json", 400, "pixels must be grayscale values in [0, 1]"),
    (b'{"pixels": [["a", "b"]]}', "application/json", 400, "pixels must be a 2-D array of numbers"),
    (b'{"pixels": [[0, 0], [0, 0]], "x": 1}', "application/json", 400, 'expected a JSON object {"pixels"'),
    (b'{"pixels": [[0, 0, 0], [0, 0, 0]]}', "application/json", 400, "pixels: no digit found"),
    (b"GIF89a not an image", "image/gif", 400, "the uploaded image: cannot read the image"),
    (b"", "image/png", 400, "the request body is empty"),
    (b"hello", "text/plain", 415, "send an image (Content-Type image/png"),
])
def test_bad_predict_requests(client, body, content_type, status, message):
    assert_json_error(client.post("/api/predict", content=body, headers={"Content-Type": content_type}), status, message)


def test_bad_query_routes_and_methods(client):
    assert_json_error(client.post("/api/predict?trace=maybe", json={"pixels": [[0]]}), 400, "query parameter trace must be true or false")
    assert_json_error(client.get("/api/predict"), 405, "GET is not allowed on /api/predict")
    assert_json_error(client.delete("/api/runs"), 405, "DELETE is not allowed on /api/runs")
    assert_json_error(client.get("/api/nothing/here"), 404, "no such resource: /api/nothing/here")
    assert_json_error(client.get("/api/model/layers/x/units/1"), 404, "no such resource")


def test_unit_weights(client):
    weights = client.get("/api/model/layers/1/units/3").json()
    assert weights["picture"] == "image" and weights["shape"] == [28, 28]
    assert_json_error(client.get("/api/model/layers/1/units/64"), 404, "no unit 64 in layer 1")
    assert_json_error(client.get("/api/model/layers/0/units/0"), 404, "has no weights of its own per unit")


def test_request_bodies_are_limited(runs_dir):
    with TestClient(create_app(runs_dir=runs_dir, max_body_bytes=1000)) as client:
        assert_json_error(client.post("/api/predict", content=b"x" * 1001, headers={"Content-Type": "image/png"}), 413,
                          "the request body is larger than the limit of 1000 bytes")

        def chunks():  # no Content-Length: the limit counts what arrives
            for _ in range(5):
                yield b"y" * 300

        assert_json_error(client.post("/api/playground", content=chunks()), 413, "larger than the limit")
        assert client.post("/api/playground", json={"points": 20}).status_code == 201


def test_an_unexpected_error_is_a_json_500(runs_dir, monkeypatch):
    from numnet.serve.lookinside import DigitModel

    def broken(self, *args):
        raise RuntimeError("boom")

    monkeypatch.setattr(DigitModel, "describe", broken)
    with TestClient(create_app(runs_dir=runs_dir), raise_server_exceptions=False) as client:
        assert_json_error(client.get("/api/model"), 500, "internal error (RuntimeError); the server log has the details")


def test_runs_listing_details_and_files(client):
    listing = client.get("/api/runs").json()
    assert [run["name"] for run in listing["runs"]] == ["small"]
    details = client.get("/api/runs/small").json()
    assert details["history"]["epoch"] == [1, 2, 3] and details["config"]["config"]["hidden"] == [64]
    assert {"curves.png", "confusion_matrix.png", "model.safetensors"} <= {f["name"] for f in details["files"]}
    picture = client.get("/api/runs/small/files/curves.png")
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/png" and picture.content.startswith(b"\x89PNG")
    model = client.get("/api/runs/small/files/model.safetensors")
    assert model.headers["content-disposition"].startswith("attachment")
    assert_json_error(client.get("/api/runs/nope"), 404, "no run 'nope'")


@pytest.mark.parametrize("path", [
    "/api/runs/small/files/..%2F..%2Fsecret.json",
    "/api/runs/small/files/%2Fetc%2Fpasswd",
    "/api/runs/%2E%2E/files/secret.json",
    "/api/runs/small/files/%2E%2E",
    "/api/runs/..%2F/files/secret.json",
    "/api/runs/small/files/history.py",
])
def test_runs_files_cannot_leave_the_runs_folder(client, runs_dir, path):
    (runs_dir.parent / "secret.json").write_text('{"secret": 1}')
    response = client.get(path)
    assert response.status_code == 404 and response.headers["content-type"] == "application/json"
    assert "secret" not in response.text.replace("secret.json", "")


def test_a_symlink_out_of_the_runs_folder_is_not_served(client, runs_dir, tmp_path):
    (tmp_path / "secret.json").write_text('{"secret": 1}')
    link = runs_dir / "small" / "leak.json"
    link.symlink_to(tmp_path / "secret.json")
    try:
        assert_json_error(client.get("/api/runs/small/files/leak.json"), 404, "no file 'leak.json' in run 'small'")
    finally:
        link.unlink()


def test_playground_session_round_trip(client):
    settings = client.get("/api/playground").json()
    assert settings["defaults"]["dataset"] == "circles" and settings["limits"]["units"] == [1, 8]
    created = client.post("/api/playground", json={"dataset": "xor", "points": 100, "hidden": [3]})
    assert created.status_code == 201
    session = created.json()
    assert len(session["data"]["train"]["x"]) == 50 and session["snapshot"]["step"] == 0
    base = f"/api/playground/{session['id']}"
    stepped = client.post(f"{base}/step", json={"batches": 3}).json()
    assert stepped["step"] == 3 and isinstance(stepped["train_loss"], float)
    assert client.post(f"{base}/step").json()["step"] == 4  # no body: one batch
    assert client.post(f"{base}/play").json()["state"] == "playing"
    paused = client.post(f"{base}/pause").json()
    assert paused["state"] == "paused" and paused["step"] >= 4
    assert client.get(base).json()["config"]["hidden"] == [3]
    model = client.get(f"{base}/export/model")
    assert model.status_code == 200 and model.headers["content-disposition"] == 'attachment; filename="xor_network.safetensors"'
    code = client.get(f"{base}/export/code")
    assert code.headers["content-type"].startswith("text/x-python") and "planar_dataset(" in code.text
    assert client.delete(base).json() == {"closed": session["id"]}
    assert_json_error(client.get(base), 404, f"no playground session '{session['id']}'")


def test_bad_playground_requests(client):
    assert_json_error(client.post("/api/playground", json={"hidden": [8] * 7}), 400, "hidden must be a list of at most 6")
    assert_json_error(client.post("/api/playground", json={"points": 10**6}), 400, "points must be an integer in the range [10, 2000]")
    assert_json_error(client.post("/api/playground", content=b"{"), 400, "not valid JSON")
    session = client.post("/api/playground", json={"points": 20}).json()["id"]
    assert_json_error(client.post(f"/api/playground/{session}/step", json={"batches": 5000}), 400,
                      "batches must be an integer in the range [1, 1000]")
    assert_json_error(client.post(f"/api/playground/{session}/step", json={"steps": 1}), 400, "unknown step setting 'steps'")
    assert_json_error(client.post("/api/playground/nope/play"), 404, "no playground session 'nope'")
    assert_json_error(client.get(f"/api/playground/{session}/step"), 405, "GET is not allowed")
    client.delete(f"/api/playground/{session}")


def test_sessions_are_bounded_and_idle_ones_freed(runs_dir):
    with TestClient(create_app(runs_dir=runs_dir, max_sessions=2, idle_timeout=0.3)) as client:
        first = client.post("/api/playground", json={"points": 20}).json()["id"]
        client.post("/api/playground", json={"points": 20})
        assert_json_error(client.post("/api/playground", json={"points": 20}), 503, "2 playground sessions are open")
        client.post(f"/api/playground/{first}/play")
        time.sleep(0.8)  # the sweeper looks every idle_timeout / 2
        assert_json_error(client.get(f"/api/playground/{first}"), 404, "freed after being idle")
        assert client.post("/api/playground", json={"points": 20}).status_code == 201


def test_training_the_default_model_when_there_is_none(tmp_path):
    config = TrainConfig(hidden=(8,), epochs=1)
    with TestClient(create_app(runs_dir=tmp_path / "runs", training_config=config)) as client:
        assert client.get("/api/model").json() == {"state": "none", "runs_dir": str(tmp_path / "runs"), "training": {"state": "idle"}}
        assert_json_error(client.post("/api/predict", json={"pixels": [[0, 1], [1, 0]]}), 409, "no model yet")
        started = client.post("/api/train")
        assert started.status_code == 202 and started.json()["state"] == "running" and started.json()["epochs"] == 1
        deadline = time.monotonic() + 120
        while client.get("/api/train").json()["state"] == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
        status = client.get("/api/train").json()
        assert status["state"] == "done" and status["epochs_done"] == 1 and 0 < status["test_accuracy"] <= 1
        info = client.get("/api/model").json()
        assert info["state"] == "ready" and info["model"]["source"] == status["run"]
        assert [layer["kind"] for layer in info["model"]["layers"]][:2] == ["Flatten", "Dense"]


def test_a_named_model_that_is_unusable_stops_the_app(tmp_path):
    (tmp_path / "bad.safetensors").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="bad.safetensors"):
        create_app(tmp_path / "bad.safetensors", runs_dir=tmp_path)
    with pytest.raises(ValueError, match="no such model file"):
        create_app(tmp_path / "missing.safetensors", runs_dir=tmp_path)
