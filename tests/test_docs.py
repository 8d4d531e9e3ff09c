"""The docs are part of the code: every Python block in README.md and docs/*.md
runs and prints what the page says it prints, and every relative link resolves,
down to the heading it names.

Blocks of one page run in order in one namespace, so a page can build an
example up step by step. A block fenced as ```python is run; other fences
(```bash, ```text, ```) are shown only. ``print(x.shape)  # (2, 4)`` must print
``(2, 4)``, a comment that starts with True/False words must match the printed
booleans, and a ```text block right under a ```python block must be its output.
"""

import ast
import io
import pathlib
import re
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
         ROOT / "experiments" / "README.md"]
PAGES = [page for page in PAGES if page.exists()]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _name(page):
    return str(page.relative_to(ROOT))


OUTPUT = re.compile(r"^```python\n((?:(?!```).)*?)^```\n\n?```text\n((?:(?!```).)*?)^```",
                    re.DOTALL | re.MULTILINE)
BOOL = re.compile(r"^(True|False)\b")
NUMBER = r"-?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?"
VALUES = re.compile(  # a comment that is an output: numbers, shapes, booleans, arrays, tensor(...)
    rf"^(?:(?:True|False|nan|{NUMBER}|\((?:\d+, )*\d*,?\)|tensor\(.*\)|[\[\]]+[^:]*)\s*)+$")


def _claimed(comment):
    """What a print's comment claims it prints: ('exact', text) when the comment starts
    with an output (up to a ': ' or ' = ' that begins an explanation), ('bools', [...])
    when it starts with True/False words, else None (prose)."""
    text = comment.lstrip("#").strip()
    head = re.split(r":\s|\s=\s|\.\.\.", text)[0].strip()
    if head and VALUES.match(head):
        return "exact", " ".join(head.split())
    words = []
    while (match := BOOL.match(text)) is not None:
        words.append(match.group(1) == "True")
        text = text[match.end():].lstrip(" ,:")
    return ("bools", words) if words else None



@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_code_blocks_run_and_print_what_they_claim(page, tmp_path, monkeypatch):
    """Run the page's blocks in order; each ``print(...)  # (2, 4) True`` writes exactly
    what its comment claims (or, for a comment that starts with True/False words and goes
    on in prose, exactly those booleans), and a ```text block right after a ```python
    block is that block's output, line for line."""
    monkeypatch.chdir(tmp_path)  # a page that writes files writes them here
    namespace = {"__name__": f"docs_{page.stem}"}
    text = page.read_text()
    shown = dict(OUTPUT.findall(text))  # python block -> the text block right after it
    for number, block in enumerate(BLOCK.findall(text), start=1):
        label = f"{_name(page)} block {number}"
        lines = block.splitlines()
        claims = {}  # (first line, last line) of a print call -> what its comment claims
        for node in ast.walk(ast.parse(block)):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "print"):
                line = lines[node.end_lineno - 1]
                claim = _claimed(line[line.index("#"):]) if "#" in line else None
                if claim is not None:
                    claims[(node.lineno, node.end_lineno)] = claim
        printed = []

        def recording_print(*args, printed=printed, **kwargs):
            buffer = io.StringIO()
            print(*args, **{**kwargs, "file": buffer})
            printed.append((sys._getframe(1).f_lineno, buffer.getvalue()))

        namespace["print"] = recording_print
        try:
            exec(compile(block, label, "exec"), namespace)
        except Exception as error:
            raise AssertionError(f"{label} failed: {error!r}") from error
        if block in shown:  # a table printed by the block, pasted below it: the same
            got = [" ".join(line.split()) for text in (t for _, t in printed)
                   for line in text.splitlines()]
            want = [" ".join(line.split()) for line in shown[block].splitlines()]
            assert got == want, f"{label} prints\n" + "\n".join(got)
        for (first, last), (kind, claimed) in claims.items():
            outputs = [text for line, text in printed if first <= line <= last]
            if not outputs and "torch" in namespace and namespace["torch"] is None:
                continue  # a PyTorch-only line (pytorch.md) on a machine without PyTorch
            assert outputs, f"{label}, line {last}: the print claiming {claimed!r} never ran"
            for text in outputs:
                if kind == "exact":
                    got = " ".join(text.split())
                else:
                    got = [word == "True" for word in re.findall(r"\b(True|False)\b", text)]
                assert got == claimed, (
                    f"{label}, line {last}: printed {text.strip()!r}, the comment claims "
                    f"{claimed!r}")


def _anchors(page):
    """GitHub's anchors for the headings of a page: lower case, punctuation dropped,
    spaces to hyphens ("## The layout of `h_n`" -> "the-layout-of-h_n")."""
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.DOTALL | re.MULTILINE)
    headings = re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_relative_links_resolve(page):
    """Every relative link names a file that exists and, for a page.md#heading link, a
    heading of that page."""
    broken = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"^[a-z]+://|^mailto:", target):
            continue
        if "results/" in target:  # plots written by running the experiments, not committed
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path) if path else page
        if not linked.exists() or (anchor and linked.suffix == ".md"
                                   and anchor not in _anchors(linked)):
            broken.append(target)
    assert not broken, f"{_name(page)} links to missing files or headings: {broken}"
