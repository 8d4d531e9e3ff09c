"""experiments.bench_rnn on the GPU, what can be checked without one: TF32 turned off in
PyTorch (both of its APIs), and the header that names the GPU and the precision flags."""

import types

from experiments import bench_rnn


def settings(**values):
    return types.SimpleNamespace(**values)


def old_torch():
    """PyTorch before 2.9: allow_tf32 flags only (cuDNN's default on)."""
    backends = settings(cudnn=settings(allow_tf32=True, version=lambda: 91002),
                        cuda=settings(matmul=settings(allow_tf32=False)))
    return settings(backends=backends, __version__="2.5.0")


def new_torch():
    """PyTorch 2.9 and later: fp32_precision settings ("tf32" or "ieee")."""
    rnn = settings(fp32_precision="tf32")
    backends = settings(fp32_precision="none", cuda=settings(matmul=settings(
        fp32_precision="none")), cudnn=settings(fp32_precision="tf32", rnn=rnn,
                                                conv=settings(fp32_precision="tf32"),
                                                version=lambda: 91400))
    return settings(backends=backends, __version__="2.13.0")


def test_tf32_is_turned_off_through_either_api():
    torch = old_torch()
    bench_rnn.full_fp32(torch)
    assert torch.backends.cudnn.allow_tf32 is False
    assert bench_rnn.precision_flags(torch) == "cudnn.allow_tf32=False matmul.allow_tf32=False"
    torch = new_torch()
    bench_rnn.full_fp32(torch)
    assert torch.backends.cudnn.rnn.fp32_precision == "ieee"
    assert torch.backends.cudnn.conv.fp32_precision == "ieee"
    assert bench_rnn.precision_flags(torch) == ("fp32_precision=ieee matmul=ieee cudnn=ieee "
                                                "cudnn.rnn=ieee")
    assert not hasattr(torch.backends.cudnn, "allow_tf32")  # the old API left alone


def test_the_gpu_header_names_the_gpu_cudnn_and_the_flags():
    device = settings(id=0, compute_capability="90")
    cupy = settings(__version__="14.0.0", cuda=settings(
        Device=lambda: device,
        runtime=settings(getDeviceProperties=lambda n: {"name": b"NVIDIA H200"})))
    torch = new_torch()
    bench_rnn.full_fp32(torch)
    line = bench_rnn.gpu_header(cupy, torch)
    assert line.startswith("GPU 0: NVIDIA H200, compute capability 90; CuPy 14.0.0")
    assert "cuDNN 91400" in line and "cudnn.rnn=ieee" in line
    assert "PyTorch" not in bench_rnn.gpu_header(cupy, None)


def test_the_composed_contender_is_the_composed_layer(monkeypatch):
    """``ours(..., fused=False)`` builds the layer with fused=False (a module named ``fused``
    imported inside once shadowed the flag, and "composed" timed the fused op)."""
    import rnn

    made = []
    real = rnn.LSTM

    def recording(*args, **kwargs):
        made.append(kwargs["fused"])
        return real(*args, **kwargs)

    monkeypatch.setattr(rnn, "LSTM", recording)
    for fused in (True, False):
        bench_rnn.ours("lstm", (1, 2, 2, 2), "cpu", fused)()
    assert made == [True, False]
