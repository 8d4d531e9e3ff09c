from nn import LayerNorm  # noqa: F401
