"""The loopgrad namespace: torch's layout over engine, nn and rnn, and PyTorch names we do
not support saying so."""

import importlib
import pathlib
import traceback

import pytest

import engine
import loopgrad
import loopgrad.nn as lnn
import nn
import rnn

ROOT = pathlib.Path(__file__).resolve().parents[2]

TORCH_MODULES = [  # every module a rewritten import line may name
    "loopgrad", "loopgrad.nn", "loopgrad.nn.functional", "loopgrad.nn.init",
    "loopgrad.nn.utils", "loopgrad.nn.modules", "loopgrad.nn.modules.rnn",
    "loopgrad.nn.modules.linear", "loopgrad.nn.parameter", "loopgrad.optim",
    "loopgrad.optim.lr_scheduler", "loopgrad.autograd", "loopgrad.cuda",
    "loopgrad.accelerator", "loopgrad.backends", "loopgrad.backends.cudnn", "loopgrad.onnx",
    "loopgrad.jit",
]


@pytest.mark.parametrize("name", TORCH_MODULES)
def test_each_module_imports_and_lists_only_names_it_has(name):
    module = importlib.import_module(name)
    for public in getattr(module, "__all__", []):
        assert hasattr(module, public), f"{name}.{public}"


def test_submodules_are_reachable_as_attributes_after_import_loopgrad():
    assert loopgrad.nn.functional.log_softmax is nn.functional.log_softmax
    assert loopgrad.optim.lr_scheduler.StepLR is nn.optim.lr_scheduler.StepLR
    assert loopgrad.nn.utils.clip_grad_norm_ is nn.utils.clip_grad_norm_
    assert loopgrad.nn.init.uniform_ is nn.init.uniform_


def test_it_names_and_adapts_and_computes_nothing():
    assert loopgrad.Tensor is engine.Tensor and loopgrad.tensor is engine.tensor
    assert lnn.Linear is nn.Linear and lnn.Module is nn.Module
    assert lnn.LSTM is rnn.LSTM and lnn.GRUCell is rnn.GRUCell
    assert lnn.modules.rnn.LSTM is rnn.LSTM  # PyTorch's class paths
    assert loopgrad.float == engine.float32 and loopgrad.long == engine.int64
    assert isinstance(loopgrad.ones(2).dtype, loopgrad.dtype)


def test_legacy_tensor_types_convert_and_test():
    assert loopgrad.LongTensor([1, 2]).dtype == loopgrad.long
    assert loopgrad.FloatTensor(2, 3).shape == (2, 3)  # sizes: zeros here, uninitialised there
    assert isinstance(loopgrad.LongTensor(3), loopgrad.LongTensor)
    assert not isinstance(loopgrad.zeros(3), loopgrad.LongTensor)
    assert loopgrad.BoolTensor([[1, 0]]).tolist() == [[True, False]]


def test_the_accelerator_calls_answer_on_a_machine_without_a_gpu():
    if engine.cuda_available():
        pytest.skip("this machine has a GPU")
    assert not loopgrad.cuda.is_available() and loopgrad.cuda.device_count() == 0
    assert loopgrad.accelerator.current_accelerator() is None
    assert not loopgrad.backends.mps.is_available()


@pytest.mark.parametrize("access, words", [
    (lambda: loopgrad.compile, r"torch\.compile \(a compiler\) does not exist here"),
    (lambda: lnn.Conv2d, r"torch\.nn\.Conv2d \(convolutions\) is not supported"),
    (lambda: loopgrad.some_future_function, r"torch\.some_future_function is not supported"),
    (lambda: loopgrad.set_default_devic, r"torch\.set_default_devic is not supported"),
    (lambda: loopgrad.autograd.Function, r"engine\.Function"),
])
def test_what_is_not_supported_says_so(access, words):
    with pytest.raises(AttributeError, match=words) as error:
        access()
    printed = "".join(traceback.format_exception(error.value))  # as Python would print it
    assert "Did you mean" not in printed


def test_a_missing_module_says_so():
    with pytest.raises(ModuleNotFoundError, match=r"torch\.distributed does not exist here"):
        importlib.import_module("loopgrad.distributed")


def test_onnx_export_says_so():
    with pytest.raises(NotImplementedError, match="no ONNX exporter"):
        loopgrad.onnx.export(None, None, "model.onnx")
