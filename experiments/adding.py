"""The adding problem: a tanh RNN, an LSTM and a GRU trained side by side.

Reproduces the experiment of Hochreiter & Schmidhuber (1997), in the form of
Le et al. (2015) and Arjovsky et al. (2016): each sequence has T steps of two
inputs, a value drawn from U(0, 1) and a marker that is 1 at exactly two steps
(one in each half of the sequence) and 0 elsewhere. After the last step the
network must output the sum of the two marked values. Predicting the constant 1
gives MSE = Var(u1 + u2) = 1/6, the baseline; a model has solved the task when
its MSE is below 1% of the baseline.

Expected (defaults: T = 100, 2000 steps, one to two minutes on a 2-core CPU): the
GRU breaks through the baseline after about 200 steps and the LSTM after about
550; both end near MSE 3e-4 (0.2% of the baseline, solved), while the tanh RNN
sits on the baseline or above it, unable to carry the first marker's value across up to 100
steps (the vanishing gradient; see gradient_flow).

    python -m experiments.adding
    python -m experiments.adding --seq-len 200 --steps 4000
"""

import sys
from pathlib import Path

if not __package__:  # run as a file (python experiments/NAME.py): the repository on the path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import experiments  # noqa: F401  (first: it asks for one BLAS thread before NumPy loads)

import numpy as np

import engine
import nn
from experiments.common import (
    Run,
    SequenceModel,
    base_parser,
    draw,
    figure,
    integer,
    save_figure,
)

BASELINE = 1.0 / 6.0  # MSE of always answering 1, the mean of the target
SOLVED = 0.01 * BASELINE


def make_batch(rng, batch_size, seq_len):
    """Inputs x (T, B, 2) (value, marker) and targets y (B, 1), float32."""
    values = rng.uniform(0.0, 1.0, (seq_len, batch_size))
    first = rng.integers(0, seq_len // 2, batch_size)
    second = rng.integers(seq_len // 2, seq_len, batch_size)
    rows = np.arange(batch_size)
    markers = np.zeros((seq_len, batch_size))
    markers[first, rows] = 1.0
    markers[second, rows] = 1.0
    x = np.stack([values, markers], axis=-1).astype(np.float32)  # (T, B, 2)
    y = (values[first, rows] + values[second, rows])[:, None].astype(np.float32)  # (B, 1)
    return x, y


def as_tensors(batch, device):
    """A batch of arrays as Tensors on ``device``."""
    return [engine.tensor(a, device=device) for a in batch]


def last_step_mse(model, batch):
    """The MSE of the model's output after the last step: batch (x (T, B, 2), y (B, 1))."""
    x, y = batch
    return nn.functional.mse_loss(model(x)[0][-1], y)


def parser():
    p = base_parser("adding", __doc__, steps=2000, hidden_size=32, batch_size=64, lr=2e-2,
                    clip=1.0, eval_every=50, checkpoint_every=250)
    p.add_argument("--seq-len", type=integer(2), default=100,
                   help="T, the sequence length: a marker in each half (default: %(default)s)")
    p.add_argument("--eval-size", type=integer(1), default=500,
                   help="held-out sequences to measure MSE on (default: %(default)s)")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    run = Run("adding", args, baseline_mse=BASELINE)
    models = {k: SequenceModel(k, 2, args.hidden_size, 1, rng=run.rng).to(run.device)
              for k in args.models}
    optimizers = {k: nn.optim.Adam(m.parameters(), lr=args.lr) for k, m in models.items()}
    held_out = make_batch(run.eval_rng(), args.eval_size, args.seq_len)

    held_out = as_tensors(held_out, run.device)

    def evaluate(model):
        return {"mse": last_step_mse(model, held_out).item()}

    run.train(models, optimizers,  # each batch on the device once, for every model
              lambda rng: as_tensors(make_batch(rng, args.batch_size, args.seq_len), run.device),
              last_step_mse, evaluate)

    final = run.evaluate(models, evaluate)["mse"]
    result = {"baseline_mse": BASELINE, "test_mse": final,
              "test_mse_over_baseline": {k: v / BASELINE for k, v in final.items()},
              "solved": [k for k, v in final.items() if v < SOLVED]}
    run.finish(result)

    fig, (ax,) = figure()
    evals = run.metrics["eval"]
    curves = {k: (evals["step"], v) for k, v in evals.get("mse", {}).items()}
    draw(ax, curves, title=f"Adding problem, T = {args.seq_len}", ylabel="held-out MSE (log)",
         baseline=BASELINE, baseline_label="baseline 1/6", logy=True)
    ax.axhline(SOLVED, color="gray", linestyle=":", label="1% of baseline")
    ax.legend()
    save_figure(fig, run.out / "mse.png")
    for k, v in final.items():
        print(f"{k:>4}: test MSE {v:.5f} = {v / BASELINE:.2%} of the baseline"
              + ("  (solved)" if v < SOLVED else ""))
    run.report()
    return result


if __name__ == "__main__":
    main()
