"""Smoke test of rnn_vs_transformer: every stage runs a few steps on tiny sizes, in-process
through ``main(argv)``; it writes its files with finite metrics, one seed gives the same
metrics.json bytes twice, and a run stopped halfway and resumed from its checkpoints ends
byte-identical to one that never stopped."""

import json
import math

import pytest

import nn
from experiments import char_lm, common, rnn_vs_transformer

STEPS = 4
STAGES = ["adding_T4", "copy_T2", "lm"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "text.txt"
    path.write_text(char_lm.load_text()[0][:3000], encoding="utf-8")
    return path


def run(out, corpus, steps=STEPS, *extra):
    rnn_vs_transformer.main([
        "--adding-lengths", "4", "--copy-delays", "2", "--steps", str(steps),
        "--lm-steps", str(steps), "--eval-every", "2", "--checkpoint-every", "2",
        "--batch-size", "3", "--eval-size", "5", "--hidden-size", "4", "--nhead", "2",
        "--lm-d-model", "4", "--lm-layers", "1", "--lm-seq-len", "6", "--lm-eval-chars", "40",
        "--data", str(corpus), "--cost-lengths", "3", "6", "--cost-repeats", "1",
        "--out", str(out), *extra])
    return [(out / "metrics.json").read_bytes()] + [
        (out / stage / "metrics.json").read_bytes() for stage in STAGES
        if (out / stage / "metrics.json").exists()]


@pytest.fixture(scope="module")
def reference(tmp_path_factory, corpus):
    out = tmp_path_factory.mktemp("rnn_vs_transformer")
    return out, run(out, corpus)


def finite_numbers(tree, key=None):
    """Every number of a JSON tree is finite; None only where no step solved the task."""
    if isinstance(tree, dict):
        return all(finite_numbers(v, k) for k, v in tree.items())
    if isinstance(tree, list):
        return all(finite_numbers(v, key) for v in tree)
    if tree is None:
        return key == "steps_to_solve"
    return not isinstance(tree, float) or math.isfinite(tree)


def test_writes_its_files_with_finite_metrics(reference):
    out, _ = reference
    for name in ["config.json", "metrics.json", "timing.json", "length.png", "lm.png"]:
        assert (out / name).stat().st_size > 0, name
    for stage in STAGES:
        assert nn.load(out / stage / common.CHECKPOINT)["step"] == STEPS
    metrics = json.loads((out / "metrics.json").read_text())
    assert finite_numbers(metrics)
    adding = metrics["adding"]["4"]
    assert set(adding) == set(rnn_vs_transformer.MODELS)
    target = adding["transformer"]["parameters"]
    for kind in rnn_vs_transformer.RECURRENT:  # matched: within one hidden unit's worth
        assert abs(adding[kind]["parameters"] - target) <= 0.5 * (
            rnn_vs_transformer.recurrent_parameters(kind, 2, adding[kind]["hidden_size"] + 1,
                                                    1) -
            rnn_vs_transformer.recurrent_parameters(kind, 2, adding[kind]["hidden_size"], 1))
    timing = json.loads((out / "timing.json").read_text())
    assert set(timing["peak_bytes_per_step"]["transformer"]) == {"3", "6"}
    assert set(timing["seconds_per_step"]) == set(rnn_vs_transformer.MODELS)
    assert "seconds" in timing["lm_bpc_at_equal_time"]


def test_one_seed_gives_the_same_bytes(reference, corpus, tmp_path):
    assert run(tmp_path, corpus) == reference[1]


def test_stop_and_resume_equals_an_uninterrupted_run(reference, corpus, tmp_path):
    run(tmp_path, corpus, STEPS // 2, "--tasks", "adding", "copy", "lm")
    assert run(tmp_path, corpus, STEPS, "--resume") == reference[1]


def test_the_recurrent_models_are_sized_to_the_transformer():
    for kind in rnn_vs_transformer.RECURRENT:
        H = rnn_vs_transformer.matched_hidden_size(kind, 2, 1, 8673)
        model = common.SequenceModel(kind, 2, H, 1, rng=0)
        assert rnn_vs_transformer.count(model) == rnn_vs_transformer.recurrent_parameters(
            kind, 2, H, 1)
        assert abs(rnn_vs_transformer.count(model) - 8673) < 0.03 * 8673


def test_a_flag_that_does_not_fit_is_refused():
    with pytest.raises(SystemExit, match="multiples of --nhead"):
        rnn_vs_transformer.main(["--hidden-size", "6", "--nhead", "4"])
    with pytest.raises(SystemExit, match="must include transformer"):
        rnn_vs_transformer.main(["--models", "lstm"])


def test_bench_attention_prints_a_row_per_shape_and_the_memory(capsys):
    from experiments import bench_attention

    bench_attention.main(["--shapes", "2,8,8,2", "--repeats", "1", "--memory", "4", "8",
                          "--no-torch"])
    out = capsys.readouterr().out
    assert "(2, 8, 8, 2)" in out and out.count("not measured") == 2
    assert "T 4 -> 8: the layer x" in out and "kept for backward" in out
    lines = bench_attention.verdicts({(32, 128, 128, 4): {"ours": 1.4, "torch": 1.0},
                                      (8, 512, 256, 8): {"ours": 1.6, "torch": 1.0}})
    assert lines[0].endswith("met (1.40)") and lines[1].endswith("missed (1.60)")


def test_resume_with_another_stage_flag_is_refused_before_any_work(corpus, tmp_path, capsys):
    run(tmp_path, corpus, STEPS // 2, "--tasks", "adding", "lm")
    before = (tmp_path / "adding_T4" / "metrics.json").read_bytes()
    with pytest.raises(SystemExit):
        run(tmp_path, corpus, STEPS, "--tasks", "adding", "lm", "--resume", "--lm-layers", "2")
    assert "--lm-layers 2 (the checkpoint's: 1)" in capsys.readouterr().err
    assert (tmp_path / "adding_T4" / "metrics.json").read_bytes() == before  # not trained on
