"""The one direction of dependency: engine <- nn <- rnn <- (experiments, loopgrad).

Imports are read with ``ast`` (nothing is imported), so a violation anywhere,
even inside a function, fails here.
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "engine": {"nn", "rnn", "experiments", "loopgrad", "tests", "cupy", "cupyx"},
    "nn": {"rnn", "experiments", "loopgrad", "tests"},
    "rnn": {"experiments", "loopgrad", "tests"},
    "experiments": {"loopgrad", "tests"},
    "loopgrad": {"experiments", "tests", "cupy", "cupyx"},
}
CUPY_ALLOWED = {ROOT / "engine" / "backend.py"}


def imported_top_level_names(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], node.lineno


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_downward(package):
    violations = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name, line in imported_top_level_names(path):
            if name in FORBIDDEN[package] and path not in CUPY_ALLOWED:
                violations.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not violations, "imports against the layering:\n" + "\n".join(violations)


def test_only_backend_imports_cupy():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in ("engine", "nn", "rnn", "experiments", "loopgrad")
        for path in sorted((ROOT / package).rglob("*.py"))
        for name, line in imported_top_level_names(path)
        if name in ("cupy", "cupyx") and path not in CUPY_ALLOWED
    ]
    assert not offenders, f"only engine/backend.py may import CuPy: {offenders}"


def test_the_checker_sees_imports(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import os\nfrom nn.module import Module\n")
    assert list(imported_top_level_names(probe)) == [("os", 1), ("nn", 2)]
