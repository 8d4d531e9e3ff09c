"""experiments/expected.json and the README's results table agree, figure for figure, and
``python -m experiments.check_expected`` (not run here: it takes fifteen minutes) compares what
it measures with the file."""

import importlib
import json

import pytest

from experiments import check_expected as check

EXPECTED = json.loads(check.EXPECTED.read_text())
RUNS = EXPECTED["runs"]
UNCHECKED = EXPECTED["unchecked_rows"]  # row -> why no rerun checks it (benchmarks: timings)
ROWS = {row: cells for row, cells in check.table_rows(check.README.read_text()).items()
        if row not in UNCHECKED}


def test_every_row_of_the_table_has_its_runs_and_every_run_its_row():
    assert set(ROWS) == {spec["row"] for spec in RUNS.values()}
    assert set(UNCHECKED) <= set(check.table_rows(check.README.read_text()))
    for row, cells in ROWS.items():
        commands = [spec["command"] for spec in RUNS.values() if spec["row"] == row]
        assert any(f"`{command}`" in cells["command"] for command in commands), row


@pytest.mark.parametrize("name", RUNS)
def test_the_table_quotes_the_recorded_figures(name):
    spec = RUNS[name]
    assert spec["final"] is not None and len(spec["metrics_sha256"]) == 64, \
        f"{name} was never measured: python -m experiments.check_expected --only {name} --record"
    result = ROWS[spec["row"]]["result"]
    for quote in spec["quotes"]:
        assert quote["text"] == check.text_of(quote["value"], quote["format"]), quote
        assert quote["text"] in result, f"{name}: the README does not quote {quote}"


@pytest.mark.parametrize("row", ROWS)
def test_every_bold_figure_of_a_row_is_a_recorded_one(row):
    specs = [spec for spec in RUNS.values() if spec["row"] == row]
    result = ROWS[row]["result"]
    for constant in (c for spec in specs for c in spec["constants"]):
        result = result.replace(constant, "")
    quoted = {quote["text"] for spec in specs for quote in spec["quotes"]}
    assert set(check.bold_numbers(result)) <= quoted, row


@pytest.mark.parametrize("name", RUNS)
def test_each_run_is_a_valid_command(name):
    spec = RUNS[name]
    assert spec["command"] == " ".join([f"python -m experiments.{spec['script']}",
                                        *spec["argv"]])
    importlib.import_module(f"experiments.{spec['script']}").parser().parse_args(spec["argv"])


METRICS = {"step": [1, 2, 3, 4], "loss": {"gru": [0.9, 0.5, 0.4, 0.3]},
           "eval": {"step": [2, 4], "mse": {"gru": [0.2, 0.01]}},
           "final": {"test_mse": {"gru": 0.0123, "rnn": 0.5}}}


def test_quotes_name_values_curves_and_steps():
    assert check.pick(METRICS, "final.test_mse.gru") == 0.0123
    assert check.pick(METRICS, "max(loss.gru)") == 0.9
    assert check.pick(METRICS, "min(final.test_mse)") == 0.0123
    assert check.pick(METRICS, "median(loss.gru)") == 0.45
    assert check.pick(METRICS, "loss.gru@3") == 0.4
    assert check.pick(METRICS, "eval.mse.gru@4") == 0.01
    assert check.pick(METRICS, "first(eval.mse.gru < 0.1)") == 4
    assert check.pick(METRICS, "first(loss.gru <= 0.5)") == 2
    assert check.pick(METRICS, "first(loss.gru < 0.1)") is None
    assert [check.text_of(v, f) for v, f in [(5.1e-13, ".0e"), (0.000281, ".2g"),
                                              (3.24e-5, ".1e"), (0.9861, ".1%"), (700, "d")]] \
        == ["5e-13", "0.00028", "3.2e-5", "98.6%", "700"]


def test_the_check_says_what_moved():
    spec = {"quotes": [{"of": "final.test_mse.gru", "format": ".2g"}]}
    data = json.dumps(METRICS).encode()
    recorded = check.record(spec, data, 12.3)
    assert recorded["quotes"][0]["text"] == "0.012" and recorded["seconds"] == 12
    lines, same = check.compare(recorded, data)
    assert same and lines == [f"metrics.json byte-identical (sha256 "
                              f"{recorded['metrics_sha256'][:12]}...)"]
    moved = json.loads(data)
    moved["final"]["test_mse"]["gru"] = 0.0456
    lines, same = check.compare(recorded, json.dumps(moved).encode())
    assert not same and lines[0].startswith("metrics.json differs from the recorded one")
    assert lines[1:] == ["  final.test_mse.gru: expected 0.0123, got 0.0456",
                         "  README quote final.test_mse.gru: 0.012 -> 0.046"]


def test_the_table_is_read_cell_by_cell():
    text = ("| script | reproduces | command | result | time |\n|---|---|---|---|---|\n"
            "| `digits --task rows` | x | `python -m experiments.digits --task rows` | "
            "**98.6%** (359 images), **GRU 0.028** | 15 s |\n")
    rows = check.table_rows(text)
    assert list(rows) == ["digits --task rows"]
    assert rows["digits --task rows"]["command"] == "`python -m experiments.digits --task rows`"
    assert check.bold_numbers(rows["digits --task rows"]["result"]) == ["98.6%", "0.028"]
