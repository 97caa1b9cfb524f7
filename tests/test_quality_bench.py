"""The quality benchmarks: noisy annotators, mitigations, cost curves and the money answers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from surelabel.class_report import per_class_report, suggest_next_labels
from surelabel.cli import main
from surelabel.consensus import ConsensusOracle
from surelabel.cost import CostModel
from surelabel.oracles import SimulatedOracle
from surelabel.quality_bench import (
    METHODS,
    answer_coverage,
    answer_money,
    load_problem,
    noise_oracle,
    noise_run,
    noise_verdict,
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
    assert {a["method"] for a in d["money"]} == set(METHODS) | {"by hand (passive)"}
    assert {"AL+SC", "PL+SC", "self-training", "label spreading"} <= {r["method"] for r in out["summary"]}


def test_the_baselines_buy_the_same_labels_at_the_same_price_as_tbal():
    cost = CostModel.flat(0.05)
    runs = run_cost_bench(["digits"], ["TBAL (certified)", "AL+SC", "PL+SC"], {"digits": [400, 700]}, 2, cost,
                          n_jobs=1)
    base = runs[runs["method"] != "TBAL (certified)"]
    assert (base["human_labels"] == base["budget"]).all()  # every label of the budget, half of it validation
    assert np.allclose(base["cost"], 0.05 * base["budget"])
    tbal = runs[runs["method"] == "TBAL (certified)"]
    assert (tbal["human_labels"] <= tbal["budget"]).all()
    s = summarize_cost(runs)
    assert s.groupby("method")["budget"].apply(sorted).map(tuple).nunique() == 1  # the same budgets for all
    by_money = {a["method"]: a for a in answer_money(s, load_problem("digits"), cost, 35.0)}
    for m in ("AL+SC", "PL+SC"):
        assert by_money[m]["labeled_share"] > by_money["by hand (passive)"]["labeled_share"]
        assert by_money[m]["auto_error"] <= 0.05


def test_cost_command_runs_only_the_methods_asked_for():
    r = CliRunner().invoke(main, ["quality-bench", "cost", "--datasets", "digits", "--methods", "tbal,pl+sc",
                                  "--budgets", "400", "--seeds", 1, "--jobs", 1, "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert {row["method"] for row in json.loads(r.output)["summary"]} == {"TBAL (certified)", "PL+SC"}
    bad = CliRunner().invoke(main, ["quality-bench", "cost", "--datasets", "digits", "--methods", "tbal,svm"])
    assert bad.exit_code != 0 and bad.output.startswith("Error: Unknown method 'svm'.")


def _summary_row(method, budget, share, err, violations, runs=8):
    return {"dataset": "digits", "method": method, "budget": budget, "runs": runs, "cost": 0.05 * budget,
            "coverage": share / 2, "labeled_share": share, "auto_error": err, "accuracy": 1 - err,
            "violation_rate": violations / runs, "epsilon": 0.05}


def test_money_answers_leave_out_budgets_that_broke_epsilon():
    import pandas as pd

    cost = CostModel.flat(0.05)
    p = load_problem("digits")
    s = pd.DataFrame([_summary_row("certified", 400, 0.6, 0.01, 0), _summary_row("certified", 800, 0.9, 0.02, 1),
                      _summary_row("no promise", 400, 0.8, 0.03, 0), _summary_row("no promise", 800, 0.99, 0.12, 8),
                      _summary_row("always wrong", 400, 0.9, 0.11, 8)])
    got = {a["method"]: a for a in answer_money(s, p, cost, 40.0)}
    assert got["certified"]["labeled_share"] == 0.9  # one violating run in 8 is within δ's chance
    assert got["no promise"]["labeled_share"] == 0.8 and got["no promise"]["budget"] == 400
    assert got["always wrong"]["labeled_share"] is None and "kept ε" in got["always wrong"]["note"]
    reach = {a["method"]: a for a in answer_coverage(s, p, cost, 0.95)}
    assert reach["no promise"]["cost"] is None and reach["always wrong"]["cost"] is None


def test_a_class_without_observed_errors_needs_finitely_many_labels_and_gets_a_suggestion():
    # class "a": 40 validation points predicted "a", the 6 still outside its auto-labeled region all
    # correct (0 of 6 wrong, the digits case); 200 items, 150 auto-labeled, 50 open
    vp = np.r_[np.zeros(40, int), np.ones(40, int)]
    vl = vp.copy()
    vl[45:55] = 0  # class "b" is wrong a quarter of the time
    scores = np.r_[np.linspace(0.99, 0.9, 34), np.linspace(0.8, 0.7, 6), np.linspace(0.9, 0.5, 40)]
    val_open = np.r_[np.zeros(34, bool), np.ones(6, bool), np.ones(40, bool)]
    item_class = np.r_[np.zeros(200, int), np.ones(200, int)]
    src = np.r_[np.full(150, "auto"), np.full(50, "unlabeled"), np.full(200, "unlabeled")]
    r = per_class_report(classes=["a", "b"], val_pred=vp, val_labels=vl, val_open=val_open,
                         thresholds=[0.9, np.inf], val_scores=scores, item_class=item_class, item_source=src,
                         epsilon=0.05, delta_test=0.005)
    a = r.set_index("class").loc["a"]
    assert a["next_val"] == 6 and a["next_error"] == 0.0
    assert np.isfinite(a["needed"]) and 6 < a["needed"] < 400  # the floor for an error-free slice, not "impossible"
    assert a["status"] == "certified" and a["value"] > 0
    assert not np.isfinite(r.set_index("class").loc["b", "needed"])  # 25 % wrong stays out of reach
    tips = suggest_next_labels(r)
    assert any("'a'" in t and "more validation items" in t for t in tips), tips


def _noise_summary(violations_none, violations_double):
    import pandas as pd

    rows = []
    for m, v in (("none", violations_none), ("double-validation", violations_double)):
        rows.append({"dataset": "digits", "noise": "systematic", "rate": 0.1, "mitigation": m, "runs": 20,
                     "runs_with_auto": 20, "epsilon": 0.1, "coverage": 0.6, "error_true": 0.14,
                     "error_true_max": 0.2, "error_annotator": 0.05, "violation_true": v / 20,
                     "violation_annotator": 0.0, "validation_label_error": 0.1, "answers_per_item": 1.6})
    return pd.DataFrame(rows)


def test_noise_bench_says_when_the_guarantee_is_broken_and_names_the_mitigation(tmp_path):
    assert noise_verdict(_noise_summary(1, 0)) == []  # one violation in 20 runs: within δ = 5 %
    lines = noise_verdict(_noise_summary(20, 20))
    assert lines[0].startswith("GUARANTEE BROKEN") and len(lines) == 5
    assert "20 of 20 runs" in lines[1] and "mitigation none" in " ".join(lines)
    assert any("double-validation" in t and "ConsensusOracle" in t for t in lines)
    assert "spot check" in lines[-1]  # double-labeling did not help here: the annotators share the mistake
    broken = tmp_path / "broken.csv"
    _noise_summary(20, 0).to_csv(broken, index=False)
    r = CliRunner().invoke(main, ["quality-bench", "noise", "--replot", str(broken)], catch_exceptions=False)
    assert r.exit_code == 0 and "GUARANTEE BROKEN" in r.output and "double-validation" in r.output
    assert "spot check" not in r.output
    ok = tmp_path / "ok.csv"
    _noise_summary(1, 0).to_csv(ok, index=False)
    r = CliRunner().invoke(main, ["quality-bench", "noise", "--replot", str(ok), "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["guarantee_broken"] is False
