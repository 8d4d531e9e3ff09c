"""Bad input fails early and says what was expected and what came: the op, the shapes,
the dtypes or devices, and (for a missing GPU) what to install."""

import sys

import numpy as np
import pytest

import engine
from engine import backend, tensor


def leaf(*shape):
    return tensor(np.ones(shape, dtype=np.float32), requires_grad=True)


# Each case: the call, the error type, the words its message must contain (a regex).
SHAPE_ERRORS = {
    "matmul": (lambda: leaf(2, 3) @ leaf(4, 2), ValueError,
               r"matmul: shapes \(2, 3\) and \(4, 2\) do not align"),
    "matmul vector": (lambda: leaf(3) @ leaf(4), ValueError, r"matmul.*\(3,\).*\(4,\)"),
    "matmul scalar": (lambda: engine.matmul(leaf(), leaf(2)), ValueError,
                      r"matmul.*at least 1 dimension.*\(\).*\(2,\)"),
    "matmul batch": (lambda: leaf(2, 1, 3) @ leaf(3, 3, 1), ValueError,
                     r"MatMul.*\(2, 1, 3\), \(3, 3, 1\)"),
    "add": (lambda: leaf(2, 3) + leaf(4), ValueError, r"Add.*\(2, 3\), \(4,\)"),
    "mul": (lambda: leaf(2) * leaf(3), ValueError, r"Mul.*\(2,\), \(3,\)"),
    "where": (lambda: engine.where(tensor([True, False]), leaf(3), 0.0), ValueError,
              r"Where.*\(2,\), \(3,\)"),
    "reshape": (lambda: leaf(2, 3).reshape(4), ValueError, r"Reshape.*size 6.*\(2, 3\)"),
    "broadcast_to": (lambda: leaf(3).broadcast_to((2, 4)), ValueError, r"BroadcastTo.*\(3,\)"),
    "concatenate": (lambda: engine.concatenate([leaf(2, 3), leaf(2, 4)], axis=0), ValueError,
                    r"Concatenate.*\(2, 3\), \(2, 4\)"),
    "stack": (lambda: engine.stack([leaf(2), leaf(3)]), ValueError, r"stack.*\(2,\), \(3,\)"),
    "index": (lambda: leaf(2, 3)[5], IndexError, r"GetItem.*out of bounds.*\(2, 3\)"),
    "index array": (lambda: leaf(3)[np.array([0, 3])], IndexError, r"GetItem.*\(3,\)"),
    "mask": (lambda: leaf(3)[np.array([True, False])], IndexError, r"GetItem.*\(3,\)"),
    "too many indices": (lambda: leaf(3)[0, 0], IndexError, r"GetItem.*\(3,\)"),
    "sum axis": (lambda: leaf(2, 3).sum(axis=2), ValueError, r"sum: axis 2.*2 dimensions"),
    "repeated axis": (lambda: leaf(2, 3).max(axis=(0, -2)), ValueError, "max: repeated axis"),
    "transpose": (lambda: leaf(2, 3).transpose(0, 2, 1), TypeError,
                  r"transpose: give two dims to swap, or one permutation; got \(0, 2, 1\)"),
    "permute": (lambda: leaf(2, 3).permute(0, 2, 1), ValueError,
                r"permute: axes \(0, 2, 1\).*\(2, 3\)"),
    "transpose dims": (lambda: leaf(2, 3).transpose(0, 5), ValueError,
                       r"axis 5 is out of range.*2 dimensions"),
    "squeeze axis": (lambda: leaf(2, 3).squeeze(axis=0), ValueError,
                     r"squeeze: axis 0 of shape \(2, 3\)"),
    "split": (lambda: engine.split(leaf(5), [2, 2]), ValueError,
              r"split: sizes \[2, 2\].*\(5,\)"),
    "clip": (lambda: leaf(2).clip(), ValueError, "clamp: give at least one"),
    "float dtypes": (lambda: leaf(2) + tensor(np.ones(2)), TypeError,
                     "Add: .*float32 and float64"),
    "float dtypes matmul": (lambda: leaf(2, 2) @ tensor(np.ones((2, 2))), TypeError,
                            "MatMul: .*float32 and float64"),
    "float dtypes concatenate": (lambda: engine.concatenate([leaf(2), tensor(np.ones(2))]),
                                 TypeError, "Concatenate: .*float32 and float64"),
    "where condition": (lambda: engine.where(leaf(2), leaf(2), leaf(2)), TypeError,
                        "where: condition must be bool; got float32"),
    "no tensor": (lambda: engine.add(1.0, 2.0), TypeError, "at least one Tensor"),
    # PyTorch's grammar: each op checks what PyTorch checks, before any work
    "mm": (lambda: engine.mm(leaf(2, 3), leaf(3)), ValueError,
           r"mm: expected two matrices.*\(2, 3\) and \(3,\)"),
    "bmm": (lambda: engine.bmm(leaf(2, 2, 3), leaf(3, 3, 2)), ValueError,
            r"bmm: the batch sizes differ.*\(2, 2, 3\) and \(3, 3, 2\)"),
    "mv": (lambda: leaf(2, 3).mv(leaf(3, 1)), ValueError, r"mv: expected a matrix.*\(3, 1\)"),
    "dot": (lambda: engine.dot(leaf(2), leaf(3)), ValueError, r"dot: .*length.*\(2,\).*\(3,\)"),
    "outer": (lambda: engine.outer(leaf(2, 1), leaf(3)), ValueError, r"outer: .*\(2, 1\)"),
    "expand": (lambda: leaf(2, 3).expand(2, 4), ValueError,
               r"expand: the expanded size 4 must match the existing size 3.*dimension 1"),
    "expand leading -1": (lambda: leaf(3).expand(-1, 3), ValueError, "expand: -1 .*leading"),
    "repeat": (lambda: leaf(2, 3).repeat(2), ValueError, r"repeat: .*\(2, 3\).*\[2\]"),
    "narrow": (lambda: leaf(5).narrow(0, 4, 2), ValueError, r"narrow: start \(4\) \+ length"),
    "unflatten": (lambda: leaf(2, 12).unflatten(1, (5, -1)), ValueError,
                  r"unflatten: sizes \[5, -1\].*\(12\)"),
    "topk": (lambda: leaf(5).topk(6), IndexError, "topk: k=6 is out of range"),
    "gather dims": (lambda: leaf(2, 3).gather(1, tensor([0, 1])), ValueError,
                    r"gather: index must have as many dimensions.*\(2,\).*\(2, 3\)"),
    "gather bounds": (lambda: leaf(2, 3).gather(1, tensor([[0], [5]])), IndexError,
                      "gather: index 5 is out of bounds for dimension 1 with size 3"),
    "gather float index": (lambda: leaf(2, 3).gather(1, leaf(2, 1)), TypeError,
                           "gather: index must be an integer tensor; got float32"),
    "index_select": (lambda: leaf(2, 3).index_select(1, tensor([[0]])), IndexError,
                     r"index_select: index must be a vector.*\(1, 1\)"),
    "index_select bounds": (lambda: leaf(2, 3).index_select(0, tensor([-1])), IndexError,
                            "index_select: index -1 is out of bounds"),
    "masked_fill mask": (lambda: leaf(2).masked_fill(tensor([1, 0]), 0.0), TypeError,
                         "masked_fill: mask must be a bool tensor; got int64"),
    "masked_fill value": (lambda: leaf(2).masked_fill(tensor([True, False]), leaf(1)),
                          ValueError, r"masked_fill: value must be .*0-d.*\(1,\)"),
    "masked_select": (lambda: leaf(2).masked_select(tensor([1, 0])), TypeError,
                      "masked_select: mask must be a bool tensor"),
    "einsum operands": (lambda: engine.einsum("ij,jk->ik", leaf(2, 3)), ValueError,
                        "einsum: the equation 'ij,jk->ik' has 2 operands; got 1"),
    "einsum sizes": (lambda: engine.einsum("ij,jk->ik", leaf(2, 3), leaf(4, 2)), ValueError,
                     r"einsum: subscript j has size 4 .*\(4, 2\).*size 3"),
    "einsum subscripts": (lambda: engine.einsum("ijk", leaf(2, 3)), ValueError,
                          r"einsum: subscripts 'ijk' do not fit .*\(2, 3\)"),
    "einsum output": (lambda: engine.einsum("ij->k", leaf(2, 3)), ValueError,
                      "einsum: output subscript k"),
    "tril": (lambda: engine.tril(leaf(3)), ValueError, r"tril: .*2 dimensions.*\(3,\)"),
    "bitwise on floats": (lambda: leaf(2) & leaf(2), TypeError,
                          "bitwise_and: needs integer or bool tensors; got float32"),
    "norm of integers": (lambda: tensor([1, 2]).norm(), TypeError, "norm: needs a float"),
    "norm nuc": (lambda: leaf(2, 2).norm("nuc"), NotImplementedError, "norm: p='nuc'"),
    "cumsum without dim": (lambda: engine.cumsum(leaf(2)), TypeError, "cumsum: give dim"),
    "var both": (lambda: leaf(3).var(0, True, correction=0), TypeError,
                 "var: give unbiased or correction"),
    "max of several dims": (lambda: leaf(2, 3).max(dim=(0, 1)), TypeError,
                            "max: dim must be an int; for several dims use amax"),
    "div rounding_mode": (lambda: leaf(2).div(2, rounding_mode="up"), ValueError,
                          "div: rounding_mode must be"),
    "repeat_interleave": (lambda: leaf(3).repeat_interleave(tensor([1, 2])), ValueError,
                          r"repeat_interleave: repeats must be one count or 3"),
}


