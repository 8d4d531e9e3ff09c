"""torch.backends.mps: Apple's GPUs are not supported here."""


def is_available():
    return False


def is_built():
    return False
