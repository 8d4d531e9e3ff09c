"""The import rewrite: what it changes, what it leaves byte for byte, and that the
rewritten imports bind the same names to the same (loopgrad) modules.

None of this needs torch or loopgrad: the semantic check runs the imports in a
subprocess against two stub packages, ``torch`` and ``loopgrad``, of the same shape.
"""

import ast
import json
import pathlib
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.programs.rewrite import changed_lines, rewrite

CORPUS = pathlib.Path(__file__).resolve().parent / "corpus"

# (original, rewritten)
CASES = [
    ("import torch\n", "import loopgrad as torch\n"),
    ("import torch.nn as nn\n", "import loopgrad.nn as nn\n"),
    ("import torch.nn.functional as F\n", "import loopgrad.nn.functional as F\n"),
    ("from torch import nn, optim\n", "from loopgrad import nn, optim\n"),
    ("from torch.utils.data import DataLoader\n", "from loopgrad.utils.data import DataLoader\n"),
    ("import torch.optim as optim\n", "import loopgrad.optim as optim\n"),
    ("import torch.nn\n", "import loopgrad as torch, loopgrad.nn\n"),
    ("import torch, torch.nn as nn\n", "import loopgrad as torch, loopgrad.nn as nn\n"),
    ("import torch.nn.functional\n", "import loopgrad as torch, loopgrad.nn.functional\n"),
    ("import torch, torch.nn\n", "import loopgrad as torch, loopgrad.nn\n"),
    ("import torch.nn, torch.optim\n", "import loopgrad as torch, loopgrad.nn, loopgrad.optim\n"),
    ("import torch.nn, torch\n", "import loopgrad as torch, loopgrad.nn, loopgrad as torch\n"),
    ("import torch.nn as nn, torch.optim\n",
     "import loopgrad.nn as nn, loopgrad as torch, loopgrad.optim\n"),
    ("import numpy as np, torch\n", "import numpy as np, loopgrad as torch\n"),
    ("import torch as th\n", "import loopgrad as th\n"),
    ("import torch as torch\n", "import loopgrad as torch\n"),
    ("from torch import *\n", "from loopgrad import *\n"),
    ("from torch.nn import functional as F\n", "from loopgrad.nn import functional as F\n"),
    ("import torch.nn as nn; import torch.optim as optim\n",
     "import loopgrad.nn as nn; import loopgrad.optim as optim\n"),
    ("if True: import torch.nn\n", "if True: import loopgrad as torch, loopgrad.nn\n"),
    ("import torch  # the engine\n", "import loopgrad as torch  # the engine\n"),
    ("import  torch . nn  as  nn\n", "import  loopgrad . nn  as  nn\n"),
    ("from  torch . nn  import  Module\n", "from  loopgrad . nn  import  Module\n"),
    ("from __future__ import annotations\nimport torch\n",
     "from __future__ import annotations\nimport loopgrad as torch\n"),
    # multi-line and continued statements: only the module's first word changes
    ("from torch.nn.utils.rnn import (\n    pack_padded_sequence,\n"
     "    pad_packed_sequence,  # unpack\n)\n",
     "from loopgrad.nn.utils.rnn import (\n    pack_padded_sequence,\n"
     "    pad_packed_sequence,  # unpack\n)\n"),
    ("from torch import (nn,\n                   optim)\n",
     "from loopgrad import (nn,\n                   optim)\n"),
    ("from torch.nn.utils.rnn import \\\n    pack_padded_sequence\n",
     "from loopgrad.nn.utils.rnn import \\\n    pack_padded_sequence\n"),
    ("from \\\n  torch import nn\n", "from \\\n  loopgrad import nn\n"),
    ("import os, \\\n    torch.nn\n", "import os, \\\n    loopgrad as torch, loopgrad.nn\n"),
    # anywhere in the program
    ("try:\n    import torch\nexcept ImportError:\n    torch = None\n",
     "try:\n    import loopgrad as torch\nexcept ImportError:\n    torch = None\n"),
    ("def f():\n\timport torch.nn.functional as F\n\treturn F\n",
     "def f():\n\timport loopgrad.nn.functional as F\n\treturn F\n"),
    ("class A:\n    from torch import nn\n", "class A:\n    from loopgrad import nn\n"),
    # offsets: ast counts UTF-8 bytes, lines end only at \n, \r\n, \r
    ("x = 'é€'; import torch\n", "x = 'é€'; import loopgrad as torch\n"),
    ("import torch\r\nimport torch.nn as nn\r\n",
     "import loopgrad as torch\r\nimport loopgrad.nn as nn\r\n"),
    ("# page\x0cbreak\nimport torch\n", "# page\x0cbreak\nimport loopgrad as torch\n"),
    ("s = 'a\u2028b\x1cc'\nimport torch\n", "s = 'a\u2028b\x1cc'\nimport loopgrad as torch\n"),
    ("import torch", "import loopgrad as torch"),  # no newline at the end
]

