from nn import Module  # noqa: F401
