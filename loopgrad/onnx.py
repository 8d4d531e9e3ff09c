"""torch.onnx: no ONNX exporter here (a program may import the module; exporting says so)."""

from loopgrad import _missing


def export(*args, **kwargs):
    raise NotImplementedError("loopgrad.onnx.export: loopgrad has no ONNX exporter; export "
                              "from PyTorch (load this model's state_dict into the same model "
                              "there)")


__all__ = ["export"]


__getattr__ = _missing.missing_attributes("loopgrad.onnx", "torch.onnx")
