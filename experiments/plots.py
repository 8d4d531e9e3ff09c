"""Pictures of what ``rnn.trace`` and ``rnn.state_gradients`` measure.

    plot_gates(traced, path, gates=("i", "f"), ...)    gates over time, a heatmap per gate
                                                        and sequence (units down, steps across)
    plot_state_gradients(curves, path, ...)            ||dL/dh_t|| against t, log scale

matplotlib is imported inside each function (Agg backend, no display), so importing this
module costs nothing and needs nothing.
"""

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _cell_view(array, layer, direction):
    """(T, B, H) of one trace entry: a cell's as it is, a layer's (L, D, T, B, H) at
    ``layer`` and ``direction``."""
    array = np.asarray(array)
    if array.ndim == 5:
        return array[layer, direction]
    if array.ndim != 3:
        raise ValueError(f"plot_gates: a trace entry must be (T, B, H) or (L, D, T, B, H); got "
                         f"shape {array.shape}")
    return array


def plot_gates(traced, path, gates=("i", "f"), sequences=(0,), *, layer=0, direction=0,
               phases=None, title=None):
    """Heatmaps of gates over time: one panel per gate (rows) and sequence (columns), each
    the (H, T) picture of that gate's H units at every step, 0 dark to 1 bright.

    ``traced`` is ``rnn.trace``'s dict (for a layer, ``layer`` and ``direction`` pick the
    one to show); ``gates`` are its keys to draw (``"i", "f"`` for an LSTM's input and
    forget gates, ``"r", "z"`` for a GRU's, or ``"h"``/``"c"``); ``sequences`` the batch
    indices. Padded steps (NaN in the trace) are left blank. ``phases``, a dict
    ``{label: first step}``, draws a labelled line where each phase starts (for example
    ``{"hold": 10, "recall": 20}``). Writes ``path`` (PNG, or anything matplotlib writes)
    and returns it.
    """
    missing = [name for name in gates if name not in traced]
    if missing:
        raise KeyError(f"plot_gates: the trace has no {missing}; it has {sorted(traced)}")
    plt = _pyplot()
    views = {name: _cell_view(traced[name], layer, direction) for name in gates}
    steps = next(iter(views.values())).shape[0]
    fig, axes = plt.subplots(len(gates), len(sequences), squeeze=False,
                             figsize=(1.5 + 0.12 * steps * len(sequences), 1.8 * len(gates)))
    for row, name in enumerate(gates):
        values = views[name][:, list(sequences), :]
        if name in ("h", "c", "g", "n"):  # signed: a state, or a tanh candidate
            limit = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
            scale = {"cmap": "RdBu_r", "vmin": -limit, "vmax": limit}
        else:  # a sigmoid gate, in (0, 1): 0 closed (dark), 1 open (bright)
            scale = {"cmap": "viridis", "vmin": 0.0, "vmax": 1.0}
        for column, b in enumerate(sequences):
            ax = axes[row][column]
            picture = views[name][:, b, :].T  # (H, T)
            # "none": a vector file embeds the H x T pixels themselves, not a resampling
            image = ax.imshow(np.ma.masked_invalid(picture), aspect="auto",
                              interpolation="none", **scale)
            for label, start in (phases or {}).items():
                ax.axvline(start - 0.5, color="white", linewidth=1)
                if row == 0:
                    ax.text(start, -0.8, label, fontsize=7, va="bottom")
            ax.set_ylabel(f"{name}: unit" if column == 0 else "")
            ax.set_xlabel("time step" if row == len(gates) - 1 else "")
            if row == 0:
                ax.set_title(f"sequence {b}", fontsize=9, pad=12 if phases else 4)
        fig.colorbar(image, ax=list(axes[row]), shrink=0.9, pad=0.02)
    if title:
        fig.suptitle(title)
    _save(plt, fig, path)
    return path


def _save(plt, fig, path):
    small_svg = {"svg.fonttype": "none", "svg.hashsalt": "loopgrad",  # text as text, stable ids
                 "font.sans-serif": ["DejaVu Sans", "Arial"]}
    with plt.rc_context(small_svg):
        fig.savefig(path, dpi=110, metadata={"Date": None} if str(path).endswith(".svg")
                    else None)
    plt.close(fig)


def plot_state_gradients(curves, path, *, title="||dL/dh_t|| against t", relative=False):
    """``||dL/dh_t||`` against ``t`` (1..T) on a log axis, one line per curve.

    ``curves`` maps a label to an array (T,) or to ``rnn.state_gradients``'s dict
    (``{"h": ..., "c": ...}``, drawn as "label h" and "label c", the cell state dashed).
    ``relative=True`` divides each curve by its last value, so that every line ends at 1
    and its left end reads as the fraction of the gradient that survives T - 1 steps.
    Exact zeros (float underflow, or padded steps) cannot be drawn on a log axis and are
    left out. Writes ``path`` and returns it.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for number, (label, curve) in enumerate(curves.items()):
        parts = curve.items() if isinstance(curve, dict) else [("", curve)]
        for part, values in parts:  # one colour per curve, its cell state dashed
            values = np.asarray(values, dtype=np.float64)
            if relative and values[-1] > 0:
                values = values / values[-1]
            steps = np.arange(1, len(values) + 1)
            drawable = values > 0
            ax.plot(steps[drawable], values[drawable], label=f"{label} {part}".strip(),
                    color=f"C{number % 10}", linestyle="--" if part == "c" else "-")
    ax.set_yscale("log")
    ax.set_xlabel("time step t (the loss is read after the last step)")
    ax.set_ylabel("||dL/dh_t||" + (" / ||dL/dh_T||" if relative else ""))
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(plt, fig, path)
    return path