@pytest.mark.parametrize("case", SHAPE_ERRORS.values(), ids=SHAPE_ERRORS.keys())
def test_error_names_the_op_and_what_came(case):
    call, error, message = case
    with pytest.raises(error, match=message):
        call()


def test_nothing_is_recorded_when_an_op_fails():
    x = leaf(2, 3)
    with pytest.raises(ValueError):
        x + leaf(4)
    y = x.sum()  # the failed op left no trace: this graph has one node
    assert y._ctx.parents == (x,)
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 3)))


@pytest.fixture
def without_cupy(monkeypatch):
    """``import cupy`` fails (whether or not this machine has it) while the test runs."""
    monkeypatch.setitem(sys.modules, "cupy", None)
    backend._import_cupy.cache_clear()
    yield
    backend._import_cupy.cache_clear()


def test_cuda_without_cupy_says_what_to_install(without_cupy):
    assert not engine.cuda_available()
    hint = r"'cuda' is unavailable: CuPy is not installed.*pip install 'loopgrad\[gpu\]'"
    with pytest.raises(RuntimeError, match=hint):
        tensor([1.0]).to("cuda")
    with pytest.raises(RuntimeError, match=hint):
        tensor([1.0], device="cuda:0")


@pytest.mark.gpu
@pytest.mark.skipif(not engine.cuda_available(), reason="needs CuPy and a CUDA GPU")
def test_mixing_devices_names_both():
    with pytest.raises(RuntimeError, match="Mul: .*different devices: cpu and cuda:0"):
        leaf(2) * leaf(2).to("cuda")
    with pytest.raises(RuntimeError, match="Add: .*cuda:0 and cpu"):
        leaf(2).to("cuda") + leaf(2)


