"""The RNN against the Transformer, measured: the folk table of every introduction, on the
same tasks, with the same budget, at equal parameter counts.

Models: a tanh RNN, an LSTM and a GRU (each a recurrent layer and a linear read-out at
every step, experiments.common.SequenceModel) and a Transformer encoder (a linear
embedding, sinusoidal positions, rnn.TransformerEncoder, the same read-out). The
Transformer's size is set by the flags; each recurrent model gets the hidden size whose
parameter count is closest to the Transformer's (metrics.json records every count).
Every model sees the same batches, with Adam (--lr for the recurrent models,
--transformer-lr for the Transformer) and the gradient norm clipped at --clip.

Stages, each a folder of its own (its config, metrics, checkpoint: --resume goes on
from where each stage stopped):

    adding_T{T}   the adding problem (experiments.adding) at each of --adding-lengths:
                  held-out MSE against the 1/6 baseline; solved below 1% of it
    copy_T{T}     copy memory (experiments.copy_memory) at each of --copy-delays:
                  recall accuracy; solved at 99% and above
    lm            a character language model on char_lm's corpus, the Transformer causal
                  (each position sees itself and the past), --lm-steps steps on random
                  windows of --lm-seq-len characters: held-out bits per character at equal
                  steps (metrics.json) and at equal training time (timing.json)
    cost          time per training step and peak memory of one step (NumPy's
                  allocations, tracemalloc) at each of --cost-lengths, adding-problem
                  batches; both measurements of this process, so in timing.json

Result (defaults, seed 0, about five minutes on two CPU cores; experiments/README.md
has the table): the Transformer solves both memory tasks at every length within the
budget while the recurrent models fall behind as T grows; its step costs more than the
recurrent ones beyond a few dozen steps, its memory grows as T^2.

    python -m experiments.rnn_vs_transformer
    python -m experiments.rnn_vs_transformer --quick
    python -m experiments.rnn_vs_transformer --adding-lengths 400 --copy-delays 200 --steps 600
"""

import copy
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

if not __package__:  # run as a file (python experiments/NAME.py): the repository on the path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import experiments  # noqa: F401  (first: it asks for one BLAS thread before NumPy loads)

import numpy as np

import engine
import nn
import rnn
from experiments import adding, char_lm, copy_memory
from experiments.common import (
    Run,
    SequenceModel,
    base_parser,
    check_device,
    config,
    draw,
    existing_file,
    figure,
    integer,
    number,
    save_figure,
    write_json,
)

NAME = "rnn_vs_transformer"
RECURRENT = ("rnn", "lstm", "gru")
MODELS = (*RECURRENT, "transformer")
TASKS = ("adding", "copy", "lm", "cost")
COPY_SOLVED = 0.99  # recall accuracy
QUICK = dict(adding_lengths=[10, 20], copy_delays=[5, 10], steps=150, eval_every=25,
             checkpoint_every=50, eval_size=128, lm_steps=60, lm_eval_chars=4096,
             cost_lengths=[10, 20, 40], cost_repeats=1)


# ---------------------------------------------------------------- models


class TransformerModel(nn.Module):
    """A linear embedding, sinusoidal positions, a TransformerEncoder (post-norm, no
    dropout), a linear read-out at every step; causal: position t sees 0..t only.

    Shapes: x (T, B, I) -> y (T, B, O) (and None, where a recurrent model has its state).

    >>> model = TransformerModel(2, 8, 2, 1, 16, 1, causal=True, rng=np.random.default_rng(0))
    >>> model(engine.zeros(5, 3, 2))[0].shape
    (5, 3, 1)
    """

    def __init__(self, input_size, d_model, nhead, num_layers, dim_feedforward, output_size,
                 *, causal=False, max_len=5000, rng):
        super().__init__()
        self.causal = causal
        self.embed = nn.Linear(input_size, d_model, rng=rng)
        self.positions = rnn.PositionalEncoding(d_model, dropout=0.0, max_len=max_len)
        layer = rnn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout=0.0,
                                            rng=rng)
        self.encoder = rnn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, output_size, rng=rng)

    def forward(self, x, state=None):
        mask = rnn.generate_square_subsequent_mask(x.shape[0], device=x.device) \
            if self.causal else None
        hidden = self.encoder(self.positions(self.embed(x)), mask=mask, is_causal=self.causal)
        return self.head(hidden), None


