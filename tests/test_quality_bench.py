"""The quality benchmarks: noisy annotators, mitigations, cost curves and the money answers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from surelabel.cli import main
from surelabel.consensus import ConsensusOracle
from surelabel.cost import CostModel
from surelabel.oracles import SimulatedOracle
from surelabel.quality_bench import (
    answer_coverage,
    answer_money,
    load_problem,
    noise_oracle,
    noise_run,
    run_cost_bench,
    run_noise_bench,
    summarize_cost,
    summarize_noise,
)


@pytest.fixture(autouse=True)
def one_blas_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def test_noise_oracles_make_the_share_of_mistakes_asked_for():
    p = load_problem("digits")
    for noise in ("uniform", "confusion", "systematic"):
        answers = noise_oracle(p, noise, 0.2, seed=0).label(np.arange(p.n))
        assert abs(np.mean(answers != p.y) - 0.2) < 0.03, noise
    sys_answers = noise_oracle(p, "systematic", 0.2, seed=0).label(np.arange(p.n))
    wrong_to = {int(t) for t in sys_answers[sys_answers != p.y]}
    assert wrong_to <= set(p.look_alikes.values())  # only ever the look-alike's name


def test_consensus_of_two_or_three_shrinks_uniform_mistakes_at_a_known_cost():
    y = np.repeat(np.arange(10), 1000)
    double = ConsensusOracle(SimulatedOracle(y, noise_rate=0.1, random_state=0))
    answers = double.label(np.arange(y.size))
    assert np.mean(answers != y) < 0.03
    assert 2.0 < double.n_answers / y.size < 2.25
    only = ConsensusOracle(SimulatedOracle(y, noise_rate=0.1, random_state=0), items=np.arange(100))
    only.label(np.arange(y.size))
    assert only.n_answers < y.size + 2.3 * 100


def test_uniform_noise_lowers_coverage_and_double_labeling_restores_it():
    none = [noise_run("unit-ball", "uniform", 0.1, "none", s, audit=False) for s in range(3)]
    double = [noise_run("unit-ball", "uniform", 0.1, "double-validation", s, audit=False) for s in range(3)]
    assert np.mean([r["coverage"] for r in double]) > np.mean([r["coverage"] for r in none]) + 0.2
    assert all(r["answers"] > r["items_labeled"] for r in double)
    assert all(r["validation_label_error"] < 0.05 for r in double)


def test_systematic_noise_breaks_the_promise_against_the_truth_not_against_the_annotators():
    runs = [noise_run("digits", "systematic", 0.1, "none", s, audit=False) for s in range(3)]
    assert all(r["violated_true"] and not r["violated_annotator"] for r in runs), runs


def test_the_audit_finds_planted_annotator_mistakes_in_a_run():
    row = noise_run("digits", "uniform", 0.1, "none", 0)
    assert row["audit_precision_at_k"] > 0.75 and row["audit_flag_recall"] > 0.6


def test_noise_bench_summary_shape():
    runs = run_noise_bench(["unit-ball"], [0.0, 0.1], ["uniform"], ["none", "double-validation"], 2, n_jobs=1,
                           audit=False)
    assert len(runs) == 2 * 2 * 2
    s = summarize_noise(runs)
    assert {"coverage", "error_true", "violation_true", "answers_per_item"} <= set(s.columns)
    assert len(s) == 4


def test_cost_bench_answers_the_money_questions():
    cost = CostModel.flat(0.05)
    runs = run_cost_bench(["digits"], ["TBAL (certified)"], {"digits": [600, 800]}, 2, cost, n_jobs=1)
    s = summarize_cost(runs)
    p = load_problem("digits")
    assert (s["cost"] <= 0.05 * s["budget"] + 1e-9).all()
    by_money = {a["method"]: a for a in answer_money(s, p, cost, 35.0)}
    assert by_money["TBAL (certified)"]["labeled_share"] > by_money["by hand (passive)"]["labeled_share"]
    by_target = {a["method"]: a for a in answer_coverage(s, p, cost, 0.5)}
    assert by_target["by hand (passive)"]["cost"] == pytest.approx(0.5 * p.n * 0.05)
    tbal = by_target["TBAL (certified)"]["cost"]
    assert tbal is None or tbal < by_target["by hand (passive)"]["cost"]


def test_cost_command_writes_curves_csv_and_a_class_report(tmp_path):
    pytest.importorskip("matplotlib")
    r = CliRunner().invoke(main, ["quality-bench", "cost", "--datasets", "digits", "--budgets", "300,500",
                                  "--seeds", 1, "--jobs", 1, "--money", 20, "--target-coverage", 0.5,
                                  "--out", str(tmp_path), "--plots", str(tmp_path), "--json"],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    d = out["datasets"]["digits"]
    assert (tmp_path / "cost_digits.png").stat().st_size > 1000
    assert (tmp_path / "cost_summary.csv").exists() and (tmp_path / "class_report_digits.csv").exists()
    assert len(d["class_report"]) == 10 and {"status", "coverage", "needed"} <= set(d["class_report"][0])
    assert {a["method"] for a in d["money"]} == {"TBAL (certified)", "by hand (passive)"}