UNCHANGED = [
    "import torchvision\n",
    "import torchvision.transforms as transforms\n",
    "from torchvision import datasets, transforms\n",
    "import torch_geometric\nimport torchaudio as ta\n",
    "from .torch import x\n",
    "from . import torch\n",
    "from ..torch.nn import y\n",
    "import numpy as np\nimport os.path\n",
    '"""Usage:\n\n    import torch\n    from torch import nn\n"""\nimport os\n',
    "# import torch\nx = 'import torch'\ny = \"from torch import nn\"\n",
    "s = '''\nimport torch.nn as nn\n'''\n",
    "x = torch.nn.Linear(2, 3)  # uses torch, imports nothing\n",
    "print(f'{1} import torch')\n",
    "",
]


@pytest.mark.parametrize("original, expected", CASES)
def test_rewrites_the_import(original, expected):
    assert rewrite(original) == expected
    assert changed_lines(original, expected) >= 1


@pytest.mark.parametrize("source", UNCHANGED)
def test_leaves_everything_else_byte_for_byte(source):
    assert rewrite(source) == source
    assert changed_lines(source, rewrite(source)) == 0


def test_a_syntax_error_is_raised_not_rewritten():
    with pytest.raises(SyntaxError):
        rewrite("import torch\ndef f(:\n")


def test_changed_lines_counts_lines_of_the_diff():
    original = "import torch\nimport torch.nn as nn\nx = 1\nimport os\n"
    assert changed_lines(original, rewrite(original)) == 2
    assert changed_lines("a\nb\nc\n", "a\nB\nC\nd\n") == 3
    assert changed_lines("a\nb\n", "a\n") == 1


# --------------------------------------------------------------------------------------------
# Semantics: the rewritten imports bind the same names to the corresponding modules.

STUB_MODULES = ["", ".nn", ".nn.functional", ".nn.utils", ".nn.utils.rnn", ".optim",
                ".optim.lr_scheduler", ".utils", ".utils.data", ".onnx", ".jit"]

RUNNER = textwrap.dedent("""
    import json, sys, types
    sys.path.insert(0, sys.argv[1])
    results = []
    for source in json.load(sys.stdin):
        for name in [m for m in sys.modules if m.split('.')[0] in ('torch', 'loopgrad')]:
            del sys.modules[name]
        namespace = {}
        exec(compile(source, '<case>', 'exec'), namespace)
        bound = {}
        for key, value in namespace.items():
            if key == '__builtins__':
                continue
            if isinstance(value, types.ModuleType):
                value = 'module ' + value.__name__
            elif not isinstance(value, (str, int, type(None))):
                value = type(value).__name__
            bound[key] = value
        loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'loopgrad'))
        results.append([bound, loaded])
    json.dump(results, sys.stdout)
""")


def write_stub_packages(root):
    """Packages ``torch`` and ``loopgrad`` of the same shape; each module has NAME and a
    DataLoader-like attribute naming it, so a binding says which module it came from."""
    for top in ("torch", "loopgrad"):
        for sub in STUB_MODULES:
            name = top + sub
            folder = root.joinpath(*name.split("."))
            folder.mkdir(parents=True, exist_ok=True)
            lines = [f"NAME = {name!r}"] + [
                f"{a} = '{a}@{name}'" for a in ("DataLoader", "Module", "Linear", "relu", "SGD",
                                               "pack_padded_sequence", "pad_packed_sequence")]
            (folder / "__init__.py").write_text("\n".join(lines) + "\n")