def recurrent_parameters(kind, input_size, hidden_size, output_size):
    """The parameter count of SequenceModel(kind, I, H, O): gates G H (I + H) + 2 G H, head."""
    gates = {"rnn": 1, "gru": 3, "lstm": 4}[kind]
    H = hidden_size
    return gates * H * (input_size + H) + 2 * gates * H + H * output_size + output_size


def matched_hidden_size(kind, input_size, output_size, target):
    """The hidden size whose SequenceModel has the parameter count closest to ``target``."""
    return min(range(1, 2048), key=lambda H: abs(
        recurrent_parameters(kind, input_size, H, output_size) - target))


def count(model):
    return sum(p.numel() for p in model.parameters())


def make_models(args, input_size, output_size, rng, *, causal=False, max_len=5000,
                d_model=None, num_layers=None):
    """{name: model} for --models, parameter-matched to the Transformer, and their sizes."""
    d_model = d_model or args.hidden_size
    transformer = TransformerModel(input_size, d_model, args.nhead,
                                   num_layers or args.num_layers, 2 * d_model, output_size,
                                   causal=causal, max_len=max_len, rng=rng)
    target = count(transformer)
    models, sizes = {}, {}
    for kind in args.models:
        if kind == "transformer":
            models[kind], sizes[kind] = transformer, d_model
            continue
        sizes[kind] = matched_hidden_size(kind, input_size, output_size, target)
        models[kind] = SequenceModel(kind, input_size, sizes[kind], output_size, rng=rng)
    return models, sizes


def optimizers_for(models, args):
    return {k: nn.optim.Adam(m.parameters(), lr=args.transformer_lr if k == "transformer"
                             else args.lr) for k, m in models.items()}


# ---------------------------------------------------------------- stages


EVERY_STAGE_IGNORES = ("quick", "tasks", "adding_lengths", "copy_delays", "cost_lengths",
                       "cost_repeats")
LM_FLAGS = ("lm_steps", "lm_seq_len", "lm_d_model", "lm_layers", "lm_eval_chars", "data")


def stage_args(args, folder, steps, lm=False):
    """The flags of one stage: its own folder (config, metrics, checkpoint), its steps, and
    only the flags it reads, so that a stage resumes whatever the other stages' flags."""
    stage = copy.copy(args)
    stage.out, stage.steps = str(Path(args.out) / folder), steps
    unread = EVERY_STAGE_IGNORES + (("lm_steps", "eval_size", "hidden_size", "num_layers")
                                    if lm else LM_FLAGS)
    for name in unread:
        if hasattr(stage, name):
            delattr(stage, name)
    return stage


def first_solved(steps, values, solved):
    """The first evaluation step at which ``solved(value)``, or None."""
    return next((s for s, v in zip(steps, values) if solved(v)), None)


def run_adding(run, args, T, timings):
    """One adding-problem stage at length T: {model: results}, and the evaluation steps."""
    models, sizes = make_models(args, 2, 1, run.rng, max_len=T)
    models = {k: m.to(run.device) for k, m in models.items()}
    held_out = adding.as_tensors(adding.make_batch(run.eval_rng(), args.eval_size, T),
                                 run.device)

    def evaluate(model):
        return {"mse": adding.last_step_mse(model, held_out).item()}

    run.train(models, optimizers_for(models, args),
              lambda rng: adding.as_tensors(adding.make_batch(rng, args.batch_size, T),
                                            run.device),
              adding.last_step_mse, evaluate)
    final = run.evaluate(models, evaluate)["mse"]
    evals = run.metrics["eval"]
    result = {k: {"hidden_size": sizes[k], "parameters": count(models[k]),
                  "mse_over_baseline": final[k] / adding.BASELINE,
                  "steps_to_solve": first_solved(evals["step"], evals["mse"][k],
                                                 lambda v: v < adding.SOLVED),
                  "curve": [v / adding.BASELINE for v in evals["mse"][k]]}
              for k in models}
    run.finish(result)
    timings[f"adding_T{T}"] = dict(run.seconds)
    return result, evals["step"]


