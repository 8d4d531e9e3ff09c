"""rnn.fused.layout.SequenceLayout: the sorted working order, the gathers, the index
arrays copied once per device."""

import numpy as np
import pytest

from engine import backend
from rnn.fused import layout as layout_module
from rnn.fused.layout import SequenceLayout


@pytest.mark.parametrize("reverse", [False, True])
def test_to_work_and_from_work_are_inverse_gathers(reverse):
    layout = SequenceLayout([2, 4, 1, 4], 4, 4, reverse)
    a = np.random.default_rng(0).standard_normal((4, 4, 3))
    work = layout.to_work(a)
    assert layout.batch_sizes == [4, 3, 2, 2]
    assert layout.order.tolist() == [1, 3, 0, 2]  # longest first, stable
    np.testing.assert_array_equal(layout.from_work(work), a)
    first = 0 if not reverse else 3  # sequence 1, full length: working row 0
    np.testing.assert_array_equal(work[0, 0], a[first, 1])
    np.testing.assert_array_equal(layout.rows_from_work(layout.rows_to_work(a[0])), a[0])


def test_an_empty_batch_has_no_rows_to_run():
    layout = SequenceLayout([], 3, 0, True)
    assert layout.batch_sizes == [0, 0, 0] and layout.all_full
    assert layout.to_work(np.zeros((3, 0, 2))).shape == (3, 0, 2)


class FakeGpuArray:
    """Just enough of a CuPy array for the cache: a device id."""

    def __init__(self, number):
        self.device = type("Device", (), {"id": number})()


def test_index_arrays_are_copied_once_per_device(monkeypatch):
    """The upload cache is keyed by the device: cuda:1 gets its own copy, not cuda:0's."""
    copies = []

    def to_device(array, device):
        copies.append(device)
        return (device, array)

    monkeypatch.setattr(layout_module.backend, "to_device", to_device)
    layout = SequenceLayout([3, 1], 3, 2, False)
    on_0, on_1 = FakeGpuArray(0), FakeGpuArray(1)
    assert layout.index("order", on_0)[0] == "cuda:0"
    assert layout.index("order", on_0) is layout.index("order", on_0)
    assert layout.index("order", on_1)[0] == "cuda:1"
    assert copies == ["cuda:0", "cuda:1"]
    assert layout.index("order", np.zeros(1)) is layout.order  # the CPU: no copy at all
    assert backend.device_of(on_1) == "cuda:1"
