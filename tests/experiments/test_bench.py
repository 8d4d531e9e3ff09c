"""The benchmark scripts run end to end on tiny sizes, and their verdicts follow the numbers."""

from experiments import bench_engine, bench_rnn


def test_bench_rnn_prints_a_row_per_shape_and_the_memory(capsys):
    bench_rnn.main(["--shapes", "2,3,2,3", "--kinds", "lstm", "gru", "--repeats", "1",
                    "--threads", "1", "--memory", "3", "5", "--no-torch"])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith(("lstm ", "gru "))]
    assert len(rows) == 2 and all("(2, 3, 2, 3)" in row for row in rows)
    assert "target: fused LSTM (32, 50, 64, 256) <= 1.3 x nn.LSTM: not measured" in out
    assert out.count("per time step:") == 2


def test_verdicts_follow_the_ratios():
    shapes = bench_rnn.SHAPES
    results = {("lstm", shape): {"fused": 1.0, "torch": 1.0 / limit * 0.9, "cells": 4.0}
               for shape, limit in bench_rnn.GPU_TARGETS.items()}
    lines = bench_rnn.gpu_targets(results)
    assert all("missed" in line for line in lines[:5]), lines
    assert lines[5].endswith("met (worst fused/cells 0.25)")
    results[("lstm", shapes[0])] = {"fused": 1.0, "torch": 2.0, "cells": 2.0}
    lines = bench_rnn.gpu_targets(results)
    assert lines[0].endswith("met (0.50)") and lines[5].endswith("missed (worst fused/cells 0.50)")
    cpu = bench_rnn.targets({("lstm", (32, 50, 64, 128)): {"fused": 1.0, "composed": 3.5,
                                                             "torch": 1, "cells": 2.0}})
    assert cpu[1].endswith("met (0.50)") and cpu[2].endswith("met (3.50)")


def test_bench_engine_runs(capsys):
    bench_engine.main(["--length", "5", "--repeats", "1", "--sizes", "1", "--no-torch"])
    assert "(1,)" in capsys.readouterr().out