def run_copy(run, args, delay, timings):
    """One copy-memory stage with ``delay`` blanks: {model: results}, and the steps."""
    models, sizes = make_models(args, copy_memory.DELIMITER + 1, copy_memory.CLASSES, run.rng,
                                max_len=delay + 2 * copy_memory.RECALL)
    models = {k: m.to(run.device) for k, m in models.items()}
    x_test, y_test = copy_memory.make_batch(run.eval_rng(), args.eval_size, delay)
    held_out = copy_memory.tensors(x_test, y_test, run.device)
    classes, recall = copy_memory.CLASSES, copy_memory.RECALL

    def loss_fn(model, batch):
        x, flat = batch
        return nn.functional.cross_entropy(model(x)[0].reshape(-1, classes), flat)

    def evaluate(model):
        logits = model(held_out[0])[0]
        guess = logits.numpy()[-recall:].argmax(axis=-1)  # (10, B)
        return {"cross_entropy": nn.functional.cross_entropy(
                    logits.reshape(-1, classes), held_out[1]).item(),
                "recall_accuracy": float((guess == y_test[-recall:]).mean())}

    run.train(models, optimizers_for(models, args),
              lambda rng: copy_memory.tensors(*copy_memory.make_batch(rng, args.batch_size,
                                                                      delay), run.device),
              loss_fn, evaluate)
    final = run.evaluate(models, evaluate)
    evals = run.metrics["eval"]
    result = {k: {"hidden_size": sizes[k], "parameters": count(models[k]),
                  "recall_accuracy": final["recall_accuracy"][k],
                  "cross_entropy_over_baseline": (final["cross_entropy"][k]
                                                  / copy_memory.baseline(delay)),
                  "steps_to_solve": first_solved(evals["step"], evals["recall_accuracy"][k],
                                                 lambda v: v >= COPY_SOLVED),
                  "curve": evals["recall_accuracy"][k]}
              for k in models}
    run.finish(result)
    timings[f"copy_T{delay}"] = dict(run.seconds)
    return result, evals["step"]


def load_corpus(args):
    """char_lm's text as ids: (train, held-out, vocabulary size, where it came from)."""
    text, source = char_lm.load_text(args.data)
    vocab = sorted(set(text))
    ids = char_lm.encode(text, vocab)
    split = int(0.9 * len(ids))
    train, test = ids[:split], ids[split: split + args.lm_eval_chars + 1]
    if len(train) <= args.lm_seq_len + 1 or len(test) <= args.lm_seq_len + 1:
        raise SystemExit(f"error: the corpus ({len(ids)} characters) is too short for "
                         f"--lm-seq-len {args.lm_seq_len}")
    return train, test, len(vocab), source


