"""Every code block of docs/guide runs, and the outputs the pages show are what the code prints.

A page's ```python blocks run in order in one namespace; a ```console block runs its `$ numnet ...`
lines through numnet.cli.main. A ```text block right after a code block is that block's output and must
match it exactly, unless its title says the numbers "vary": then words must match and numbers agree
to within 2 % (training on another machine's BLAS rounds differently).

Run `python tests/test_guide.py` to rewrite the output blocks from what the code prints now.
"""

import contextlib
import io
import re
import shlex
import sys
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "guide"
PAGES = sorted(GUIDE.glob("*.md"))
FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```[ \t]*$", re.S | re.M)
NUMBER = re.compile(r"[−-]?\d+(?:\.\d+)?(?:e[−-]?\d+)?")
RELATIVE_TOLERANCE = 0.02


def blocks(text):
    """(language, info, body, start, end) of every fenced block, in order."""
    return [(m.group(1), m.group(2), m.group(3), m.start(), m.end()) for m in FENCE.finditer(text)]


def paired(text):
    """Each code block with the output block that follows it (or None)."""
    found = blocks(text)
    pairs = []
    for n, (language, info, body, start, end) in enumerate(found):
        if language not in ("python", "console"):
            continue
        following = found[n + 1] if n + 1 < len(found) else None
        if following and following[0] == "text" and not text[end:following[3]].strip():
            pairs.append(((language, body), following))
        else:
            pairs.append(((language, body), None))
    return pairs


def run_console(body):
    """Run the `$ numnet ...` lines; return (commands' output, the block's own output lines)."""
    from numnet.cli import main

    printed, shown = [], []
    for line in body.splitlines():
        if line.startswith("$ "):
            argv = shlex.split(line[2:])
            assert argv[0] == "numnet", f"guide console blocks run numnet commands only: {line}"
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                assert main(argv[1:]) == 0, line
            printed.append(out.getvalue())
        else:
            shown.append(line)
    return "".join(printed), "\n".join(shown)


def run_page(path):
    """Yield (code, expected output block or None, actual output) for each code block of a page."""
    namespace = {"__name__": f"guide_{path.stem}"}
    text = path.read_text()
    for (language, body), output in paired(text):
        if language == "python":
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(body, f"{path.name}", "exec"), namespace)
            yield body, output, out.getvalue()
        else:
            printed, shown = run_console(body)
            yield body, ("text", "", shown, None, None) if shown.strip() else output, printed


def normalise(text):
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def same_within(expected, actual, tolerance):
    """Words equal, numbers within a relative tolerance (and 0.002 absolute, for numbers near 0)."""
    if NUMBER.sub("#", expected) != NUMBER.sub("#", actual):
        return False
    for a, b in zip(NUMBER.findall(expected), NUMBER.findall(actual)):
        x, y = (float(v.replace("−", "-")) for v in (a, b))
        if abs(x - y) > tolerance * max(abs(x), abs(y)) + 0.002:
            return False
    return True


@pytest.mark.parametrize("page", PAGES, ids=[page.stem for page in PAGES])
def test_guide_page(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # pages that write files write them here
    checked = 0
    for code, output, actual in run_page(page):
        if output is None:
            continue
        _, info, expected, _, _ = output
        if "vary" in info:
            assert same_within(normalise(expected), normalise(actual), RELATIVE_TOLERANCE), (code, actual)
        else:
            assert normalise(actual) == normalise(expected), f"{page.name}: the output of\n{code}\nis now\n{actual}"
        checked += 1
    if paired(page.read_text()):
        assert checked, f"{page.name} shows no output to check"


def test_every_page_is_in_the_site_navigation():
    config = (GUIDE.parent.parent / "mkdocs.yml").read_text()
    for page in PAGES:
        assert f"guide/{page.name}" in config, page.name


def test_the_docs_site_builds_strictly(tmp_path):
    """mkdocs.yml, the guide and the API reference from the docstrings: no warning, no broken link."""
    pytest.importorskip("mkdocstrings_handlers.python", reason="the docs extra: pip install -e '.[docs]'")
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    build(load_config(str(GUIDE.parent.parent / "mkdocs.yml"), site_dir=str(tmp_path / "site"), strict=True))
    assert (tmp_path / "site" / "guide" / "04-chain-rule" / "index.html").exists()
    assert "Explanation" in (tmp_path / "site" / "reference" / "explain" / "index.html").read_text()


def update(paths):
    """Rewrite each page's output blocks with what its code prints now."""
    import tempfile

    for path in paths:
        text = path.read_text()
        with tempfile.TemporaryDirectory() as folder, contextlib.chdir(folder):
            results = list(run_page(path))
        pieces, position = [], 0
        for (code, output, actual) in results:
            if output is None or output[3] is None:
                continue
            _, info, _, start, end = output
            pieces.append(text[position:start])
            pieces.append(f"```text{info}\n{normalise(actual)}\n```")
            position = end
        pieces.append(text[position:])
        path.write_text("".join(pieces))
        print(f"updated {path}")


if __name__ == "__main__":
    sys.path.insert(0, str(GUIDE.parent.parent))  # this checkout's numnet, not an installed one
    update([Path(p).resolve() for p in sys.argv[1:]] or PAGES)
