"""The app served for real: uvicorn on a free port, the event stream, and the `numnet serve` command."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from numnet.cli import main
from numnet.serve.app import create_app
from numnet.serve.server import BackgroundServer

ROOT = Path(__file__).resolve().parents[2]


def events(lines, count):
    """The next ``count`` server-sent events from an iterator over a response's lines, as (event, data) pairs."""
    found, event = [], None
    for line in lines:
        if line.startswith("event: "):
            event = line[len("event: "):]
        elif line.startswith("data: "):
            found.append((event, json.loads(line[len("data: "):])))
            if len(found) == count:
                return found
    return found


def test_the_stream_follows_the_session_and_ends_when_it_is_freed(runs_dir):
    with BackgroundServer(create_app(runs_dir=runs_dir)) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        assert server.url.startswith("http://127.0.0.1:")
        session = client.post("api/playground", json={"points": 40}).json()["id"]
        with client.stream("GET", f"api/playground/{session}/stream") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines()
            (kind, first), = events(lines, 1)
            assert kind == "snapshot" and first["step"] == 0
            client.post(f"api/playground/{session}/step", json={"batches": 2})
            (kind, second), = events(lines, 1)
            assert kind == "snapshot" and second["step"] == 2 and second["version"] > first["version"]
            client.delete(f"api/playground/{session}")
            assert events(lines, 1) == [("closed", {})]


def serve_command(*arguments):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "numnet", "serve", *arguments], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def test_numnet_serve_prints_its_url_and_answers(model_path, tmp_path):
    process = serve_command(str(model_path), "--runs", str(tmp_path), "--port", "0")
    try:
        line = process.stdout.readline()
        assert line.startswith("numnet serve: http://127.0.0.1:") and "(Ctrl-C stops)" in line
        url = line.split()[2]
        assert httpx.get(url + "api/model", timeout=30).json()["model"]["source"] == str(model_path)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
    assert process.returncode == 0
    assert "warning" not in process.stderr.read()


def test_another_host_is_served_with_a_warning(tmp_path):
    process = serve_command("--runs", str(tmp_path), "--port", "0", "--host", "0.0.0.0")
    try:
        assert process.stdout.readline().startswith("numnet serve: http://0.0.0.0:")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
    assert "numnet serve: warning: listening on 0.0.0.0, not only on this machine" in process.stderr.read()


def test_command_errors(tmp_path, capsys, monkeypatch):
    assert main(["serve", str(tmp_path / "missing.safetensors"), "--runs", str(tmp_path)]) == 1
    assert "numnet serve: error: " in capsys.readouterr().err
    with BackgroundServer(create_app(runs_dir=tmp_path)) as server:
        taken = server.url.rsplit(":", 1)[1].strip("/")
        assert main(["serve", "--runs", str(tmp_path), "--port", taken]) == 1
        assert f"cannot listen on 127.0.0.1:{taken}" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", "--port", "70000"])
    assert "expected a port number in [0, 65535], got '70000'" in capsys.readouterr().err


def test_without_the_extra_the_command_says_what_to_install(monkeypatch, capsys):
    import numnet.serve

    monkeypatch.setattr(numnet.serve, "missing_requirements", lambda: ["starlette", "uvicorn"])
    assert main(["serve"]) == 1
    assert capsys.readouterr().err == (
        "numnet serve: error: the web app needs starlette, uvicorn; install with: pip install starlette==1.10.0 uvicorn==0.54.0\n"
    )