def run_lm(run, args, corpus, timings):
    """The character language model stage: held-out bits/char at equal steps; the
    training seconds at each evaluation go to ``timings`` (equal time)."""
    train, test, V, _ = corpus
    T = args.lm_seq_len
    models, sizes = make_models(args, V, V, run.rng, causal=True, max_len=T,
                                d_model=args.lm_d_model, num_layers=args.lm_layers)
    models = {k: m.to(run.device) for k, m in models.items()}
    names = {id(m): k for k, m in models.items()}
    windows = test[: (len(test) - 1) // T * T + 1]
    x_test = windows[:-1].reshape(-1, T).T  # (T, W): held-out windows, each from scratch
    y_test = windows[1:].reshape(-1, T).T
    seen = {k: [] for k in models}  # training seconds at each evaluation

    def batch_of(starts):
        window = np.stack([train[s: s + T + 1] for s in starts], axis=1)  # (T + 1, B)
        return char_lm.one_hot(window[:-1], V, run.device), window[1:]

    def cross_entropy(logits, targets):
        flat = engine.tensor(targets.reshape(-1), device=run.device)
        return nn.functional.cross_entropy(logits.reshape(-1, V), flat)

    def loss_fn(model, batch):
        x, y = batch
        return cross_entropy(model(x)[0], y)

    def evaluate(model):
        seen[names[id(model)]].append(run.seconds.get(names[id(model)], 0.0))
        logits = model(char_lm.one_hot(x_test, V, run.device))[0]
        return {"bpc": cross_entropy(logits, y_test).item() / char_lm.LOG2}

    run.train(models, optimizers_for(models, args),
              lambda rng: batch_of(rng.integers(0, len(train) - T - 1, args.batch_size)),
              loss_fn, evaluate)
    final = run.evaluate(models, evaluate)["bpc"]
    evals = run.metrics["eval"]
    result = {k: {"hidden_size": sizes[k], "parameters": count(models[k]), "bpc": final[k],
                  "curve": evals["bpc"][k]} for k in models}
    result["unigram_bpc"] = char_lm.unigram_bpc(train, test, V)
    run.finish(result)
    timings["lm"] = dict(run.seconds)
    timings["lm_seconds_at_evals"] = {k: v[: len(evals["step"])] for k, v in seen.items()}
    timings["lm_bpc_at_equal_time"] = equal_time(evals["step"], evals["bpc"], seen,
                                                 run.seconds)
    return result, evals["step"]


def equal_time(steps, curves, seen, seconds):
    """Each model's held-out bpc after as many training seconds as the fastest model
    trained in all (linear in time between its evaluations): {"seconds": t, model: bpc}."""
    if not seconds or not steps:
        return {}
    budget = min(seconds.values())
    out = {"seconds": budget}
    for k, curve in curves.items():
        times = seen[k][: len(curve)]
        out[k] = float(np.interp(budget, times, curve)) if len(times) == len(curve) else None
    return out


# ---------------------------------------------------------------- cost


def training_step(model, x, y):
    """One forward and backward pass of the adding loss; the gradients are dropped."""
    model.zero_grad()
    adding.last_step_mse(model, (x, y)).backward()


def measure_cost(args, device):
    """Per model and length: median seconds of a training step (timing) and the peak
    bytes NumPy allocated during one (tracemalloc, on the CPU)."""
    rng = np.random.default_rng(args.seed)
    seconds, peak = {}, {}
    for T in args.cost_lengths:
        models, _ = make_models(args, 2, 1, np.random.default_rng(args.seed), max_len=T)
        x, y = adding.make_batch(rng, args.batch_size, T)
        for k, model in models.items():
            batch = adding.as_tensors((x, y), device)
            model.to(device)
            times = []
            for _ in range(args.cost_repeats + 1):  # one warm-up
                tic = time.perf_counter()
                training_step(model, *batch)
                if device != "cpu":
                    engine.backend.get_cupy().cuda.Device().synchronize()
                times.append(time.perf_counter() - tic)
            seconds.setdefault(k, {})[T] = statistics.median(times[1:])
            model.to("cpu")
            cpu_batch = adding.as_tensors((x, y), "cpu")
            tracemalloc.start()
            training_step(model, *cpu_batch)
            peak.setdefault(k, {})[T] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    return seconds, peak


# ---------------------------------------------------------------- plots and table


def log_lengths(ax, lengths):
    """A log x axis labelled at the lengths themselves."""
    from matplotlib.ticker import NullLocator

    ax.set_xscale("log")
    ax.set_xticks(lengths, [str(T) for T in lengths])
    ax.xaxis.set_minor_locator(NullLocator())


def plot(out, args, summary, cost_seconds, memory):
    fig, axes = figure(ncols=2, nrows=2)
    styles = {"transformer": {"linestyle": "--", "marker": "o"}}
    for ax, task, key, label, floor in (
            (axes[0], "adding", "mse_over_baseline", "held-out MSE / baseline (log)", 1e-5),
            (axes[1], "copy", "recall_accuracy", "1 - recall accuracy (log; 0 at 1e-3)", 1e-3)):
        results = summary.get(task, {})
        if not results:
            ax.set_visible(False)
            continue
        lengths = sorted(results, key=int)
        curves = {}
        for k in args.models:
            values = [results[T][k][key] for T in lengths]
            if task == "copy":
                values = [1 - v for v in values]
            curves[k] = ([int(T) for T in lengths], [max(v, floor) for v in values])
        draw(ax, curves, title=f"{task}: error after {args.steps} steps", ylabel=label,
             xlabel="T (log)", logy=True, styles=styles)
        log_lengths(ax, [int(T) for T in lengths])
    if cost_seconds:
        lengths = args.cost_lengths
        draw(axes[2], {k: (lengths, [1e3 * v[T] for T in lengths])
                       for k, v in cost_seconds.items()},
             title="time per training step (log-log)", ylabel="milliseconds", xlabel="T",
             logy=True, styles=styles)
        log_lengths(axes[2], lengths)
        draw(axes[3], {k: (lengths, [v[T] / 2**20 for T in lengths]) for k, v in memory.items()},
             title="peak memory of a training step (log-log)", ylabel="MiB", xlabel="T",
             logy=True, styles=styles)
        log_lengths(axes[3], lengths)
    else:
        axes[2].set_visible(False)
        axes[3].set_visible(False)
    save_figure(fig, out / "length.png")
    if "lm" in summary:
        fig, (ax,) = figure()
        lm = summary["lm"]
        draw(ax, {k: (lm["steps"], lm[k]["curve"]) for k in args.models},
             title="character LM, held-out", ylabel="bits per character",
             baseline=lm["unigram_bpc"], baseline_label="unigram", styles=styles)
        save_figure(fig, out / "lm.png")


def table(args, summary, cost_seconds, memory):
    """The printed table: one row per model."""
    lines = []
    header = ["model", "params"]
    header += [f"adding T={T}" for T in summary.get("adding", {})]
    header += [f"copy T={T}" for T in summary.get("copy", {})]
    header += ["LM bpc"] * ("lm" in summary)
    header += [f"ms/step T={T}" for T in args.cost_lengths] if cost_seconds else []
    header += [f"MiB T={T}" for T in args.cost_lengths] if cost_seconds else []
    lines.append(" | ".join(header))
    for k in args.models:
        row = [k]
        params = [r[k]["parameters"] for task in ("adding", "copy") for r in
                  summary.get(task, {}).values()][:1]
        row.append(str(params[0]) if params else "-")
        for r in summary.get("adding", {}).values():
            solved = r[k]["steps_to_solve"]
            row.append(f"{r[k]['mse_over_baseline']:.2%}" + (f" ({solved})" if solved else ""))
        for r in summary.get("copy", {}).values():
            solved = r[k]["steps_to_solve"]
            row.append(f"{r[k]['recall_accuracy']:.1%}" + (f" ({solved})" if solved else ""))
        if "lm" in summary:
            row.append(f"{summary['lm'][k]['bpc']:.3f}")
        if cost_seconds:
            row += [f"{1e3 * cost_seconds[k][T]:.1f}" for T in args.cost_lengths]
            row += [f"{memory[k][T] / 2**20:.1f}" for T in args.cost_lengths]
        lines.append(" | ".join(row))
    return lines


# ---------------------------------------------------------------- main


def parser():
    p = base_parser(NAME, __doc__, steps=300, hidden_size=32, batch_size=32, lr=1e-2,
                    clip=1.0, eval_every=50, checkpoint_every=100)
    for action in p._actions:  # the shared --models flag, with the Transformer added
        if action.dest == "models":
            action.choices, action.default = MODELS, list(MODELS)
            action.help = "which models to train side by side (default: %(default)s)"
        if action.dest == "hidden_size":
            action.help = ("d_model of the Transformer on the memory tasks; each recurrent "
                           "model gets the hidden size that matches its parameter count "
                           "(default: %(default)s)")
    add = p.add_argument
    add("--quick", action="store_true",
        help="a short run (under a minute): short sequences, few steps")
    add("--tasks", nargs="+", choices=TASKS, default=list(TASKS),
        help="which stages to run (default: %(default)s)")
    add("--adding-lengths", type=integer(2), nargs="+", default=[25, 50, 100, 200], metavar="T",
        help="sequence lengths of the adding problem (default: %(default)s)")
    add("--copy-delays", type=integer(1), nargs="+", default=[10, 20, 40, 80], metavar="T",
        help="blanks between the symbols and their recall (default: %(default)s)")
    add("--eval-size", type=integer(1), default=256,
        help="held-out sequences of the memory tasks (default: %(default)s)")
    add("--transformer-lr", type=number(0), default=3e-3,
        help="Adam learning rate of the Transformer (default: %(default)s)")
    add("--nhead", type=integer(1), default=4, help="attention heads (default: %(default)s)")
    add("--num-layers", type=integer(1), default=1,
        help="Transformer layers on the memory tasks (default: %(default)s)")
    add("--lm-steps", type=integer(1), default=400,
        help="language-model steps (default: %(default)s)")
    add("--lm-seq-len", type=integer(1), default=64,
        help="characters per language-model window (default: %(default)s)")
    add("--lm-d-model", type=integer(1), default=64,
        help="d_model of the language-model Transformer (default: %(default)s)")
    add("--lm-layers", type=integer(1), default=2,
        help="layers of the language-model Transformer (default: %(default)s)")
    add("--lm-eval-chars", type=integer(2), default=8192,
        help="held-out characters the bits/char are measured on (default: %(default)s)")
    add("--data", metavar="FILE", type=existing_file,
        help="UTF-8 text for the language model (default: char_lm's corpus, pydoc_data.topics)")
    add("--cost-lengths", type=integer(2), nargs="+", default=[25, 50, 100, 200, 400], metavar="T",
        help="lengths at which a training step is timed and its memory measured "
        "(default: %(default)s)")
    add("--cost-repeats", type=integer(1), default=3,
        help="timed steps per length and model, after one warm-up (default: %(default)s)")
    return p


def parse(argv):
    p = parser()
    args = p.parse_args(argv)
    if args.quick:  # the quick defaults; flags given explicitly still win
        p.set_defaults(**QUICK, out=f"results/{NAME}_quick")
        args = p.parse_args(argv)
    if args.hidden_size % args.nhead or args.lm_d_model % args.nhead:
        raise SystemExit(f"error: --hidden-size {args.hidden_size} and --lm-d-model "
                         f"{args.lm_d_model} must be multiples of --nhead {args.nhead}")
    if "transformer" not in args.models:
        raise SystemExit("error: --models must include transformer: the recurrent models "
                         "are sized to match its parameter count")
    return args


def main(argv=None):
    args = parse(argv)
    device = check_device(args.device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    stages = []  # every stage's Run made first: a --resume it refuses stops all before work
    for task, lengths, key in (("adding", args.adding_lengths, "seq_len"),
                               ("copy", args.copy_delays, "delay")):
        if task in args.tasks:
            stages += [(task, T, Run(NAME, stage_args(args, f"{task}_T{T}", args.steps),
                                     task=task, **{key: T})) for T in lengths]
    if "lm" in args.tasks:
        corpus = load_corpus(args)
        stages.append(("lm", None, Run(NAME, stage_args(args, "lm", args.lm_steps, lm=True),
                                       task="lm", corpus=corpus[3], vocab_size=corpus[2])))
    write_json(out / "config.json", config(NAME, args))
    summary, timings = {}, {}
    for task, T, run in stages:
        if task == "lm":
            result, steps = run_lm(run, args, corpus, timings)
            summary["lm"] = dict(result, steps=steps)
            continue
        result, steps = (run_adding if task == "adding" else run_copy)(run, args, T, timings)
        summary.setdefault(task, {})[str(T)] = result
        summary.setdefault("eval_steps", {})[task] = steps
    cost_seconds = memory = {}
    if "cost" in args.tasks:
        cost_seconds, memory = measure_cost(args, device)
        timings["seconds_per_step"], timings["peak_bytes_per_step"] = cost_seconds, memory
        transformer = cost_seconds["transformer"]
        timings["transformer_step_over"] = {  # > 1: the Transformer's step is the slower
            k: {T: transformer[T] / v[T] for T in args.cost_lengths}
            for k, v in cost_seconds.items() if k != "transformer"}
    write_json(out / "metrics.json", summary)
    timings["wall_seconds"] = time.perf_counter() - started
    write_json(out / "timing.json", timings)
    plot(out, args, summary, cost_seconds, memory)
    for line in table(args, summary, cost_seconds, memory):
        print(line)
    for k, ratios in timings.get("transformer_step_over", {}).items():
        print(f"Transformer step / {k} step: " + ", ".join(f"T={T}: {r:.2f}"
                                                             for T, r in ratios.items()))
    if "lm" in timings:
        print("LM bits/char at equal training time:", {
            k: (round(v, 3) if isinstance(v, float) else v)
            for k, v in timings["lm_bpc_at_equal_time"].items()})
    print(f"results in {out} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return summary


if __name__ == "__main__":
    main()
