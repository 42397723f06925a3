import re
from pathlib import Path

from numnet.serve import INSTALL_COMMAND, REQUIREMENTS, missing_requirements


def test_the_pins_match_the_serve_extra():
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    extra = re.search(r"^serve = \[(.*)\]$", pyproject, re.MULTILINE).group(1)
    assert [item.strip().strip('"') for item in extra.split(",")] == list(REQUIREMENTS)
    assert INSTALL_COMMAND == "pip install starlette==1.10.0 uvicorn==0.54.0"
    assert missing_requirements() == []  # the tests run with the extra installed
