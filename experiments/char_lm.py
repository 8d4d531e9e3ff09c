"""A character-level LSTM language model trained with truncated backpropagation through time.

Reproduces Karpathy's char-rnn (2015): one-hot characters in, a softmax over the next
character out, the training text cut into --batch-size parallel streams that are read
in chunks of --seq-len characters. The state is carried from one chunk to the next
(truncated BPTT: its values go on, its graph does not), so the model sees
context beyond a chunk while each backward pass stops at the chunk's start.

Data: by default the English prose of the Python reference that ships with every
Python (``pydoc_data.topics``, its values joined in sorted key order; it changes with
the Python version, so config.json records the version and the text's SHA-256);
``--data FILE`` trains on any UTF-8 text. The last 10% is held out.

Result: bits per character on the held-out text, beside the unigram baseline (the
held-out text coded with the training text's character frequencies), and samples
drawn at a few temperatures from a generator seeded by --seed, after the model has
read the start of the held-out text. Expected with the defaults (1,000 chunks, about a
minute and a half on a 2-core CPU): 1.91 bits/char against 4.67 for the unigram
baseline (Python 3.11's corpus), and samples with real words, Python names and the
reference's indented layout.

    python -m experiments.char_lm
    python -m experiments.char_lm --data book.txt --hidden-size 256 --steps 3000
"""

import functools
import hashlib
import math
import platform
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
    existing_file,
    figure,
    integer,
    number,
    save_figure,
)

LOG2 = math.log(2)


def load_text(path=None):
    """The corpus text and a description of where it came from."""
    if path is None:
        from pydoc_data.topics import topics

        text = "".join(topics[key] for key in sorted(topics))
        return text, f"pydoc_data.topics of Python {platform.python_version()}"
    return Path(path).read_bytes().decode("utf-8"), str(path)  # newlines as in the file


def unigram_bpc(train, test, vocab_size):
    """Bits/char of ``test`` under the character frequencies of ``train`` (add-one smoothed)."""
    counts = np.bincount(train, minlength=vocab_size) + 1.0
    return float(-np.log2(counts[test] / counts.sum()).mean())


class CharLM(SequenceModel):
    """A SequenceModel over one-hot characters that keeps the state carried between
    training chunks in buffers (``carried_h``, and ``carried_c`` for an LSTM), so the
    checkpoint holds it and a resumed run goes on from the very same state.

    Shapes: one-hot x (T, B, V) -> logits (T, B, V), and the final state.
    """

    def __init__(self, kind, vocab_size, hidden_size, num_layers, batch_size, *, rng):
        super().__init__(kind, vocab_size, hidden_size, vocab_size, num_layers=num_layers,
                         rng=rng)
        self.parts = ("h", "c") if kind == "lstm" else ("h",)
        for part in self.parts:
            self.register_buffer(f"carried_{part}", engine.zeros(num_layers, batch_size,
                                                                 hidden_size))

    def carried(self):
        state = tuple(getattr(self, f"carried_{part}") for part in self.parts)
        return state if len(state) == 2 else state[0]

    def carry(self, state):
        """Keep ``state``'s values, not its graph, for the next chunk."""
        for part, value in zip(self.parts, state if isinstance(state, tuple) else (state,)):
            getattr(self, f"carried_{part}").data = value.data

    def forget(self):
        """Start again from the zero state."""
        for part in self.parts:
            buffer = getattr(self, f"carried_{part}")
            buffer.data = buffer.data * 0


def one_hot(tokens, vocab_size, device):
    """Character ids (T, B) -> one-hot float32 Tensor (T, B, V) on ``device``."""
    return engine.tensor(_identity(vocab_size)[tokens], device=device)


@functools.cache
def _identity(size):
    """The (size, size) float32 identity, made once: its rows are the one-hot vectors."""
    return np.eye(size, dtype=np.float32)


def streams(ids, count):
    """``ids`` cut into ``count`` equal contiguous streams: (count, L)."""
    length = len(ids) // count
    return ids[: count * length].reshape(count, length)


def encode(text, vocab):
    """Character ids of ``text``: (N,) int64."""
    index = {ch: i for i, ch in enumerate(vocab)}
    return np.array([index[ch] for ch in text], dtype=np.int64)


@engine.no_grad()
def sample(model, vocab, prime, length, temperature, seed, device):
    """Continue ``prime`` (character ids) by ``length`` characters drawn one at a time at
    ``temperature``, from a generator seeded by (seed, 2), apart from training's."""
    rng = np.random.default_rng([seed, 2])
    logits, state = model(one_hot(prime[:, None], len(vocab), device))  # (P, 1, V)
    out = []
    for _ in range(length):
        scaled = logits.numpy()[-1, 0].astype(np.float64) / temperature  # (V,)
        p = np.exp(scaled - scaled.max())
        token = int(rng.choice(len(vocab), p=p / p.sum()))
        out.append(vocab[token])
        logits, state = model(one_hot([[token]], len(vocab), device), state)
    return "".join(out)


