from nn import Embedding  # noqa: F401
