"""Forecasting the Mackey-Glass chaotic series, one step and many steps ahead.

The series comes from integrating the delay differential equation
    dx/dt = beta x(t - tau) / (1 + x(t - tau)^n) - gamma x(t),
with the standard chaotic parameters beta = 0.2, gamma = 0.1, n = 10, tau = 17
(Mackey & Glass 1977), by fourth-order Runge-Kutta with dt = 0.1 from a constant
history x = 1.2, sampled once per time unit after a transient. A tanh RNN, an
LSTM and a GRU learn to predict x(t + 1) from x(..t) on the first part of the
series (teacher forcing on random windows). On the held-out rest, from each of
a set of starting points, they read a context window, then forecast the next
steps: one step ahead (teacher-forced, each step reading the true series) and
many steps ahead (free-running: each prediction fed back in as the next input).
Persistence, x(t + h) = x(t), is the baseline. Errors are MSE on the
standardised series and NRMSE (RMSE divided by the held-out series' standard
deviation).

Expected (defaults: 3000 steps, under a minute on a 2-core CPU): one step ahead
all three models beat persistence by more than two orders of magnitude in MSE
(NRMSE about 0.01 against 0.146); free-running they stay below persistence for
tens of steps, though, trained with teacher forcing only, how far varies from
one evaluation to the next.

    python -m experiments.forecast
    python -m experiments.forecast --models lstm --steps 3000 --horizon 84
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
    sha256_of,
)

BETA, GAMMA, POWER, TAU = 0.2, 0.1, 10, 17.0


def mackey_glass(length, dt=0.1, transient=500, x0=1.2):
    """``length`` samples, one per time unit, of the Mackey-Glass series (float64)."""
    per_unit = round(1 / dt)
    delay = round(TAU / dt)  # the delayed value is ``delay`` grid steps back
    total = (transient + length) * per_unit
    x = np.empty(delay + total + 1)
    x[: delay + 1] = x0  # constant history up to t = 0

    def slope(now, delayed):
        return BETA * delayed / (1 + delayed**POWER) - GAMMA * now

    for i in range(delay, delay + total):
        lag, lag_next = x[i - delay], x[i - delay + 1]
        lag_mid = 0.5 * (lag + lag_next)  # x(t - tau + dt/2), linearly interpolated
        k1 = slope(x[i], lag)
        k2 = slope(x[i] + 0.5 * dt * k1, lag_mid)
        k3 = slope(x[i] + 0.5 * dt * k2, lag_mid)
        k4 = slope(x[i] + dt * k3, lag_next)
        x[i + 1] = x[i] + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x[delay + transient * per_unit + per_unit :: per_unit][:length]


def parser():
    p = base_parser("forecast", __doc__, steps=3000, hidden_size=32, batch_size=32, lr=3e-3,
                    clip=1.0, eval_every=100, checkpoint_every=500)
    p.add_argument("--length", type=integer(2), default=4000,
                   help="samples of the series, the first 75%% to train on (default: %(default)s)")
    p.add_argument("--window", type=integer(1), default=64,
                   help="steps per training window (default: %(default)s)")
    p.add_argument("--context", type=integer(1), default=64,
                   help="steps read before forecasting from a held-out point "
                        "(default: %(default)s)")
    p.add_argument("--horizon", type=integer(1), default=50,
                   help="steps forecast autoregressively (default: %(default)s)")
    p.add_argument("--eval-points", type=integer(1), default=64,
                   help="held-out starting points for the forecasts (default: %(default)s)")
    p.add_check(lengths_fit)
    return p


def lengths_fit(args):
    """None if a training window fits in the training part of the series and a context
    and horizon in the held-out part; else what does not fit."""
    split = int(0.75 * args.length)
    if args.window >= split:
        return (f"argument --window: expected fewer steps than the {split} training samples "
                f"of --length {args.length}, got {args.window}")
    if args.context + args.horizon > args.length - split:
        return (f"arguments --context and --horizon: expected at most the "
                f"{args.length - split} held-out samples of --length {args.length} together, "
                f"got {args.context} + {args.horizon}")
    return None


def main(argv=None):
    args = parser().parse_args(argv)
    raw = mackey_glass(args.length)
    split = int(0.75 * args.length)
    mean, std = raw[:split].mean(), raw[:split].std()
    series = ((raw - mean) / std).astype(np.float32)  # standardised with training statistics
    train, test = series[:split], series[split:]
    run = Run("forecast", args, data_sha256=sha256_of(raw),
              series={"beta": BETA, "gamma": GAMMA, "n": POWER, "tau": TAU, "dt": 0.1,
                      "train_samples": split, "test_samples": len(test)})
    models = {k: SequenceModel(k, 1, args.hidden_size, 1, rng=run.rng).to(run.device)
              for k in args.models}
    optimizers = {k: nn.optim.Adam(m.parameters(), lr=args.lr) for k, m in models.items()}

    span = args.context + args.horizon
    starts = np.linspace(0, len(test) - span, args.eval_points).astype(int)
    windows = np.stack([test[s : s + span] for s in starts], axis=1)[..., None]  # (C + H, P, 1)
    variance = float(test.var())

    def as_tensor(array):
        return engine.tensor(array, device=run.device)

    def make_batch(rng):
        begin = rng.integers(0, split - args.window, args.batch_size)
        chunk = np.stack([train[b : b + args.window + 1] for b in begin], axis=1)[..., None]
        return as_tensor(chunk[:-1]), as_tensor(chunk[1:])  # x(t), x(t + 1): (W, B, 1) each

    def loss_fn(model, batch):
        x, y = batch
        return nn.functional.mse_loss(model(x)[0], y)

    def free_run(model):
        """Forecasts (H, P): read the context, then feed each prediction back in."""
        out, state = model(as_tensor(windows[: args.context]))
        step = out[-1:]  # (1, P, 1), the forecast of the first held-out step
        predictions = [step.numpy()]
        for _ in range(args.horizon - 1):
            step, state = model(step, state)
            predictions.append(step.numpy())
        return np.concatenate(predictions)[..., 0]

    truth = windows[args.context :, :, 0]  # (H, P)
    persistence = ((truth - windows[args.context - 1, :, 0]) ** 2).mean(axis=1)  # (H,)

    def evaluate(model):
        predicted = model(as_tensor(windows[:-1]))[0].numpy()[args.context - 1 :]  # (H, P, 1)
        one_step = float(((predicted - windows[args.context :]) ** 2).mean())
        errors = ((free_run(model) - truth) ** 2).mean(axis=1)  # (H,)
        return {"one_step_mse": one_step, "horizon_mse": float(errors.mean())}

    run.train(models, optimizers, make_batch, loss_fn, evaluate)

    final = run.evaluate(models, evaluate)
    with engine.no_grad():
        forecasts = {k: free_run(model.eval()) for k, model in models.items()}  # (H, P) each
    errors = {k: ((f - truth) ** 2).mean(axis=1) for k, f in forecasts.items()}  # (H,) each
    one_step_persistence = float(((windows[args.context :] - windows[args.context - 1 : -1]) ** 2)
                                 .mean())
    shown = sorted({h for h in (1, 10, 25, 50, 84, args.horizon) if h <= args.horizon})
    result = {
        "one_step_mse": final["one_step_mse"],
        "one_step_nrmse": {k: (v / variance) ** 0.5 for k, v in final["one_step_mse"].items()},
        "persistence_one_step_mse": one_step_persistence,
        "persistence_one_step_nrmse": (one_step_persistence / variance) ** 0.5,
        "horizon_nrmse": {k: {str(h): float(errors[k][h - 1] / variance) ** 0.5 for h in shown}
                          for k in models},
        "persistence_horizon_nrmse": {str(h): float(persistence[h - 1] / variance) ** 0.5
                                      for h in shown},
        "horizon_mean_mse": final["horizon_mse"],
        "persistence_horizon_mean_mse": float(persistence.mean()),
    }
    run.finish(result)

    fig, axes = figure(ncols=3)
    draw(axes[0], {k: (run.metrics["step"], v) for k, v in run.metrics["loss"].items()},
         title="Training (one-step, teacher forced)", ylabel="MSE (log)", logy=True, smooth=20)
    horizons = np.arange(1, args.horizon + 1)
    draw(axes[1], {**{k: (horizons, (errors[k] / variance) ** 0.5) for k in models},
                   "persistence": (horizons, (persistence / variance) ** 0.5)},
         title="Free-running forecast", xlabel="steps ahead", ylabel="NRMSE (log)", logy=True,
         styles={"persistence": {"color": "gray", "linestyle": "--"}})
    times = np.arange(span) - args.context + 1  # step 1 is the first forecast
    draw(axes[2], {"series": (times, windows[:, 0, 0]),
                   **{k: (horizons, f[:, 0]) for k, f in forecasts.items()}},
         title="One held-out forecast", xlabel="steps from the forecast start",
         ylabel="x (standardised)", styles={"series": {"color": "black", "linewidth": 2.5}})
    save_figure(fig, run.out / "forecast.png")
    print(f"persistence: one-step NRMSE {result['persistence_one_step_nrmse']:.4f}")
    for k in models:
        print(f"{k:>11}: one-step NRMSE {result['one_step_nrmse'][k]:.4f}, "
              f"{args.horizon}-step NRMSE {result['horizon_nrmse'][k][str(args.horizon)]:.4f} "
              f"(persistence {result['persistence_horizon_nrmse'][str(args.horizon)]:.4f})")
    run.report()
    return result


if __name__ == "__main__":
    main()
