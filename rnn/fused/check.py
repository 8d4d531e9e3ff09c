"""check_fused: the fused ops against the composed reference, for any configuration."""

import numpy as np

import engine
from engine import Tensor
from rnn.cells import CELL_KINDS, Cell, cell_parameters, kind_of
from rnn.fused.sequence import run_direction
from rnn.unroll import run_direction as composed_run_direction


def _cases(subject, input_size, hidden_size, bias, dtype, device, rng):
    """(label, kind, weights, reverse) for every direction ``subject`` has."""
    if isinstance(subject, str):
        if subject not in CELL_KINDS:
            raise ValueError(f"check_fused: kind must be one of {sorted(CELL_KINDS)}; got "
                             f"{subject!r}")
        kind = CELL_KINDS[subject]
        # drawn as the layers draw them, U(-1/sqrt(H), 1/sqrt(H)): larger weights make the
        # recurrence chaotic, where two correct float32 runs part by O(1) in a few steps
        params = cell_parameters(kind.gates, input_size, hidden_size, bias, rng=rng,
                                 dtype=dtype, device=device)
        weights = [params.get(name) for name in ("weight_ih", "weight_hh", "bias_ih",
                                                 "bias_hh")]
        return [(f"{subject} reverse={r}", kind, weights, r) for r in (False, True)]
    if isinstance(subject, Cell) and getattr(subject, "kind", None) in CELL_KINDS.values():
        name = type(subject).__name__
        return [(f"{name} reverse={r}", subject.kind, subject.weights(), r)
                for r in (False, True)]
    if hasattr(subject, "cell_function") and hasattr(subject, "weights"):
        kind = kind_of(subject.cell_function)
        if kind is None:
            raise ValueError(f"check_fused: {type(subject).__name__} runs "
                             f"{subject.cell_function.__name__}, which has no fused op")
        return [(f"{type(subject).__name__} layer {layer} direction {direction}", kind,
                 subject.weights(layer, direction), direction == 1)
                for layer in range(subject.num_layers)
                for direction in range(subject.num_directions)]
    raise TypeError("check_fused: expected an RNN/LSTM/GRU layer, a built-in cell or a kind "
                    f"({', '.join(CELL_KINDS)}); got {type(subject).__name__}")


def _run(direction, kind, x, state, weights, lengths, reverse, upstream):
    """Outputs and the gradients of sum(upstream * outputs) for one run, as NumPy arrays."""
    leaves = [x, *state, *(w for w in weights if w is not None)]
    for leaf in leaves:
        leaf.grad = None
    output, final = direction(kind.function, x, state[0] if len(state) == 1 else tuple(state),
                              weights, lengths, reverse)
    results = [output, *(final if isinstance(final, tuple) else (final,))]
    loss = sum((r * u).sum() for r, u in zip(results, upstream))
    loss.backward()
    grads = [leaf.grad.numpy() if leaf.grad is not None else np.zeros(leaf.shape)
             for leaf in leaves]
    return [r.numpy() for r in results] + grads


def check_fused(subject, *, seq_len=6, batch_size=3, input_size=4, hidden_size=5,
                lengths="random", bias=True, dtype="float64", device="cpu", seed=0,
                rtol=None, atol=None):
    """Compare the fused ops with the composed reference: outputs, final states and the
    gradients of x, of every state and of every weight, on random inputs and upstream
    gradients. Works on either backend.

    ``subject`` is an ``rnn.RNN`` / ``LSTM`` / ``GRU`` layer (each layer and direction is
    checked with its own weights, dtype and device; ``input_size`` / ``hidden_size`` /
    ``bias`` / ``dtype`` / ``device`` then come from it), a built-in cell (both
    directions), or a kind: ``"lstm"``, ``"gru"``, ``"rnn_tanh"``, ``"rnn_relu"``, whose
    weights are drawn as the layers draw theirs, from U(-1/sqrt(H), 1/sqrt(H)).
    ``lengths`` is ``"random"`` (drawn, one sequence full), None, or B ints.
    Tolerances default to rtol 1e-7, atol 1e-9 (float64) and rtol 1e-4, atol 1e-5
    (float32), on ``atol + rtol * max |composed|`` per quantity.

    Returns ``{quantity: max |fused - composed|}``; raises an AssertionError naming the
    worst quantity past its tolerance.

    >>> errors = check_fused("gru", seq_len=4, batch_size=2)
    >>> max(errors.values()) < 1e-12
    True
    """
    rng = np.random.default_rng(seed)
    if hasattr(subject, "parameters"):
        first = next(subject.parameters())
        dtype, device, hidden_size = first.dtype, first.device, subject.hidden_size
    cases = _cases(subject, input_size, hidden_size, bias, dtype, device, rng)
    dtype = np.dtype(dtype)
    rtol = rtol if rtol is not None else 1e-7 if dtype == np.float64 else 1e-4
    atol = atol if atol is not None else 1e-9 if dtype == np.float64 else 1e-5
    if isinstance(lengths, str):
        lengths = rng.integers(1, seq_len + 1, batch_size)
        lengths[rng.integers(batch_size)] = seq_len

    def draw(*shape):
        return engine.randn(*shape, rng=rng, dtype=dtype, device=device)

    errors, failures = {}, []
    for label, kind, weights, reverse in cases:
        weights = [None if w is None else Tensor(w.array, requires_grad=True) for w in weights]
        inputs, hidden = weights[0].shape[1], weights[1].shape[1]
        x = draw(seq_len, batch_size, inputs).requires_grad_()
        state = [draw(batch_size, hidden).requires_grad_() for _ in range(kind.states)]
        upstream = [draw(seq_len, batch_size, hidden)] + [draw(batch_size, hidden)
                                                          for _ in state]
        args = (kind, x, state, weights, lengths, bool(reverse), upstream)
        composed, fused = _run(composed_run_direction, *args), _run(run_direction, *args)
        names = ["output"] + [f"final {n}" for n in ("h", "c")][:len(state)] + ["grad x"]
        names += [f"grad {n}0" for n in ("h", "c")][:len(state)]
        names += [f"grad {n}" for n, w in zip(("w_ih", "w_hh", "b_ih", "b_hh"), weights)
                  if w is not None]
        for name, want, got in zip(names, composed, fused):
            error = float(np.abs(got - want).max())
            errors[f"{label}: {name}"] = error
            limit = atol + rtol * float(np.abs(want).max())
            if not error <= limit:
                failures.append((error / limit, f"{label}: {name}: max |fused - composed| "
                                                f"{error:.3g} > {limit:.3g}"))
    if failures:
        raise AssertionError(f"check_fused: {len(failures)} mismatches; worst: {max(failures)[1]}")
    return errors
