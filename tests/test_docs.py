"""The documents cannot rot: README.md and docs/*.md are run and checked against the code.

- Every ```python block runs, in a temporary folder with one BLAS thread; the blocks of one document run in
  order and share their names. A block preceded by the HTML comment ``<!-- not run -->`` is skipped: that
  mark is for blocks that need a network connection or a long run.
- A block whose first line names a source file (``# numnet/layers/dense.py``) is a quotation, not a program:
  each of its other non-empty lines must be a line of that file, either whole or as its code without the
  trailing comment (both compared without indentation). A line ``...`` stands for lines left out.
- The README stays a page: at most 120 lines.
- Every relative link points to an existing file or folder.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import numpy  # noqa: F401  loaded before threadpool_limits, which limits only the BLAS libraries already loaded
import pytest
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
NOT_RUN = "<!-- not run -->"
QUOTE_HEADER = re.compile(r"#\s*([\w./-]+\.py)")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
README_MAX_LINES = 120


@dataclass
class Block:
    document: Path
    line: int  # 1-based line of the block's first code line in the document
    language: str
    code: str
    not_run: bool

    @property
    def source(self):
        """The source file a quotation names on its first line, or None for a program."""
        first = self.code.split("\n", 1)[0].strip()
        match = QUOTE_HEADER.fullmatch(first)
        return match.group(1) if match else None

    def __str__(self):
        return f"{self.document.relative_to(ROOT)}:{self.line}"


def fenced_blocks(document):
    """Every fenced code block of a Markdown file, with its language and position."""
    blocks, lines = [], document.read_text(encoding="utf-8").splitlines()
    index, previous = 0, ""
    while index < len(lines):
        line = lines[index]
        if line.startswith("```"):
            language, start = line[3:].strip(), index + 1
            end = start
            while end < len(lines) and not lines[end].startswith("```"):
                end += 1
            if end == len(lines):
                raise ValueError(f"{document}:{index + 1}: a code block is never closed")
            code = "\n".join(lines[start:end]) + "\n"
            blocks.append(Block(document, start + 1, language, code, previous.strip() == NOT_RUN))
            index, previous = end + 1, ""
            continue
        if line.strip():
            previous = line
        index += 1
    return blocks


def python_blocks(document):
    return [block for block in fenced_blocks(document) if block.language == "python"]


def _code_part(line):
    """A source line without its trailing comment (PEP 8 puts two spaces before an inline comment)."""
    return line.split("  # ", 1)[0]


def unquoted_lines(block, root=ROOT):
    """The lines of a quotation that its source file does not hold (empty when the quotation is true)."""
    source = root / block.source
    if not source.is_file():
        return [f"(no file {block.source})"]
    known = set()
    for line in source.read_text(encoding="utf-8").splitlines():
        known.update({line.strip(), _code_part(line).strip()})
    quoted = [line.strip() for line in block.code.splitlines()[1:]]
    return [line for line in quoted if line and line != "..." and line not in known]


def _sections(document, heading):
    """The text under a level-2 heading that starts with `heading`, up to the next level-2 heading."""
    text = document.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(heading)}.*?$(.*?)(?=^## |\Z)", text, re.M | re.S)
    return match.group(1) if match else None


#: documents whose blocks need a running server, and the test that runs them against one
RUN_ELSEWHERE = {"docs/serve.md": "tests/serve/test_docs.py"}
RUNNABLE = {
    str(document.relative_to(ROOT)): [b for b in python_blocks(document) if b.source is None and not b.not_run]
    for document in DOCUMENTS
    if str(document.relative_to(ROOT)) not in RUN_ELSEWHERE
}
QUOTATIONS = [b for document in DOCUMENTS for b in python_blocks(document) if b.source is not None]


@pytest.mark.parametrize("name", [name for name, blocks in RUNNABLE.items() if blocks])
def test_python_blocks_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__main__"}
    with threadpool_limits(1):  # the examples' small products gain nothing from a second thread on a shared machine
        for block in RUNNABLE[name]:
            # blank lines in front, so that a traceback gives the line number in the document
            code = compile("\n" * (block.line - 1) + block.code, str(block.document), "exec")
            exec(code, namespace)


@pytest.mark.parametrize("block", QUOTATIONS, ids=str)
def test_quotations_match_their_sources(block):
    missing = unquoted_lines(block)
    assert not missing, f"{block} quotes {block.source}, which no longer holds these lines: {missing}"


def test_readme_math_section_is_quoted_from_the_code():
    section = _sections(README, "The math")
    assert section is not None, "README.md has no '## The math' section"
    in_section = [b for b in python_blocks(README) if b.code in section]
    assert in_section, "the math section shows no code"
    assert all(b.source is not None for b in in_section), "every block of the math section must name its source file"
    assert {"numnet/layers/dense.py", "numnet/losses.py"} <= {b.source for b in in_section}


def test_quotation_check_finds_a_line_the_source_does_not_hold(tmp_path):
    (tmp_path / "layer.py").write_text("def backward(self, dY):\n    dX = dY.dot(W)  # dX = dY W\n    return dX\n")
    true = Block(tmp_path / "doc.md", 1, "python", "# layer.py\ndef backward(self, dY):\n    ...\n    dX = dY.dot(W)\n", False)
    changed = Block(tmp_path / "doc.md", 1, "python", "# layer.py\n    dX = dY @ W\n    return dX\n", False)
    assert unquoted_lines(true, tmp_path) == []
    assert unquoted_lines(changed, tmp_path) == ["dX = dY @ W"]
    assert unquoted_lines(Block(tmp_path / "doc.md", 1, "python", "# gone.py\nx\n", False), tmp_path) == ["(no file gone.py)"]


def test_readme_is_a_page():
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move reference material to docs/"


def test_readme_quick_start_holds_the_ci_test_command():
    ci_command = next(line for line in (ROOT / ".ci" / "run").read_text().splitlines() if "python -m pytest" in line)
    quick_start = _sections(README, "Quick start")
    assert quick_start is not None and ci_command in quick_start


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: str(d.relative_to(ROOT)))
def test_relative_links_point_to_existing_files(document):
    text = document.read_text(encoding="utf-8")
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)  # links are not looked for inside code blocks
    targets = [target for target in LINK.findall(text) if not re.match(r"[a-z][a-z0-9+.-]*:", target)]
    broken = [t for t in targets if t.split("#")[0] and not (document.parent / t.split("#")[0]).exists()]
    assert not broken, f"{document.relative_to(ROOT)} links to missing files: {broken}"