def parser():
    p = base_parser("char_lm", __doc__, steps=1000, models=["lstm"], hidden_size=256,
                    batch_size=32, lr=4e-3, clip=5.0, eval_every=100, checkpoint_every=100)
    add = p.add_argument
    add("--data", metavar="FILE", type=existing_file,
        help="UTF-8 text to train on (default: pydoc_data.topics)")
    add("--seq-len", type=integer(1), default=64,
        help="characters per chunk: how far back each backward pass reaches (default: %(default)s)")
    add("--num-layers", type=integer(1), default=1,
        help="stacked recurrent layers (default: %(default)s)")
    add("--eval-streams", type=integer(1), default=64,
        help="parallel streams the held-out text is read in (default: %(default)s)")
    add("--sample-chars", type=integer(0), default=400,
        help="characters per sample printed at the end (default: %(default)s)")
    add("--prime-chars", type=integer(1), default=200,
        help="held-out characters the model reads before sampling (default: %(default)s)")
    add("--temperatures", type=number(0), nargs="+", default=[0.5, 1.0],
        help="sampling temperatures (default: %(default)s)")
    return p


SAMPLING = ("sample_chars", "prime_chars", "temperatures")  # used after training only: a
# resumed run may change them and still ends as an uninterrupted run with them would


def main(argv=None):
    p = parser()
    args = p.parse_args(argv)
    try:
        text, source = load_text(args.data)
    except UnicodeDecodeError as error:
        p.error(f"argument --data: expected UTF-8 text, got {args.data!r} ({error})")
    vocab = sorted(set(text))
    V = len(vocab)
    ids = encode(text, vocab)
    split = int(0.9 * len(ids))
    train, test = ids[:split], ids[split:]
    train_streams = streams(train, args.batch_size)  # (B, L)
    chunks = (train_streams.shape[1] - 1) // args.seq_len
    if chunks < 1:
        p.error(f"arguments --batch-size and --seq-len: {len(train)} training characters are "
                f"too few for {args.batch_size} streams of {args.seq_len} + 1 characters")
    if len(test) < 2 * args.eval_streams:
        p.error(f"argument --eval-streams: expected at most {len(test) // 2} streams of two "
                f"or more of the {len(test)} held-out characters, got {args.eval_streams}")
    run = Run("char_lm", args, resume_may_change=SAMPLING, corpus=source,
              corpus_chars=len(text), vocab_size=V,
              corpus_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest())
    models = {k: CharLM(k, V, args.hidden_size, args.num_layers, args.batch_size, rng=run.rng)
              .to(run.device) for k in args.models}
    optimizers = {k: nn.optim.Adam(m.parameters(), lr=args.lr) for k, m in models.items()}

    def make_batch(rng):  # the chunk follows from the step: the streams are read in order
        chunk = run.step % chunks
        start = chunk * args.seq_len
        window = train_streams[:, start: start + args.seq_len + 1].T  # (T + 1, B)
        return chunk, one_hot(window[:-1], V, run.device), window[1:]  # x on the device once

    def cross_entropy(logits, targets):  # logits (T, B, V), targets (T, B) -> mean nats
        flat = engine.tensor(targets.reshape(-1), device=run.device)
        return nn.functional.cross_entropy(logits.reshape(-1, V), flat)

    def loss_fn(model, batch):
        chunk, x, y = batch
        if chunk == 0:  # back at the start of the streams: forget
            model.forget()
        logits, state = model(x, model.carried())
        model.carry(state)
        return cross_entropy(logits, y)

    def evaluate(model):
        """Bits/char over all of the held-out text, read in parallel streams."""
        data = streams(test, args.eval_streams)  # (S, L)
        state, total = None, 0.0
        for start in range(0, data.shape[1] - 1, args.seq_len):
            window = data[:, start: start + args.seq_len + 1].T  # (T + 1, S)
            logits, state = model(one_hot(window[:-1], V, run.device), state)
            total += cross_entropy(logits, window[1:]).item() * window[1:].size
        return {"bpc": total / (data.shape[0] * (data.shape[1] - 1)) / LOG2}

    run.train(models, optimizers, make_batch, loss_fn, evaluate)

    final = run.evaluate(models, evaluate)["bpc"]
    baseline = unigram_bpc(train, test, V)
    prime = test[: args.prime_chars]
    samples = {k: {str(t): sample(m, vocab, prime, args.sample_chars, t, args.seed, run.device)
                   for t in args.temperatures} for k, m in models.items()}
    result = {"test_bpc": final, "unigram_bpc": baseline,
              "sample_prime": "".join(vocab[i] for i in prime), "samples": samples}
    run.finish(result)

    fig, axes = figure(ncols=2)
    steps, losses = run.metrics["step"], run.metrics["loss"]
    draw(axes[0], {k: (steps, np.asarray(v) / LOG2) for k, v in losses.items()},
         title="Training chunks", ylabel="bits per character", smooth=20,
         baseline=baseline, baseline_label="unigram baseline")
    evals = run.metrics["eval"]
    draw(axes[1], {k: (evals["step"], v) for k, v in evals.get("bpc", {}).items()},
         title="Held-out text (last 10%)", ylabel="bits per character",
         baseline=baseline, baseline_label="unigram baseline")
    save_figure(fig, run.out / "bpc.png")
    for k in models:
        print(f"{k}: held-out {final[k]:.3f} bits/char (unigram baseline {baseline:.3f})")
        print(f"--- the model reads the held-out text's first {len(prime)} characters ---\n"
              + result["sample_prime"])
        for t, s in samples[k].items():
            print(f"--- and goes on, at temperature {t} ---\n{s}")
    run.report()
    return result


if __name__ == "__main__":
    main()
