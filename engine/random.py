"""Random numbers: PyTorch's seeding functions over one default generator.

    Generator  default_generator  manual_seed  seed  initial_seed
    get_rng_state  set_rng_state  generator_of

Everything random in engine, nn and rnn (random factories, initialisation,
dropout) draws from a ``numpy.random.Generator`` on the CPU and then moves the
numbers, so one seed gives the same numbers on every device. It is the one a
call is given (``generator=`` an ``engine.Generator``, or ``rng=`` a NumPy
generator or an int seed) or else the default generator. As in PyTorch, the
default generator starts from a fixed seed, so a program gives the same numbers
run to run, and ``manual_seed(s)`` restarts it from ``s``.

    >>> manual_seed(0)  # doctest: +ELLIPSIS
    <engine.random.Generator object at ...>
    >>> a = generator_of(None).random(); _ = manual_seed(0)
    >>> a == generator_of(None).random()
    True
"""

import numpy as np

from engine import backend

DEFAULT_SEED = 67280421310721  # the seed PyTorch's default generator starts from


class Generator:
    """PyTorch's ``torch.Generator``: a seedable stream of random numbers.

    ``rng`` is the ``numpy.random.Generator`` (PCG64) it draws from; reseeding
    changes it in place, so whoever holds it sees the new stream.
    """

    def __init__(self, device="cpu"):
        self.device = backend.device(device)
        self.rng = np.random.default_rng(DEFAULT_SEED)
        self._seed = DEFAULT_SEED

    def manual_seed(self, seed):
        """Restart the stream from ``seed`` (an int); returns the generator."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"manual_seed: seed must be an int; got {seed!r}")
        seed = int(seed) % 2**64  # PyTorch takes negative seeds too
        self.rng.bit_generator.state = np.random.PCG64(seed).state
        self._seed = seed
        return self

    def seed(self):
        """Restart from a seed drawn from the OS; returns that seed."""
        seed = int(np.random.SeedSequence().entropy % 2**64)
        self.manual_seed(seed)
        return seed

    def initial_seed(self):
        """The seed the stream last started from."""
        return self._seed

    def get_state(self):
        """The full state (a dict), for ``set_state``."""
        return self.rng.bit_generator.state

    def set_state(self, state):
        self.rng.bit_generator.state = state
        return self


default_generator = Generator()


def manual_seed(seed):
    """Restart the default generator from ``seed``; returns it (PyTorch's ``torch.manual_seed``)."""
    return default_generator.manual_seed(seed)


def seed():
    """Reseed the default generator from the OS; returns the seed."""
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)


def generator_of(rng=None, generator=None):
    """The ``numpy.random.Generator`` to draw from, given a call's ``rng=`` (a NumPy generator,
    an ``engine.Generator`` or an int seed) or ``generator=`` (an ``engine.Generator``);
    the default generator's when neither is given."""
    if rng is not None and generator is not None:
        raise TypeError("give either rng= or generator=, not both")
    source = generator if generator is not None else rng
    if source is None:
        return default_generator.rng
    if isinstance(source, Generator):
        return source.rng
    if isinstance(source, np.random.Generator):
        return source
    if isinstance(source, (int, np.integer)) and not isinstance(source, bool):
        return np.random.default_rng(int(source))  # an int is a seed
    raise TypeError(
        "expected a random generator: an engine.Generator, a numpy.random.Generator, an int "
        f"seed or None; got {type(source).__name__}"
    )
