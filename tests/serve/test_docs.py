"""The Python examples of docs/serve.md run against a served app, one after the other in one namespace."""

import re
from pathlib import Path

from PIL import Image

from numnet.datasets import load_digits_sample
from numnet.serve.app import create_app
from numnet.serve.server import BackgroundServer

DOC = Path(__file__).resolve().parents[2] / "docs" / "serve.md"


def test_the_python_examples_run(runs_dir, tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert len(blocks) == 2
    _, (x_test, _) = load_digits_sample()
    Image.fromarray(x_test[0]).save(tmp_path / "digit.png")
    monkeypatch.chdir(tmp_path)
    with BackgroundServer(create_app(runs_dir=runs_dir)) as server:
        namespace = {}
        for block in blocks:
            exec(block.replace('BASE = "http://127.0.0.1:8000/"', f'BASE = "{server.url}"'), namespace)
    printed = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"\d \[\{'class': '\d', 'probability': .*\]", printed[0])
    assert re.fullmatch(r"step 300: test accuracy \d+\.\d%", printed[1])
    assert re.fullmatch(r"\d", printed[2])
