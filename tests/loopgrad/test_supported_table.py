"""docs/pytorch.md's table of what is supported is the code's: each row lists exactly the
public names of its loopgrad module (``__all__``; for ``loopgrad.Tensor`` its public
attributes), so the page cannot drift from what runs."""

import importlib
import pathlib
import re

import pytest

import loopgrad
from engine.unsupported import Unsupported as _Unsupported

PAGE = pathlib.Path(__file__).resolve().parents[2] / "docs" / "pytorch.md"
ROW = re.compile(r"^\| `(torch[\w.]*)` \| `(loopgrad[\w.]*)` \| (.*) \|$", re.MULTILINE)


def table():
    text = PAGE.read_text()
    section = text.split("## What is supported", 1)[1].split("\n## ", 1)[0]
    return {here: (theirs, set(re.findall(r"`([^`]+)`", names)))
            for theirs, here, names in ROW.findall(section)}


def public_names(path):
    if path == "loopgrad.Tensor":  # its methods, not the names that say they are not there
        return {name for name in dir(loopgrad.Tensor) if not name.startswith("_")
                and not isinstance(vars(loopgrad.Tensor).get(name), _Unsupported)}
    return set(importlib.import_module(path).__all__)


ROWS = sorted(table())


def test_the_table_has_every_namespace():
    assert {"loopgrad", "loopgrad.Tensor", "loopgrad.nn", "loopgrad.nn.functional",
            "loopgrad.optim", "loopgrad.utils.data", "loopgrad.nn.utils.rnn"} <= set(ROWS)


@pytest.mark.parametrize("path", ROWS)
def test_each_row_lists_exactly_what_its_module_has(path):
    theirs, listed = table()[path]
    assert theirs == "torch" + path[len("loopgrad"):]
    actual = public_names(path)
    assert listed == actual, (f"docs/pytorch.md's row for {path}: not in the code "
                              f"{sorted(listed - actual)}, missing from the page "
                              f"{sorted(actual - listed)}")
