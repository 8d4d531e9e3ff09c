"""Smoke tests of char_lm, digits and seq2seq_dates, and of their data.

Each script runs a few steps on tiny sizes, in-process through ``main(argv)``:
it writes its files with finite metrics, one seed gives the same metrics.json
bytes twice, and a run stopped halfway and resumed from its checkpoint ends
byte-identical to one that never stopped (for char_lm that includes the state
carried between chunks).
"""

import datetime
import hashlib
import json
import sys

import numpy as np
import pytest

from experiments import char_lm, digits, seq2seq_dates
from tests.experiments.smoke import check_files_and_metrics, check_resumed, once_per_script

STEPS = 4


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A small text file: the first 6,000 characters of the default corpus."""
    path = tmp_path_factory.mktemp("corpus") / "text.txt"
    path.write_text(char_lm.load_text()[0][:6000], encoding="utf-8")
    return path


SCRIPTS = {
    "char_lm": (char_lm, ["--seq-len", "8", "--eval-streams", "8", "--sample-chars", "20"],
                ["bpc.png"]),
    "digits": (digits, ["--task", "pixels"], ["accuracy.png", "attention_gru.png"]),
    "seq2seq_dates": (seq2seq_dates, ["--embed-size", "4", "--attention-size", "4",
                                      "--test-size", "8"], ["accuracy.png", "attention_gru.png"]),
}


@pytest.fixture(scope="module")
def run(corpus):
    def run(name, out, steps=STEPS, *extra):
        """Run script ``name`` tiny, with a checkpoint and an evaluation every 2 steps."""
        module, flags, _ = SCRIPTS[name]
        data = ["--data", str(corpus)] if name == "char_lm" else []
        module.main([*flags, *data, "--hidden-size", "6", "--batch-size", "4",
                     "--steps", str(steps), "--eval-every", "2", "--checkpoint-every", "2",
                     "--out", str(out), *extra])
        return (out / "metrics.json").read_bytes()

    return run


@pytest.fixture(scope="module")
def uninterrupted(run, tmp_path_factory):
    """(folder, metrics.json bytes) of one uninterrupted run of each script, made once."""
    return once_per_script(run, tmp_path_factory)


@pytest.mark.parametrize("name", SCRIPTS)
def test_writes_its_files_with_finite_metrics(name, uninterrupted):
    out, data = uninterrupted(name)
    check_files_and_metrics(out, data, SCRIPTS[name][2], STEPS)


@pytest.mark.parametrize("name", SCRIPTS)
def test_one_seed_gives_the_same_bytes(name, run, uninterrupted, tmp_path):
    assert run(name, tmp_path) == uninterrupted(name)[1]


@pytest.mark.parametrize("name", SCRIPTS)
def test_stop_and_resume_equals_an_uninterrupted_run(name, run, uninterrupted, tmp_path):
    run(name, tmp_path, STEPS // 2)
    assert run(name, tmp_path, STEPS, "--resume") == uninterrupted(name)[1]
    check_resumed(tmp_path, STEPS)


def test_char_lm_records_the_corpus_hash_and_samples(corpus, uninterrupted):
    out, data = uninterrupted("char_lm")
    config = json.loads((out / "config.json").read_text())
    assert config["corpus_sha256"] == hashlib.sha256(corpus.read_bytes()).hexdigest()
    samples = json.loads(data)["final"]["samples"]["lstm"]
    assert [len(s) for s in samples.values()] == [20, 20]


def test_digits_without_scikit_learn_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # makes the import fail
    with pytest.raises(SystemExit, match=r'pip install -e "\.\[digits\]"'):
        digits.main(["--steps", "1", "--out", str(tmp_path)])


def test_dates_are_written_the_human_ways_and_decode_to_iso():
    forms = seq2seq_dates.human_formats(datetime.date(1998, 3, 3))
    for example in ["3rd of March 1998", "03/03/98", "March 3, 1998", "3 Mar 98",
                    "Tuesday, March 3, 1998", "1998-3-3"]:
        assert example in forms
    assert [seq2seq_dates.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd"]
    texts, _, isos = seq2seq_dates.make_dates(np.random.default_rng(0), 50, held_out=True)
    inputs, lengths, targets = seq2seq_dates.encode(texts, isos)
    assert inputs.shape == (max(lengths), 50) and targets.shape == (10, 50)
    assert all(datetime.date.fromisoformat(iso).toordinal() % 10 == 0 for iso in isos)
