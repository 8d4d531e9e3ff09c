"""The runs are honest: --resume refuses other flags, every flag is checked before any
work, the NaN guard says what is on disk, Ctrl-C saves and says how to resume, progress
shows without a terminal, and the end says where the results are.

All on the adding problem at tiny sizes (a few steps of 6 units), in-process.
"""

import io
import json
import shlex
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest

import engine
import nn
from experiments import (
    adding,
    char_lm,
    common,
    copy_memory,
    digits,
    forecast,
    gradient_flow,
    seq2seq_dates,
)

STEPS = 4
FLAGS = ["--seq-len", "8", "--eval-size", "16", "--hidden-size", "6", "--batch-size", "4",
         "--eval-every", "2", "--checkpoint-every", "2"]


def run(out, steps=STEPS, *extra):
    """adding, tiny, into ``out``: its metrics.json bytes."""
    adding.main([*FLAGS, "--steps", str(steps), "--out", str(out), *extra])
    return (out / "metrics.json").read_bytes()


def contents(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """metrics.json bytes of an uninterrupted run of STEPS steps."""
    return run(tmp_path_factory.mktemp("reference"))


@pytest.fixture(scope="module")
def halfway(tmp_path_factory):
    """A results folder whose checkpoint is at step STEPS // 2."""
    out = tmp_path_factory.mktemp("halfway")
    run(out, STEPS // 2)
    return out


# ---------------------------------------------------------------- 9: resume


@pytest.mark.parametrize("changed, listed", [
    (["--lr", "0.5"], ["--lr 0.5 (the checkpoint's: 0.02)"]),
    (["--seed", "1"], ["--seed 1 (the checkpoint's: 0)"]),
    (["--hidden-size", "16"], ["--hidden-size 16 (the checkpoint's: 6)"]),
    (["--models", "gru"], ["--models gru (the checkpoint's: rnn lstm gru)"]),
    (["--steps", "1"], ["--steps 1 is below the checkpoint's step 2"]),
    (["--lr", "0.5", "--seq-len", "9", "--eval-every", "1"],
     ["--eval-every 1 (the checkpoint's: 2)", "--lr 0.5 (the checkpoint's: 0.02)",
      "--seq-len 9 (the checkpoint's: 8)"]),
], ids=["lr", "seed", "hidden-size", "models", "steps-lower", "three-at-once"])
def test_resume_with_other_flags_is_refused_before_anything_is_written(
        changed, listed, halfway, tmp_path, capsys):
    out = tmp_path / "out"
    shutil.copytree(halfway, out)
    before = contents(out)
    with pytest.raises(SystemExit) as stop:
        run(out, STEPS, *changed, "--resume")
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert error.count("error:") == 1 and "--resume" in error
    for difference in listed:
        assert difference in error
    assert error.count("(the checkpoint's:") + error.count("is below") == len(listed)
    assert contents(out) == before  # config.json, checkpoint and metrics untouched


def test_resume_may_change_steps_device_and_checkpoint_every(halfway, reference, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(halfway, out)
    assert run(out, STEPS, "--checkpoint-every", "1", "--device", "cpu", "--resume") == reference
    resumed = json.loads((out / "config.json").read_text())["resumed"]
    assert [(r["from_step"], r["device"]) for r in resumed] == [(STEPS // 2, "cpu")]
    assert nn.load(out / common.CHECKPOINT)["step"] == STEPS


def test_resume_from_a_checkpoint_without_its_flags_is_refused(halfway, tmp_path, capsys):
    out = tmp_path / "out"
    shutil.copytree(halfway, out)
    state = nn.load(out / common.CHECKPOINT)
    del state["config"]
    nn.save(state, out / common.CHECKPOINT)
    with pytest.raises(SystemExit) as stop:
        run(out, STEPS, "--resume")
    assert stop.value.code == 2 and "does not record the flags" in capsys.readouterr().err


# ---------------------------------------------------------------- 10: flags


TINY = {  # each script's smallest run, which a bad flag after it must stop
    adding: FLAGS + ["--steps", "2"],
    copy_memory: ["--delay", "2", "--eval-size", "4", "--hidden-size", "4", "--steps", "2"],
    forecast: ["--length", "300", "--window", "8", "--context", "8", "--horizon", "5",
               "--eval-points", "4", "--hidden-size", "4", "--steps", "2"],
    char_lm: ["--seq-len", "8", "--eval-streams", "4", "--sample-chars", "5", "--hidden-size",
              "4", "--batch-size", "2", "--steps", "2"],
    digits: ["--task", "rows", "--hidden-size", "4", "--steps", "2", "--eval-every", "1"],
    seq2seq_dates: ["--embed-size", "2", "--attention-size", "2", "--test-size", "8",
                    "--hidden-size", "4", "--steps", "2", "--eval-every", "1"],
    gradient_flow: ["--seq-len", "4", "--probe-size", "4", "--hidden-size", "4",
                    "--batch-size", "2", "--steps", "2"],
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "text.txt"
    path.write_text(char_lm.load_text()[0][:3000], encoding="utf-8")
    return path


@pytest.mark.parametrize("module, argv, message", [
    (adding, ["--steps", "0"], "argument --steps: expected an integer >= 1, got '0'"),
    (adding, ["--steps", "-5"], "argument --steps: expected an integer >= 1, got '-5'"),
    (adding, ["--steps", "2.5"], "argument --steps: expected an integer >= 1, got '2.5'"),
    (adding, ["--checkpoint-every", "0"], "argument --checkpoint-every: expected an integer"),
    (adding, ["--eval-every", "0"], "argument --eval-every: expected an integer >= 1, got '0'"),
    (adding, ["--batch-size", "0"], "argument --batch-size: expected an integer >= 1, got '0'"),
    (adding, ["--hidden-size", "0"], "argument --hidden-size: expected an integer >= 1"),
    (adding, ["--seed", "-1"], "argument --seed: expected an integer >= 0, got '-1'"),
    (adding, ["--seq-len", "1"], "argument --seq-len: expected an integer >= 2, got '1'"),
    (adding, ["--eval-size", "0"], "argument --eval-size: expected an integer >= 1"),
    (adding, ["--clip", "-1"], "argument --clip: expected a finite number >= 0, got '-1'"),
    (adding, ["--lr", "0"], "argument --lr: expected a finite number > 0, got '0'"),
    (adding, ["--lr", "nan"], "argument --lr: expected a finite number > 0, got 'nan'"),
    (adding, ["--models", "gru", "gru"], "argument --models: expected each model once"),
    (copy_memory, ["--delay", "0"], "argument --delay: expected an integer >= 1, got '0'"),
    (forecast, ["--window", "225"], "argument --window: expected fewer steps than the 225 "
                                    "training samples of --length 300, got 225"),
    (forecast, ["--length", "40"], "arguments --context and --horizon: expected at most the "
                                   "10 held-out samples of --length 40 together, got 8 + 5"),
    (char_lm, ["--data", "no/such/file.txt"], "argument --data: expected an existing file"),
    (char_lm, ["--temperatures", "1", "0"], "argument --temperatures: expected a finite number"),
    (char_lm, ["--batch-size", "1000"], "arguments --batch-size and --seq-len:"),
    (char_lm, ["--eval-streams", "1000"], "argument --eval-streams: expected at most 150"),
    (digits, ["--batch-size", "2000"], "argument --batch-size: expected at most the 1438"),
    (seq2seq_dates, ["--plot-examples", "0"], "argument --plot-examples: expected an integer"),
], ids=lambda value: " ".join(value) if isinstance(value, list) else None)
def test_a_bad_flag_exits_with_status_2_before_any_work(module, argv, message, corpus,
                                                        tmp_path, capsys):
    out = tmp_path / "out"
    data = ["--data", str(corpus)] if module is char_lm else []
    with pytest.raises(SystemExit) as stop:
        module.main([*TINY[module], *data, *argv, "--out", str(out)])
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert message in error and error.startswith("usage: python -m experiments.")
    assert not out.exists()


def test_an_out_that_is_a_file_is_refused(tmp_path, capsys):
    out = tmp_path / "results.txt"
    out.write_text("not a folder")
    with pytest.raises(SystemExit) as stop:
        adding.main(["--out", str(out)])
    assert stop.value.code == 2
    assert f"argument --out: expected a folder, got '{out}', which is a file" in \
        capsys.readouterr().err
    assert out.read_text() == "not a folder"


# ---------------------------------------------------------------- 11: NaN guard


def diverge_at(out, nan_step, *existing):
    """A probe run of 6 steps, a checkpoint every 2, whose loss is NaN at ``nan_step``:
    the error message."""
    args = common.base_parser("probe", "").parse_args(
        ["--out", str(out), "--steps", "6", "--checkpoint-every", "2", *existing])
    run_ = common.Run("probe", args)
    model = common.SequenceModel("gru", 1, 3, 1, rng=run_.rng)
    calls = []

    def loss_fn(model, x):
        calls.append(1)
        loss = (model(engine.tensor(x))[0] ** 2).mean()
        return loss * float("nan") if len(calls) == nan_step else loss

    with pytest.raises(SystemExit) as stop:
        run_.train({"gru": model}, {"gru": nn.optim.Adam(model.parameters())},
                   lambda rng: rng.normal(size=(5, 2, 1)).astype(np.float32), loss_fn)
    assert f"step {nan_step}" in json.loads((out / "metrics.json").read_text())["stopped"]
    return str(stop.value.code)


def test_the_nan_guard_names_the_checkpoint_it_keeps(tmp_path):
    message = diverge_at(tmp_path, 3)
    assert message.startswith("error: gru: the loss became nan at step 3")
    assert message.endswith(f"the last good checkpoint, of step 2, is kept in "
                            f"{tmp_path / common.CHECKPOINT}")
    assert nn.load(tmp_path / common.CHECKPOINT)["step"] == 2


def test_the_nan_guard_says_when_there_is_no_checkpoint(tmp_path):
    message = diverge_at(tmp_path, 1)
    assert message.endswith("no checkpoint was written (the first comes at step 2)")
    assert "kept" not in message and not (tmp_path / common.CHECKPOINT).exists()


def test_the_nan_guard_says_when_the_checkpoint_is_an_earlier_runs(halfway, tmp_path):
    shutil.copytree(halfway, tmp_path / "out")
    message = diverge_at(tmp_path / "out", 1)
    assert message.endswith(f"no checkpoint of this run was written "
                            f"({tmp_path / 'out' / common.CHECKPOINT} is an earlier run's)")


# ---------------------------------------------------------------- 12: Ctrl-C


@pytest.fixture
def python_sigint():
    """Python's own SIGINT handler (KeyboardInterrupt) during the test: a job started in
    the background begins with SIGINT ignored, and a raised SIGINT would then do nothing."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def interrupt_in_step(monkeypatch, step, how):
    """Make the first model's gradient clipping of ``step`` press Ctrl-C: a real SIGINT
    ("signal") or a KeyboardInterrupt raised there ("raise")."""
    clip, calls = nn.utils.clip_grad_norm_, []

    def clip_and_interrupt(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3 * (step - 1) + 1:  # three models a step
            if how == "signal":
                signal.raise_signal(signal.SIGINT)
            else:
                raise KeyboardInterrupt
        return clip(*args, **kwargs)

    monkeypatch.setattr(nn.utils, "clip_grad_norm_", clip_and_interrupt)


def resume_as_told(error, monkeypatch):
    """Run the command the interrupted run printed; its metrics.json bytes."""
    line, = [x for x in error.splitlines() if x.startswith("interrupted:")]
    words = shlex.split(line.split("resume with: ")[1])
    assert words[:3] == ["python", "-m", "experiments.adding"] and words[-1] == "--resume"
    monkeypatch.undo()
    adding.main(words[3:])
    return (Path(words[words.index("--out") + 1]) / "metrics.json").read_bytes()


def test_ctrl_c_saves_the_step_and_prints_the_command_that_resumes(
        monkeypatch, reference, tmp_path, capsys, python_sigint):
    interrupt_in_step(monkeypatch, 3, "signal")
    with pytest.raises(SystemExit) as stop:
        run(tmp_path, STEPS)
    assert stop.value.code == 130
    error = capsys.readouterr().err
    assert f"interrupted: the checkpoint of step 3 is in {tmp_path / common.CHECKPOINT}; " \
        "resume with: python -m experiments.adding" in error
    assert "Traceback" not in error and signal.getsignal(signal.SIGINT) is \
        signal.default_int_handler
    assert nn.load(tmp_path / common.CHECKPOINT)["step"] == 3  # the whole step 3, saved
    assert json.loads((tmp_path / "metrics.json").read_text())["stopped"] == \
        "interrupted after step 3"
    assert resume_as_told(error, monkeypatch) == reference


def test_ctrl_c_in_the_middle_of_a_step_keeps_the_last_checkpoint(
        monkeypatch, reference, tmp_path, capsys):
    interrupt_in_step(monkeypatch, 3, "raise")
    with pytest.raises(SystemExit) as stop:
        run(tmp_path, STEPS)
    assert stop.value.code == 130
    error = capsys.readouterr().err
    assert "interrupted: step 3 was cut short, not saved; the checkpoint of step 2 is in" in error
    assert nn.load(tmp_path / common.CHECKPOINT)["step"] == 2
    assert resume_as_told(error, monkeypatch) == reference


# ---------------------------------------------------------------- 13: progress, results


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_without_a_terminal_progress_is_a_plain_line_every_tenth():
    stream = io.StringIO()
    progress = common.Progress("adding", 20, 0, stream=stream)
    for step in range(1, 21):
        progress.update(step, {"gru": 0.5, "lstm": 0.25})
    lines = stream.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        f"adding: step {s}/20" for s in range(2, 21, 2)]
    assert lines[-1].startswith("adding: step 20/20 (100%), ")
    assert lines[-1].endswith("s left; loss gru 0.5, lstm 0.25")
    resumed = io.StringIO()
    progress = common.Progress("adding", 20, 10, stream=resumed)
    for step in range(11, 21):
        progress.update(step, {"gru": 0.5})
    assert len(resumed.getvalue().splitlines()) == 5


def test_on_a_terminal_progress_is_tqdms_bar():
    tqdm = pytest.importorskip("tqdm")
    progress = common.Progress("adding", 20, 0, stream=Terminal())
    assert isinstance(progress.bar, tqdm.tqdm)
    progress.update(1, {"gru": 0.5})
    progress.close()


def test_a_run_shows_progress_and_says_where_its_results_are(tmp_path, capsys):
    run(tmp_path / "out", STEPS)
    captured = capsys.readouterr()
    assert "adding: step 4/4 (100%)" in captured.err
    assert f"results in {tmp_path / 'out'}/: checkpoint.npz, config.json, metrics.json, " \
        "mse.png, timing.json" in captured.out


@pytest.mark.parametrize("module", TINY, ids=lambda module: module.__name__.split(".")[-1])
def test_every_script_ends_by_saying_where_its_results_are(module, corpus, tmp_path, capsys):
    out = tmp_path / "out"
    data = ["--data", str(corpus)] if module is char_lm else []
    module.main([*TINY[module], *data, "--out", str(out)])
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith(f"results in {out}/: ") and "metrics.json" in last


def test_each_digits_task_has_its_own_default_folder():
    for task in ("rows", "pixels", "permuted"):
        assert digits.parser().parse_args(["--task", task]).out == f"results/digits_{task}"
    assert digits.parser().parse_args(["--task", "rows", "--out", "x"]).out == "x"