def run_imports(root, sources):
    result = subprocess.run([sys.executable, "-I", "-c", RUNNER, str(root)],
                            input=json.dumps(sources), capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def as_torch(value):
    """A value from the rewritten run, with loopgrad's names spelled as torch's."""
    if isinstance(value, str):
        return value.replace("loopgrad", "torch")
    if isinstance(value, dict):
        return {k: as_torch(v) for k, v in value.items() if k != "loopgrad"}
    if isinstance(value, list):
        return [as_torch(v) for v in value]
    return value


def test_rewritten_imports_bind_what_the_originals_bind(tmp_path):
    write_stub_packages(tmp_path)
    sources = [original for original, _ in CASES] + [
        "import torch.nn.functional\nx = torch.nn.functional.relu\ny = torch.NAME\n",
        "import torch.utils.data\nz = torch.utils.data.DataLoader\n",
        "from torch.optim.lr_scheduler import *\n",
        "import torch.onnx\nfrom torch.jit import NAME as jit_name\n",
    ]
    originals = run_imports(tmp_path, sources)
    rewritten = run_imports(tmp_path, [rewrite(s) for s in sources])
    for source, (bound, loaded), (bound_rw, loaded_rw) in zip(sources, originals, rewritten):
        # the rewritten program loads loopgrad's modules only, never torch's
        assert all(m.split(".")[0] == "loopgrad" for m in loaded_rw), (source, loaded_rw)
        # the same names, bound to the corresponding modules and attributes; the rewrite may
        # bind one name more, ``loopgrad`` itself (import loopgrad.nn binds it)
        assert as_torch(bound_rw) == bound, source
        assert as_torch(loaded_rw) == loaded, source


def test_the_stub_check_sees_a_wrong_rewrite(tmp_path):
    write_stub_packages(tmp_path)
    wrong = "import loopgrad.nn\n"  # binds loopgrad, not torch: what a naive rewrite gives
    [(bound, _)] = run_imports(tmp_path, ["import torch.nn\n"])
    [(bound_rw, _)] = run_imports(tmp_path, [wrong])
    assert as_torch(bound_rw) != bound


# --------------------------------------------------------------------------------------------
# Properties over generated sources, and the corpus itself.

TORCH_MODULES = ["torch", "torch.nn", "torch.nn.functional", "torch.optim", "torch.utils.data",
                 "torch.nn.utils.rnn"]
import_line = st.one_of(
    st.builds(lambda m: f"import {m}", st.sampled_from(TORCH_MODULES)),
    st.builds(lambda m, a: f"import {m} as {a}", st.sampled_from(TORCH_MODULES),
              st.sampled_from(["nn", "F", "th", "torch"])),
    st.builds(lambda m, n: f"from {m} import {n}", st.sampled_from(TORCH_MODULES),
              st.sampled_from(["nn", "DataLoader", "(a,\n    b)", "*"])),
    st.builds(lambda ms: "import " + ", ".join(ms),
              st.lists(st.sampled_from(TORCH_MODULES + ["os", "numpy as np"]), min_size=1,
                       max_size=4)),
)
other_line = st.one_of(
    st.sampled_from(["x = 1", "# import torch", "s = 'import torch.nn as nn'",
                     "torch.manual_seed(0)", '"""\nimport torch\n"""', "import torchvision",
                     "y = 'ü'  # from torch import nn"]),
)


def is_import(line):
    return line.lstrip().startswith(("import ", "from "))


@given(st.lists(st.one_of(import_line, other_line), max_size=8))
def test_only_import_statements_change(pieces):
    source = "".join(piece + "\n" for piece in pieces)
    rewritten = rewrite(source)
    assert rewritten.count("\n") == source.count("\n")
    assert rewrite(rewritten) == rewritten  # nothing of torch is left to rewrite
    assert not torch_imports(rewritten)
    lines = rewritten.split("\n")
    for piece in pieces:  # each piece, one or more whole lines, comes back in its place
        n = piece.count("\n") + 1
        piece_rw, lines = "\n".join(lines[:n]), lines[n:]
        if not torch_imports(piece + "\n"):
            assert piece_rw == piece
        else:
            assert piece_rw == rewrite(piece + "\n")[:-1]


def torch_imports(source):
    """The torch modules that ``source``'s import statements name."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "torch"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == "torch":
                found.append(node.module)
    return found


def corpus_files():
    return sorted(CORPUS.rglob("*.py"))


def test_the_corpus_is_there():
    assert len(corpus_files()) >= 8


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: str(p.relative_to(CORPUS)))
def test_every_corpus_file_rewrites_to_loopgrad_imports_only(path):
    original = path.read_text(encoding="utf-8")
    rewritten = rewrite(original)
    compile(rewritten, str(path), "exec")
    assert not torch_imports(rewritten)
    assert torch_imports(original) or "torch" not in original
    old, new = original.splitlines(), rewritten.splitlines()
    assert len(old) == len(new)
    for before, after in zip(old, new):
        if before != after:
            assert is_import(before) or "import" in before, (before, after)
    assert changed_lines(original, rewritten) == sum(a != b for a, b in zip(old, new))
