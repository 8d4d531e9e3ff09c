"""dtypes: NumPy's dtype objects under PyTorch's names, and the default float dtype.

    float32 float  float64 double  float16 half  int64 long  int32 int  int16 short
    int8  uint8  bool
    get_default_dtype  set_default_dtype  as_dtype  is_floating_point

A dtype here IS a ``numpy.dtype``: ``engine.float32 == "float32" == np.float32``
and ``tensor.dtype == engine.long`` compare as they read, and every NumPy or
CuPy call takes them as they are. Python floats (and lists of them) become the
default dtype, float32 unless ``set_default_dtype`` says otherwise, as in PyTorch.
"""

import numpy as np

float16 = half = np.dtype("float16")
float32 = float = np.dtype("float32")
float64 = double = np.dtype("float64")
int8 = np.dtype("int8")
int16 = short = np.dtype("int16")
int32 = int = np.dtype("int32")
int64 = long = np.dtype("int64")
uint8 = np.dtype("uint8")
bool = np.dtype("bool")

_default = [float32]  # a list, so that set_default_dtype changes it in place


def get_default_dtype():
    """The dtype that Python floats become (float32 unless changed)."""
    return _default[0]


def set_default_dtype(dtype):
    """Make Python floats (and float factories without ``dtype=``) become ``dtype``.

    >>> set_default_dtype(float64); get_default_dtype()
    dtype('float64')
    >>> set_default_dtype(float32)
    """
    dtype = as_dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: only floating-point dtypes can be the default; "
                        f"got {dtype}")
    _default[0] = dtype


def as_dtype(dtype):
    """``dtype`` (None: the default float dtype; a name, a NumPy dtype or scalar type, a
    Python type) as a ``numpy.dtype``; a TypeError naming what came otherwise."""
    if dtype is None:
        return _default[0]
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"expected a dtype (e.g. engine.float32, 'int64'); got {dtype!r}") from None


def is_floating_point(dtype):
    return np.dtype(dtype).kind == "f"
