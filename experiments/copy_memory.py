"""The copy-memory task: a tanh RNN, an LSTM and a GRU trained side by side.

Reproduces the task of Hochreiter & Schmidhuber (1997) in the form of
Arjovsky et al. (2016): a sequence starts with 10 symbols drawn from {1..8},
then T - 1 blanks (0), a delimiter (9) and 10 more blanks; the network outputs
a blank at every step until the delimiter, then must repeat the 10 symbols.
A memoryless strategy (blanks, then a uniform guess among the 8 symbols) scores
the baseline cross-entropy 10 ln 8 / (T + 20), per step; beating it means
remembering symbols across T + 10 steps.

Expected (defaults: T = 10, 3000 steps, under two minutes on a 2-core CPU): the
GRU falls far below the baseline and recalls about 98% of the symbols; the LSTM
leaves the baseline late and slowly and recalls about 30%; the tanh RNN stays at the
baseline with chance accuracy (1/8) on the recalled symbols.

    python -m experiments.copy_memory
    python -m experiments.copy_memory --delay 20 --steps 4000
"""

import math
import sys
from pathlib import Path

if not __package__:  # run as a file (python experiments/NAME.py): the repository on the path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import experiments  # noqa: F401  (first: it asks for one BLAS thread before NumPy loads)

import numpy as np

import engine
import nn
import rnn
from experiments.common import (
    Run,
    SequenceModel,
    base_parser,
    draw,
    figure,
    integer,
    save_figure,
)
from experiments.plots import plot_gates

SYMBOLS, BLANK, DELIMITER, RECALL = 8, 0, 9, 10  # symbols are 1..8
CLASSES = SYMBOLS + 1  # outputs: blank or one of the symbols


def baseline(delay):
    """Cross-entropy per step of blanks-then-uniform-guess: 10 ln 8 / (T + 20)."""
    return RECALL * math.log(SYMBOLS) / (delay + 2 * RECALL)


def make_batch(rng, batch_size, delay):
    """One-hot inputs x (T + 20, B, 10) float32 and targets y (T + 20, B) int64."""
    length = delay + 2 * RECALL
    symbols = rng.integers(1, SYMBOLS + 1, (RECALL, batch_size))
    tokens = np.full((length, batch_size), BLANK)
    tokens[:RECALL] = symbols
    tokens[RECALL + delay - 1] = DELIMITER
    targets = np.full((length, batch_size), BLANK)
    targets[-RECALL:] = symbols
    x = np.eye(DELIMITER + 1, dtype=np.float32)[tokens]  # (T + 20, B, 10)
    return x, targets.astype(np.int64)


def tensors(x, y, device):
    """A batch as the models take it: inputs (T + 20, B, 9) and flat targets (T + 20) * B,
    Tensors on ``device``."""
    return engine.tensor(x, device=device), engine.tensor(y.reshape(-1), device=device)


def parser():
    p = base_parser("copy_memory", __doc__, steps=3000, hidden_size=64, batch_size=128, lr=2e-2,
                    clip=1.0, eval_every=100, checkpoint_every=500)
    p.add_argument("--delay", type=integer(1), default=10,
                   help="T, blanks between the symbols and their recall (default: %(default)s)")
    p.add_argument("--eval-size", type=integer(1), default=500,
                   help="held-out sequences for cross-entropy and accuracy (default: %(default)s)")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    base = baseline(args.delay)
    run = Run("copy_memory", args, baseline_cross_entropy=base)
    models = {k: SequenceModel(k, DELIMITER + 1, args.hidden_size, CLASSES, rng=run.rng)
              .to(run.device) for k in args.models}
    optimizers = {k: nn.optim.Adam(m.parameters(), lr=args.lr) for k, m in models.items()}
    x_test, y_test = make_batch(run.eval_rng(), args.eval_size, args.delay)
    held_out = tensors(x_test, y_test, run.device)

    def loss_of(logits, flat_targets):  # logits (T + 20, B, 9)
        return nn.functional.cross_entropy(logits.reshape(-1, CLASSES), flat_targets)

    def loss_fn(model, batch):
        x, flat = batch
        return loss_of(model(x)[0], flat)

    def evaluate(model):
        logits = model(held_out[0])[0]
        guess = logits.numpy()[-RECALL:].argmax(axis=-1)  # (10, B)
        return {"cross_entropy": loss_of(logits, held_out[1]).item(),
                "recall_accuracy": float((guess == y_test[-RECALL:]).mean())}

    run.train(models, optimizers,  # each batch on the device once, for every model
              lambda rng: tensors(*make_batch(rng, args.batch_size, args.delay), run.device),
              loss_fn, evaluate)

    final = run.evaluate(models, evaluate)
    result = {"baseline_cross_entropy": base, "chance_accuracy": 1 / SYMBOLS,
              "test_cross_entropy": final["cross_entropy"],
              "test_recall_accuracy": final["recall_accuracy"]}
    run.finish(result)

    evals = run.metrics["eval"]
    fig, axes = figure(ncols=2)
    draw(axes[0], {k: (evals["step"], v) for k, v in evals.get("cross_entropy", {}).items()},
         title=f"Copy memory, T = {args.delay}", ylabel="held-out cross-entropy per step",
         baseline=base, baseline_label="memoryless baseline")
    draw(axes[1], {k: (evals["step"], v) for k, v in evals.get("recall_accuracy", {}).items()},
         title="Accuracy on the 10 recalled symbols", ylabel="accuracy",
         baseline=1 / SYMBOLS, baseline_label="chance (1/8)")
    save_figure(fig, run.out / "copy_memory.png")
    if "lstm" in models:  # its input and forget gates while it reads, holds and recalls
        plot_gates(rnn.trace(models["lstm"].rnn, held_out[0][:, :3]), run.out / "gates_lstm.png",
                   gates=("i", "f"), sequences=(0, 1, 2),
                   phases={"hold": RECALL, "recall": RECALL + args.delay},
                   title=f"LSTM input and forget gates on 3 held-out sequences, T = {args.delay}")
    for k in models:
        print(f"{k:>4}: cross-entropy {final['cross_entropy'][k]:.4f} (baseline {base:.4f}), "
              f"recall accuracy {final['recall_accuracy'][k]:.1%}")
    run.report()
    return result


if __name__ == "__main__":
    main()
