"""Vanishing and exploding gradients, seen: the norm of dL/dh_t against t.

For a loss read at the last step T of the adding problem (see adding.py), the
gradient with respect to the hidden state h_t is a product of T - t Jacobians
dh_{k+1}/dh_k. In a tanh RNN that product shrinks (or grows) geometrically with
T - t (Bengio et al. 1994; Pascanu et al. 2013). The additive cell update of the
LSTM and the interpolating update of the GRU let training open a path on which
it does not collapse. This script
plots ||dL/dh_t|| for t = 1..T for a tanh RNN, an LSTM and a GRU at
initialisation and after training on the adding problem, once with gradient
clipping and once without (each pair starts from the same weights and sees the
same batches), and the global gradient norm during training.

Expected (defaults: T = 50, 800 steps, about 20 seconds on a 2-core CPU): at
initialisation every model's gradient decays geometrically back in time (9 to 12
decades over 50 steps; the gates start half open), the tanh RNN's fastest;
after training the LSTM's (and its cell state's) and the GRU's are nearly flat
and they solve the task, while the RNN's falls 16 decades or more (34 with
clipping) and it does not; without clipping the RNN's training gradient norm
spikes far higher. The norms come from ``rnn.state_gradients``.

    python -m experiments.gradient_flow
    python -m experiments.gradient_flow --seq-len 100 --steps 2000
"""

import sys
from pathlib import Path

if not __package__:  # run as a file (python experiments/NAME.py): the repository on the path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import experiments  # noqa: F401  (first: it asks for one BLAS thread before NumPy loads)

import numpy as np

import nn
import rnn
from experiments.adding import BASELINE, as_tensors, last_step_mse, make_batch
from experiments.common import (
    Run,
    SequenceModel,
    base_parser,
    draw,
    figure,
    integer,
    save_figure,
)


def profiles(models, x, y):
    """{name: ||dL/dh_t|| curve}, plus {name + " c_t": ||dL/dc_t||} for an LSTM, L the
    batch-mean MSE read at step T, from ``rnn.state_gradients`` on each model's one-layer
    recurrent layer."""
    curves = {}
    for name, model in models.items():
        def loss(outputs, model=model):
            return nn.functional.mse_loss(model.head(outputs[-1]), y)

        norms = rnn.state_gradients(model.rnn, x, loss)
        for state, suffix in (("h", ""), ("c", " c_t")):
            if state in norms:
                curves[name + suffix] = norms[state].tolist()
    return curves


def parser():
    p = base_parser("gradient_flow", __doc__, steps=800, hidden_size=32, batch_size=64, lr=2e-2,
                    clip=1.0, eval_every=50, checkpoint_every=200)
    p.add_argument("--seq-len", type=integer(2), default=50,
                   help="T, the adding problem's sequence length (default: %(default)s)")
    p.add_argument("--probe-size", type=integer(1), default=256,
                   help="held-out sequences the gradients are measured on (default: %(default)s)")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    run = Run("gradient_flow", args, baseline_mse=BASELINE)
    models = {}
    for k in args.models:  # a clipped and an unclipped copy of each, from the same weights
        models[k] = SequenceModel(k, 2, args.hidden_size, 1, rng=run.rng).to(run.device)
        models[k + "_noclip"] = SequenceModel(k, 2, args.hidden_size, 1, rng=run.rng)
        models[k + "_noclip"].load_state_dict(models[k].state_dict())
        models[k + "_noclip"].to(run.device)
    optimizers = {k: nn.optim.Adam(m.parameters(), lr=args.lr) for k, m in models.items()}
    x, y = as_tensors(make_batch(run.eval_rng(), args.probe_size, args.seq_len), run.device)
    at_init = profiles({k: models[k] for k in args.models}, x, y)

    def evaluate(model):
        return {"mse": last_step_mse(model, (x, y)).item()}

    run.train(models, optimizers,
              lambda rng: as_tensors(make_batch(rng, args.batch_size, args.seq_len), run.device),
              last_step_mse, evaluate,
              clip={k: 0.0 if k.endswith("_noclip") else args.clip for k in models})

    clipped = profiles({k: models[k] for k in args.models}, x, y)
    unclipped = profiles({k: models[k + "_noclip"] for k in args.models}, x, y)
    final = run.evaluate(models, evaluate)
    result = {
        "grad_norm_at_init": at_init, "grad_norm_trained": clipped,
        "grad_norm_trained_noclip": unclipped,
        "first_over_last": {name: {k: g[0] / g[-1] for k, g in curves.items()} for name, curves
                            in (("at_init", at_init), ("trained", clipped),
                                ("trained_noclip", unclipped))},
        "test_mse": final["mse"], "baseline_mse": BASELINE,
    }
    run.finish(result)

    steps = np.arange(1, args.seq_len + 1)
    fig, axes = figure(ncols=2, nrows=2)
    panels = [("at initialisation", at_init),
              (f"after {run.step} steps, clipped at {args.clip}", clipped),
              (f"after {run.step} steps, no clipping", unclipped)]
    for ax, (title, curves) in zip(axes, panels):
        draw(ax, {k: (steps, g) for k, g in curves.items()}, title=f"||dL/dh_t|| {title}",
             xlabel="time step t (the loss is read at t = T)", ylabel="gradient norm (log)",
             logy=True, styles={k: {"linestyle": "--"} for k in curves if k.endswith("c_t")})
    draw(axes[3], {k: (run.metrics["step"], v) for k, v in run.metrics["grad_norm"].items()},
         title="Global gradient norm while training (before clipping)", ylabel="norm (log)",
         logy=True, smooth=10)
    save_figure(fig, run.out / "gradient_flow.png")
    ratios = result["first_over_last"]
    print("||dL/dh_1|| / ||dL/dh_T||, at initialisation -> trained (unclipped); test MSE:")
    for k in at_init:
        kind = k.split()[0]
        print(f"{k:>8}: {ratios['at_init'][k]:.1e} -> {ratios['trained'][k]:.1e} "
              f"({ratios['trained_noclip'][k]:.1e}); MSE {final['mse'][kind]:.4f} "
              f"({final['mse'][kind + '_noclip']:.4f})")
    run.report()
    return result


if __name__ == "__main__":
    main()
