"""The one mechanical edit that moves a PyTorch program onto loopgrad: its import lines.

``rewrite(source)`` changes the import statements that name ``torch`` and nothing
else: every other byte of the source, comments, strings and docstrings that
mention ``import torch`` included, comes back as it was, and no line is added or
removed, so a line number in a traceback of the rewritten program is the same line
of the original.

>>> print(rewrite("import torch\\nimport torch.nn as nn\\nfrom torch import optim\\n"), end="")
import loopgrad as torch
import loopgrad.nn as nn
from loopgrad import optim

``import torch.nn`` without ``as`` binds the name ``torch`` (to the top package)
and loads ``torch.nn`` into it. Its rewrite does the same with loopgrad, in one
statement on the same line:

>>> print(rewrite("import torch.nn, numpy as np\\n"), end="")
import loopgrad as torch, loopgrad.nn, numpy as np

Names that only start with ``torch`` (``torchvision``, ``torch_geometric``) and
relative imports are not torch and are left alone:

>>> source = "import torchvision\\nfrom .torch import x\\n"
>>> rewrite(source) == source
True

Run ``python tests/programs/rewrite.py FILE.py`` to print a file's rewrite and,
on standard error, how many lines it changed.
"""

import ast
import difflib
import io
import sys
import tokenize

SOURCE = "torch"
TARGET = "loopgrad"


def _is_torch(dotted):
    return dotted == SOURCE or dotted.startswith(SOURCE + ".")


def _line_starts(source):
    """Character offset of the start of each line, as ``ast`` counts lines (``\\n``,
    ``\\r\\n`` or ``\\r``; not the other characters ``str.splitlines`` splits on)."""
    starts = [0]
    for line in io.StringIO(source, newline="").readlines():
        starts.append(starts[-1] + len(line))
    return starts


def _offset(source, starts, lineno, col):
    """Character offset of ``ast``'s (lineno, col), whose col counts UTF-8 bytes."""
    start = starts[lineno - 1]
    line = source[start:starts[lineno]] if lineno < len(starts) else source[start:]
    return start + len(line.encode("utf-8")[:col].decode("utf-8"))


def _first_name_token(segment, name):
    """(start, end) of the first NAME token ``name`` in ``segment`` (a piece of code).

    Tokenized, so a backslash continuation or odd spacing (``from  torch . nn``)
    between the words is read the way Python reads it."""
    readline = io.StringIO(segment).readline
    lines = _line_starts(segment)
    try:
        for token in tokenize.generate_tokens(readline):
            if token.type == tokenize.NAME and token.string == name:
                (row, col), (erow, ecol) = token.start, token.end
                return lines[row - 1] + col, lines[erow - 1] + ecol
    except tokenize.TokenError:  # the segment ends inside an open bracket: fine, found or not
        pass
    raise ValueError(f"no {name!r} in {segment!r}")


def _rename_first(segment, name, new):
    start, end = _first_name_token(segment, name)
    return segment[:start] + new + segment[end:]


def _edits(source):
    """(start, end, replacement) for every piece of an import statement to change."""
    tree = ast.parse(source)
    starts = _line_starts(source)

    def span(node):
        return (_offset(source, starts, node.lineno, node.col_offset),
                _offset(source, starts, node.end_lineno, node.end_col_offset))

    edits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            # from torch.x import a, b   ->   from loopgrad.x import a, b
            # Only the module's first word changes; the names, brackets and layout stay.
            if node.level == 0 and node.module and _is_torch(node.module):
                start, end = span(node)
                segment = source[start:end]
                edits.append((start, end, _rename_first(segment, SOURCE, TARGET)))
        elif isinstance(node, ast.Import):
            bound = False  # has this statement already bound the name torch to loopgrad?
            for alias in node.names:
                if not _is_torch(alias.name):
                    continue
                start, end = span(alias)
                segment = source[start:end]
                renamed = _rename_first(segment, SOURCE, TARGET)
                if alias.asname is not None:
                    # import torch.nn as nn   ->   import loopgrad.nn as nn
                    replacement = renamed
                elif alias.name == SOURCE:
                    # import torch   ->   import loopgrad as torch
                    replacement = f"{TARGET} as {SOURCE}"
                    bound = True
                else:
                    # import torch.nn   ->   import loopgrad as torch, loopgrad.nn
                    # (the original binds torch and loads torch.nn into it; so does this,
                    # once per statement: import torch, torch.nn -> loopgrad as torch, loopgrad.nn)
                    replacement = renamed if bound else f"{TARGET} as {SOURCE}, {renamed}"
                    bound = True
                edits.append((start, end, replacement))
    return edits


def rewrite(source: str) -> str:
    """``source`` with its torch imports turned into loopgrad imports, all else unchanged.

    ``import torch`` becomes ``import loopgrad as torch``; ``import torch.x as y`` becomes
    ``import loopgrad.x as y``; ``from torch.x import ...`` becomes ``from loopgrad.x import
    ...``; ``import torch.x`` becomes ``import loopgrad as torch, loopgrad.x``. Imports
    anywhere count (inside functions, ``try`` blocks, ``if`` branches); text that only
    looks like an import (in a string or a comment) does not.

    >>> rewrite("from torch.utils.data import (\\n    DataLoader,\\n    Dataset)\\n")
    'from loopgrad.utils.data import (\\n    DataLoader,\\n    Dataset)\\n'
    """
    edits = sorted(_edits(source))
    out, position = [], 0
    for start, end, replacement in edits:
        if start < position:  # nested edits cannot happen: imports do not contain imports
            raise AssertionError(f"overlapping edits at {start}")
        out += [source[position:start], replacement]
        position = end
    out.append(source[position:])
    result = "".join(out)
    if result.count("\n") != source.count("\n"):
        raise AssertionError("the rewrite changed the number of lines")
    return result


def changed_lines(original: str, rewritten: str) -> int:
    """How many lines of ``original`` differ in ``rewritten``: the size of the diff.

    >>> changed_lines("import torch\\nx = 1\\n", "import loopgrad as torch\\nx = 1\\n")
    1
    """
    a = io.StringIO(original, newline="").readlines()
    b = io.StringIO(rewritten, newline="").readlines()
    changed = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag != "equal":
            changed += max(i2 - i1, j2 - j1)
    return changed


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python tests/programs/rewrite.py FILE.py", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8", newline="") as f:
        original = f.read()
    rewritten = rewrite(original)
    sys.stdout.write(rewritten)
    print(f"{changed_lines(original, rewritten)} lines changed (imports only)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
