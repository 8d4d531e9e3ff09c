"""The docs are part of the code: every Python block in README.md and docs/*.md
runs, and every relative link resolves.

Blocks of one page run in order in one namespace, so a page can build an
example up step by step. A block fenced as ```python is run; other fences
(```bash, ```text, ```) are shown only.
"""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
         ROOT / "experiments" / "README.md"]
PAGES = [page for page in PAGES if page.exists()]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _name(page):
    return str(page.relative_to(ROOT))


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_code_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a page that writes files writes them here
    namespace = {"__name__": f"docs_{page.stem}"}
    for number, block in enumerate(BLOCK.findall(page.read_text()), start=1):
        try:
            exec(compile(block, f"{_name(page)} block {number}", "exec"), namespace)
        except Exception as error:
            message = f"{_name(page)}, python block {number} failed: {error!r}"
            raise AssertionError(message) from error


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_relative_links_resolve(page):
    broken = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"^[a-z]+://|^mailto:|^#", target):
            continue
        if "results/" in target:  # plots written by running the experiments, not committed
            continue
        path = target.split("#")[0]
        if not (page.parent / path).exists():
            broken.append(target)
    assert not broken, f"{_name(page)} links to missing files: {broken}"
