"""Seeing a graph: the nodes that made a tensor, as Graphviz DOT text, a picture, or a tree.

    to_dot(tensor, params=None)              DOT text (no dependency)
    draw_graph(tensor, path, params=None)    SVG or PNG through Graphviz's ``dot`` program
    to_text(tensor, params=None)             a tree for a terminal
    graph_nodes(tensor)                      the nodes, in creation order

An op node is labelled with its Function's name and its output's shape and dtype, a
leaf with its parameter name (from ``params``, e.g. ``model.named_parameters()``) or as
an input or a constant. A node used twice is drawn once, with two edges. The graph must
still exist: ``backward()`` frees it, unless it was called with ``retain_graph=True``.

    >>> import engine
    >>> x = engine.tensor([1.0, 2.0], requires_grad=True)
    >>> print(to_text((x.tanh() * x).sum(), params={"x": x}))
    Sum () float32
    └─ Mul (2,) float32
       ├─ Tanh (2,) float32
       │  └─ x (2,) float32
       └─ x (2,) float32
"""

import os
import shutil
import subprocess
import warnings

_FREED = ("the graph of this tensor was freed by backward(); draw it before backward(), or "
          "call backward(retain_graph=True)")


def _params(params):
    """id(tensor) -> name, from a dict or (name, tensor) pairs (named_parameters())."""
    if params is None:
        return {}
    pairs = params.items() if isinstance(params, dict) else params
    return {id(tensor): name for name, tensor in pairs}


def _describe(tensor):
    return f"{tuple(tensor.shape)} {tensor.dtype}"


def graph_nodes(tensor):
    """The op nodes that made ``tensor``, earliest first (each once)."""
    if tensor._ctx is None:
        return []
    seen, stack, nodes = {id(tensor._ctx)}, [tensor._ctx], []
    while stack:
        node = stack.pop()
        if node.released:
            raise RuntimeError(_FREED)
        nodes.append(node)
        for parent in node.parents:
            producer = parent._ctx
            if producer is not None and id(producer) not in seen:
                seen.add(id(producer))
                stack.append(producer)
    return sorted(nodes, key=lambda node: node.sequence)


def _walk(tensor):
    """Every edge of the graph as (source key, tensor on the edge, target node), and the
    label of each op node's outputs: {id(node): [tensor or (shape, dtype), ...]}."""
    nodes = graph_nodes(tensor)
    outputs = {id(tensor._ctx): {tensor._output_index: tensor}} if tensor._ctx else {}
    edges = []
    for node in nodes:
        for parent in node.parents:
            source = id(parent._ctx) if parent._ctx is not None else id(parent)
            edges.append((source, parent, node))
            if parent._ctx is not None:
                outputs.setdefault(id(parent._ctx), {})[parent._output_index] = parent
    return nodes, edges, outputs


def _op_label(node, outputs):
    described = [_describe(outputs[i]) for i in sorted(outputs)]
    if node.num_outputs > 1:
        described = [f"{len(node.output_meta)} outputs"]
    return f"{type(node).__name__} " + ", ".join(described)


def _leaf_label(tensor, names):
    name = names.get(id(tensor))
    if name is None:
        name = "input" if tensor.requires_grad else "constant"
    return f"{name} {_describe(tensor)}"


def to_dot(tensor, params=None):
    """The graph that made ``tensor`` as Graphviz DOT text: inputs at the top, ``tensor``'s
    op at the bottom; parameters named by ``params``, leaves that need a gradient shaded."""
    names = _params(params)
    nodes, edges, outputs = _walk(tensor)
    lines = ["digraph {", '    node [fontname="Helvetica", fontsize=10];']
    for node in nodes:
        label = _op_label(node, outputs.get(id(node), {})).replace(" ", "\\n", 1)
        peripheries = 2 if node is tensor._ctx else 1
        lines.append(f'    n{id(node)} [shape=box, style=rounded, peripheries={peripheries}, '
                     f'label="{label}"];')
    leaves = {id(t): t for _, t, _ in edges if t._ctx is None}
    if tensor._ctx is None:
        leaves[id(tensor)] = tensor
    for key, leaf in leaves.items():
        fill = ', style=filled, fillcolor="#dbe9f6"' if leaf.requires_grad else ""
        label = _leaf_label(leaf, names).replace(" ", "\\n", 1)
        lines.append(f'    n{key} [shape=ellipse{fill}, label="{label}"];')
    for source, _, target in edges:
        lines.append(f"    n{source} -> n{id(target)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw_graph(tensor, path, params=None):
    """Write the graph of ``tensor`` to ``path`` (``.svg`` or ``.png``, rendered by Graphviz's
    ``dot`` program: ``apt install graphviz``, ``brew install graphviz`` or ``conda install
    graphviz``). Without ``dot`` (or for a ``.dot`` path) it writes the DOT text instead,
    next to ``path`` with the suffix ``.dot``, and says how to render it. Returns the path
    written."""
    text = to_dot(tensor, params)
    root, suffix = os.path.splitext(os.fspath(path))
    image = suffix.lower() in (".svg", ".png")
    if not image or shutil.which("dot") is None:
        dot_path = root + ".dot"
        with open(dot_path, "w") as file:
            file.write(text)
        if image:
            warnings.warn(f"draw_graph: Graphviz's dot program is not installed, so the graph "
                          f"was written as DOT text to {dot_path}; render it with "
                          f"`dot -T{suffix[1:].lower()} {dot_path} -o {path}` after installing "
                          "Graphviz (apt install graphviz, brew install graphviz)", stacklevel=2)
        return dot_path
    subprocess.run(["dot", f"-T{suffix[1:].lower()}", "-o", os.fspath(path)], input=text,
                   text=True, check=True, capture_output=True)
    return os.fspath(path)


def to_text(tensor, params=None):
    """The graph of ``tensor`` as a tree, its op at the root: one line per node, with its
    output's shape and dtype; a node met again is shown as ``(again: Name)``."""
    names = _params(params)
    _, _, outputs = _walk(tensor)  # raises if backward freed the graph
    lines, shown = [], set()

    def visit(t, lead, branch):
        node = t._ctx
        if node is None:
            lines.append(lead + branch + _leaf_label(t, names))
            return
        if id(node) in shown:
            lines.append(lead + branch + f"(again: {type(node).__name__})")
            return
        shown.add(id(node))
        lines.append(lead + branch + _op_label(node, outputs.get(id(node), {})))
        below = lead + ("" if not branch else ("│  " if branch == "├─ " else "   "))
        for i, parent in enumerate(node.parents):
            visit(parent, below, "└─ " if i == len(node.parents) - 1 else "├─ ")

    visit(tensor, "", "")
    return "\n".join(lines)