@pytest.mark.parametrize("call, error, words", [
    (lambda: engine.tensor(np.ones((1, 2, 1))).squeeze((0, -3)), ValueError,
     ["squeeze", "repeated axis", "(1, 2, 1)"]),
    (lambda: (engine.tensor([1.0, 2.0], requires_grad=True) * 2).backward([1.0, 1.0]),
     TypeError, ["backward", "(2,)", "list"]),
])
def test_more_bad_input_is_named(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value)


X = engine.zeros(6, 4)


@pytest.mark.parametrize("call, words", [
    (lambda: engine.chunk(X, -2), ["chunk", "positive", "-2"]),  # issue 14: 6 pieces before
    (lambda: engine.chunk(X, 0), ["chunk", "positive", "0"]),  # a ZeroDivisionError before
    (lambda: engine.chunk(X, 2.5), ["chunk", "2.5"]),
    (lambda: engine.split(X, 0), ["split", "positive", "0"]),
    (lambda: engine.split(X, [2, 2]), ["split", "[2, 2]", "(6, 4)"]),
    (lambda: X.narrow(0, 5, 3), ["narrow", "5", "3", "6"]),
    (lambda: X.sum(dim=5), ["sum", "5", "2 dimensions"]),
    (lambda: X.unsqueeze(9), ["unsqueeze", "9"]),
    (lambda: X.transpose(0, 7), ["7", "2 dimensions"]),
    (lambda: X.flatten(3), ["flatten", "3"]),
    (lambda: X.movedim(0, 4), ["movedim", "4"]),
    (lambda: X.squeeze(3), ["squeeze", "3"]),
    (lambda: X.permute(0, 0), ["permute", "(0, 0)", "(6, 4)"]),
    (lambda: X.roll(1, 4), ["roll", "4"]),
    (lambda: X.unbind(2), ["unbind", "2"]),
    (lambda: X.repeat(2), ["repeat", "(6, 4)"]),
    (lambda: X.repeat_interleave(-1), ["repeat_interleave", "-1"]),
    (lambda: X.expand(3, 4), ["expand", "3", "6"]),
    (lambda: engine.stack([]), ["stack", "at least one"]),
    (lambda: engine.cat([]), ["at least one"]),
])
def test_shape_ops_check_counts_sizes_and_axes(call, words):
    """Every shape op checks its counts, sizes and axes and names what came (issue 14: a
    negative chunk count gave 6 pieces, a zero one a ZeroDivisionError)."""
    with pytest.raises(ValueError) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))
