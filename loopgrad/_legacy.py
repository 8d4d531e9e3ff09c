"""PyTorch's legacy tensor types, ``torch.FloatTensor`` ... ``torch.BoolTensor``.

Each is a constructor and an ``isinstance`` test: ``LongTensor([1, 2])`` and
``LongTensor(numpy_array)`` convert to int64, ``LongTensor(3)`` (ints only) makes a tensor
of that shape (zeros here; PyTorch leaves it uninitialised), and
``isinstance(x, LongTensor)`` asks whether ``x`` is an int64 Tensor.
"""

import numpy as np

import engine


class _TensorType(type):
    def __call__(cls, *args, device=None):
        if not args or all(isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                           for a in args):
            return engine.zeros(*args, dtype=cls.dtype, device=device)
        if len(args) != 1:
            raise TypeError(f"{cls.__name__}(): expected sizes (ints) or one sequence of data; "
                            f"got {len(args)} arguments")
        data = args[0]
        if isinstance(data, engine.Tensor):
            return data.to(dtype=cls.dtype)
        return engine.tensor(data, dtype=cls.dtype, device=device)

    def __instancecheck__(cls, obj):
        return isinstance(obj, engine.Tensor) and obj.dtype == cls.dtype


def _tensor_type(name, dtype):
    return _TensorType(name, (), {"dtype": dtype, "__module__": "loopgrad"})


FloatTensor = _tensor_type("FloatTensor", engine.float32)
DoubleTensor = _tensor_type("DoubleTensor", engine.float64)
HalfTensor = _tensor_type("HalfTensor", engine.float16)
LongTensor = _tensor_type("LongTensor", engine.int64)
IntTensor = _tensor_type("IntTensor", engine.int32)
ShortTensor = _tensor_type("ShortTensor", engine.int16)
CharTensor = _tensor_type("CharTensor", engine.int8)
ByteTensor = _tensor_type("ByteTensor", engine.uint8)
BoolTensor = _tensor_type("BoolTensor", engine.bool)
