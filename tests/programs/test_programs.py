"""Real public PyTorch recurrent-network programs, run as written with PyTorch and, after
the one mechanical edit of their import lines (``torch`` -> ``loopgrad``), with loopgrad.

Per program (``harness.PROGRAMS``; the programs are in ``corpus/``, each with a header
naming its source, commit, license and the few lines changed for data and sizes):

- ``test_pytorch_runs_the_original``: with PyTorch installed, the program as written
  runs, learns, and ends inside its widened band. This checks the corpus and the band
  against the installed PyTorch; without PyTorch it is skipped.
- ``test_loopgrad_runs_the_rewrite``: every ``.py`` file of the program passed through
  ``rewrite`` (imports only), run with the repository's ``loopgrad`` and no torch
  importable. It must exit 0, print finite losses, learn (its loss must drop by at
  least half the smallest drop PyTorch showed over 10 seeds) and end where PyTorch ends:
  its final loss inside PyTorch's range over 10 seeds, widened on each side by the
  range's width (at least 10% of its top). loopgrad's random streams differ from
  PyTorch's, so a loopgrad run is one more draw from the seed distribution; the widened
  range holds such a draw, and rejects a run that learns much worse, or suspiciously
  better, than PyTorch. A failed run shows the last 40 lines of what it wrote: the
  traceback names what loopgrad is missing.

The bands, and one PyTorch run's wall time, are in ``harness.PROGRAMS``; redo them
with ``python -m tests.programs.measure_spread``.
"""

import ast
import re
import subprocess
import sys

import pytest

from tests.programs import harness
from tests.programs.rewrite import rewrite

PROGRAMS = [pytest.param(p, id=p.name) for p in harness.PROGRAMS]


@pytest.mark.slow
@pytest.mark.parametrize("program", PROGRAMS)
def test_pytorch_runs_the_original(program, tmp_path):
    pytest.importorskip("torch")
    result = harness.run(program, tmp_path / "run", "pytorch")
    harness.check_learned(result)


@pytest.mark.slow
@pytest.mark.parametrize("program", PROGRAMS)
def test_loopgrad_runs_the_rewrite(program, tmp_path):
    result = harness.run(program, tmp_path / "run", "loopgrad")
    assert result.changed_lines > 0, "the rewrite changed nothing: no torch import found"
    harness.check_learned(result)


def test_the_corpus_is_the_table():
    """Every program in corpus/ is in the table and the other way round."""
    on_disk = {p.stem if p.is_file() else p.name for p in harness.CORPUS.iterdir()
               if p.suffix == ".py" or (p.is_dir() and p.name != "LICENSES")}
    assert on_disk == {p.name for p in harness.PROGRAMS}
    for program in harness.PROGRAMS:
        entry = (program.folder or harness.CORPUS) / program.entry
        assert entry.is_file(), entry
        lo, hi = program.band
        assert lo <= hi and program.min_drop > 0


def test_the_data_files_are_what_make_data_writes():
    from tests.programs import make_data

    for relative, content in make_data.files().items():
        path = harness.CORPUS / relative
        assert path.read_text(encoding="utf-8") == content, (
            f"{relative} differs from what make_data.py writes: rerun tests/programs/make_data.py")


def test_every_corpus_file_has_its_header():
    for path in sorted(harness.CORPUS.rglob("*.py")):
        head = path.read_text(encoding="utf-8")[:3000]
        for field in ("# Source:", "# Commit:", "# License:", "# Changed from the original"):
            assert field in head, f"{path.relative_to(harness.CORPUS)}: no {field!r} header"


def test_a_failed_run_is_reported_with_its_traceback(tmp_path):
    """The harness's own failure message, on a program whose loopgrad import fails."""
    program = harness.Program(
        name="probe", entry="probe.py", args=(), first=1.0, final=r"loss (\S+)",
        band=(0.1, 0.2), min_drop=0.5, seeding="none", pytorch_seconds=0)
    workdir = tmp_path / "run"
    workdir.mkdir()
    (workdir / "probe.py").write_text(rewrite("import torch.nn.not_a_module\n"))
    command = [sys.executable, "probe.py"]
    done = subprocess.run(command, cwd=workdir, env=harness.environment(workdir, "loopgrad"),
                          capture_output=True, text=True, check=False)
    result = harness.Result(program, "loopgrad", done.returncode, done.stdout, done.stderr,
                            0.0, 1, command)
    with pytest.raises(AssertionError, match=r"(?s)probe with loopgrad failed.*Traceback.*"
                                             r"No module named 'loopgrad"):
        harness.check_learned(result)


def test_the_loopgrad_run_cannot_import_torch(tmp_path):
    env = harness.environment(tmp_path / "run", "loopgrad")
    done = subprocess.run([sys.executable, "-c", "import torch"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "the rewritten program imported torch" in done.stderr


def test_the_band_check():
    program = harness.PROGRAMS[0]
    lo, hi = program.band
    assert program.accepts(lo) and program.accepts(hi) and program.accepts((lo + hi) / 2)
    assert not program.accepts(hi + 1.01 * program.margin)
    assert not program.accepts(lo - 1.01 * program.margin)


def torch_names(source):
    """Every torch name ``source`` reaches: attribute chains from the names its torch
    imports bind, resolved (``nn.utils.clip_grad_norm_`` -> ``torch.nn.utils.clip_grad_norm_``)."""
    tree = ast.parse(source)
    bound = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "torch":
                    bound[alias.asname or "torch"] = alias.name if alias.asname else "torch"
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == "torch":
                for alias in node.names:
                    bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Attribute, ast.Name)):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Attribute) and parent.value is node:
            continue  # not the whole chain
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in bound and isinstance(node.ctx, ast.Load):
            names.add(".".join([bound[node.id], *reversed(parts)]))
    return names


def test_inventory_names_every_torch_name():
    """INVENTORY.md mentions, in its code spans, every torch name a corpus program reaches
    (its last two components: ``rnn.pack_padded_sequence``, ``cuda.is_available``)."""
    text = (harness.HERE / "INVENTORY.md").read_text(encoding="utf-8")
    words = {w for span in re.findall(r"`([^`]+)`", text)
             for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", span)}
    missing = {}
    for path in sorted(harness.CORPUS.rglob("*.py")):
        for name in torch_names(path.read_text(encoding="utf-8")):
            if not set(name.split(".")[-2:]) <= words:
                missing.setdefault(name, []).append(str(path.relative_to(harness.CORPUS)))
    assert not missing, f"torch names the corpus uses and INVENTORY.md does not: {missing}"


def test_the_inventory_scan_sees_names():
    source = ("import torch.nn as nn\nfrom torch.nn.utils import clip_grad_norm_ as clip\n"
              "import torch\nnn.utils.rnn.pack_padded_sequence(x, l)\nclip(p, 1)\n"
              "torch.cuda.is_available()\ntorch = 3\n")
    assert torch_names(source) == {"torch.nn.utils.rnn.pack_padded_sequence",
                                   "torch.nn.utils.clip_grad_norm_", "torch.cuda.is_available"}
