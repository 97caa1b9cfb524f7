"""The quality commands as a user drives them: help, JSON shapes, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from _cli import assert_one_line_error, invoke
from surelabel import datasets


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("quality")
    X, y = datasets.unit_ball(1200, d=4, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(4)])
    frame.insert(0, "id", [f"item-{i}" for i in range(len(y))])
    frame["label"] = np.where(y == 1, "yes", "no")
    noisy = frame.copy()
    flip = np.random.default_rng(0).random(len(y)) < 0.1
    noisy.loc[flip, "label"] = np.where(noisy.loc[flip, "label"] == "yes", "no", "yes")
    items, noisy_items = tmp / "items.csv", tmp / "noisy.csv"
    frame.to_csv(items, index=False)
    noisy.to_csv(noisy_items, index=False)
    labels = tmp / "labels.csv"
    r = invoke("run", items, "--feature-prefix", "f", "--label-column", "label", "--id-column", "id",
               "--budget", 400, "--validation-size", 250, "--out", labels)
    assert r.exit_code == 0, r.output
    no_auto = tmp / "no_auto.csv"
    pd.read_csv(labels).assign(source="human").to_csv(no_auto, index=False)
    return {"items": items, "noisy": noisy_items, "labels": labels, "no_auto": no_auto, "tmp": tmp, "flip": flip}


@pytest.mark.parametrize("command", [["plan"], ["audit"], ["spot-check"], ["review"], ["quality-bench"],
                                     ["quality-bench", "noise"], ["quality-bench", "cost"],
                                     ["quality-bench", "audit"], ["quality-bench", "planner"],
                                     ["quality-bench", "spot-check"]])
def test_every_quality_command_has_help(command):
    result = invoke(*command, "--help")
    assert result.exit_code == 0 and "Usage" in result.output


def test_plan_json_shape():
    r = invoke("plan", "--epsilon", 0.05, "--classes", 3, "--expected-error", "0,0.01,0.07", "--guarantee", "per-class",
               "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert [g["group"] for g in out["groups"]] == ["0", "1", "2"]
    assert out["groups"][0]["needed_any"] == out["groups"][0]["min_labels"]
    assert out["groups"][2]["needed_any"] is None and out["notes"]
    assert {"validation_size", "group", "p_any", "expected_coverage"} <= set(out["curve"][0])


def test_plan_reads_a_pilot_file(tmp_path):
    rng = np.random.default_rng(0)
    s = rng.random(1000)
    pred = rng.integers(0, 2, 1000)
    label = np.where(rng.random(1000) < 0.05 * (1 - s), 1 - pred, pred)
    path = tmp_path / "pilot.csv"
    pd.DataFrame({"score": s, "predicted": pred, "label": label}).to_csv(path, index=False)
    r = invoke("plan", "--epsilon", 0.05, "--pilot", path, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["total_any"] > 0
    pd.DataFrame({"score": s}).to_csv(path, index=False)
    assert_one_line_error(invoke("plan", "--epsilon", 0.05, "--pilot", path), "predicted", "label")


def test_audit_finds_the_flipped_labels_and_warns(files):
    out = files["tmp"] / "issues.csv"
    r = invoke("audit", files["noisy"], "--feature-prefix", "f", "--label-column", "label", "--id-column", "id",
               "--epsilon", 0.05, "--out", out, "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    assert res["summary"]["noisy"] and "re-review" in res["summary"]["message"]
    table = pd.read_csv(out)
    assert list(table.columns[:5]) == ["id", "index", "given", "suggested", "score"]
    flagged = set(table.loc[table["is_issue"], "id"])
    planted = {f"item-{i}" for i in np.flatnonzero(files["flip"])}
    assert len(flagged & planted) / len(planted) > 0.7


def test_spot_check_draws_a_batch_then_judges_the_answers(files):
    batch = files["tmp"] / "batch.csv"
    r = invoke("spot-check", files["labels"], "--n", 60, "--seed", 1, "--out", batch, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["n"] == 60
    drawn = pd.read_csv(batch)
    assert list(drawn.columns) == ["id", "label"] and drawn["label"].isna().all()  # auto-labels are not shown
    truth = pd.read_csv(files["items"]).set_index("id")["label"]
    drawn["label"] = truth.loc[drawn["id"]].to_numpy()
    answers = files["tmp"] / "answers.csv"
    drawn.to_csv(answers, index=False)
    r = invoke("spot-check", files["labels"], "--answers", answers, "--epsilon", 0.05, "--json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert rep["n"] == 60 and rep["ci_low"] <= rep["error"] <= rep["ci_high"]
    assert {c["class"] for c in rep["per_class"]} <= {"yes", "no"}


def test_review_queues_auto_labels_and_flagged_human_labels(files):
    issues = files["tmp"] / "issues_for_review.csv"
    invoke("audit", files["noisy"], "--feature-prefix", "f", "--label-column", "label", "--id-column", "id",
           "--out", issues)
    r = invoke("review", files["labels"], "--n", 10, "--by", "issue-score", "--issues", issues, "--json")
    assert r.exit_code == 0, r.output
    q = json.loads(r.output)["queue"]
    assert len(q) == 10 and q[0]["source"] == "human" and "audit" in q[0]["reason"]
    r = invoke("review", files["labels"], "--n", 5, "--json")
    assert [row["source"] for row in json.loads(r.output)["queue"]] == ["auto"] * 5


def test_run_reports_cost_and_accepts_a_money_budget(files):
    r = invoke("run", files["items"], "--feature-prefix", "f", "--label-column", "label", "--money", 20,
               "--price", 0.05, "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["budget"] == 400 and out["cost"]["total"] <= 20
    assert out["cost"]["total"] == pytest.approx(0.05 * out["human_labels"]["total"])


@pytest.mark.parametrize(
    "args,needles",
    [
        (["run", "{items}", "--feature-prefix", "f", "--label-column", "label", "--budget", 300, "--price", -1],
         ["price per label", ">= 0"]),
        (["run", "{items}", "--feature-prefix", "f", "--label-column", "label", "--budget", 300, "--prices",
          "{prices_unknown}"], ["'maybe'", "not a known class"]),
        (["run", "{items}", "--feature-prefix", "f", "--label-column", "label", "--money", 10], ["--price"]),
        (["run", "{items}", "--feature-prefix", "f", "--label-column", "label"], ["--budget", "--money"]),
        (["spot-check", "{no_auto}", "--n", 10], ["no auto-labels"]),
        (["spot-check", "{labels}", "--n", 100000], ["Cannot spot-check 100000", "only"]),
        (["spot-check", "{labels}", "--n", 0], ["positive"]),
        (["review", "{labels}", "--n", 100000], ["only"]),
        (["review", "{no_auto}", "--n", 5], ["Nothing to review"]),
        (["audit", "{items}", "--feature-prefix", "f", "--label-column", "nope"], ["'nope'", "not found"]),
        (["audit", "{items}", "--feature-prefix", "f", "--label-column", "label", "--epsilon", -1], ["epsilon"]),
        (["audit", "{items}", "--feature-prefix", "f", "--label-column", "label", "--folds", 1], ["--folds"]),
        (["plan", "--epsilon", 1.5], ["epsilon"]),
        (["plan", "--epsilon", 0.05, "--classes", 2, "--shares", "0.5,0.6"], ["summing to 1"]),
        (["plan", "--epsilon", 0.05, "--class-names", "a,a"], ["unique"]),
        (["plan", "--epsilon", 0.05, "--classes", 3, "--expected-error", "0.1,0.2"], ["one per class"]),
        (["quality-bench", "cost", "--datasets", "digits", "--price", -0.5], [">= 0"]),
        (["quality-bench", "cost", "--datasets", "digits", "--prices", "{prices_unknown}"], ["not a known class"]),
        (["quality-bench", "noise", "--datasets", "nowhere"], ["Unknown dataset"]),
        (["quality-bench", "noise", "--datasets", "unit-ball", "--rates", "1.5"], ["Noise rates"]),
    ],
)
def test_bad_input_gets_a_one_line_error(files, args, needles):
    prices = files["tmp"] / "prices_unknown.csv"
    prices.write_text("class,price\nyes,0.1\nno,0.1\nmaybe,0.2\n")
    paths = {k: str(v) for k, v in files.items() if k != "flip"} | {"prices_unknown": str(prices)}
    filled = [a.format(**paths) if isinstance(a, str) else a for a in args]
    assert_one_line_error(invoke(*filled), *needles)


def test_planner_and_audit_benchmarks_json_shapes():
    r = invoke("quality-bench", "planner", "--epsilons", "0.1", "--ratios", "0,0.25", "--check-runs", 20, "--json")
    assert r.exit_code == 0, r.output
    table = json.loads(r.output)["table"]
    assert [row["needed"] for row in table][0] == 29 and table[1]["single_test"] < table[1]["needed"]
    assert all(row["simulated_share"] >= 0.7 for row in table)
    r = invoke("quality-bench", "audit", "--datasets", "unit-ball", "--rates", "0.1", "--noise", "uniform",
               "--seeds", 1, "--max-items", 800, "--jobs", 1, "--json")
    assert r.exit_code == 0, r.output
    row = json.loads(r.output)["summary"][0]
    assert row["precision_at_k"] > 0.6 and row["items"] == 800


def test_spot_check_answers_with_an_unknown_class_or_a_repeated_item_are_refused(files):
    batch = files["tmp"] / "batch_bad.csv"
    assert invoke("spot-check", files["labels"], "--n", 5, "--seed", 2, "--out", batch).exit_code == 0
    drawn = pd.read_csv(batch)
    drawn["label"] = "yes"
    bad_class, repeated = files["tmp"] / "bad_class.csv", files["tmp"] / "repeated.csv"
    drawn.assign(label=["banana"] + ["yes"] * (len(drawn) - 1)).to_csv(bad_class, index=False)
    pd.concat([drawn, drawn.iloc[:1]]).to_csv(repeated, index=False)
    assert_one_line_error(invoke("spot-check", files["labels"], "--answers", bad_class), "row 1", "'banana'")
    assert_one_line_error(invoke("spot-check", files["labels"], "--answers", repeated), "answered twice")


def test_review_refuses_an_audit_of_other_items_and_issue_score_without_one(files):
    foreign = files["tmp"] / "foreign_issues.csv"
    pd.DataFrame({"id": ["other-1"], "given": ["yes"], "suggested": ["no"], "score": [0.9],
                  "is_issue": [True]}).to_csv(foreign, index=False)
    assert_one_line_error(invoke("review", files["labels"], "--by", "issue-score", "--issues", foreign),
                          "'other-1'", "not an item")
    assert_one_line_error(invoke("review", files["labels"], "--by", "issue-score"), "--issues")


@pytest.mark.parametrize("name", ["noise", "cost"])
def test_bench_noise_and_cost_are_the_quality_benchmarks(name):
    assert invoke("bench", name, "--help").output == invoke("quality-bench", name, "--help").output.replace(
        "quality-bench", "bench")


def test_run_reports_each_class_and_where_to_label_next(files):
    r = invoke("run", files["items"], "--feature-prefix", "f", "--label-column", "label", "--budget", 400,
               "--validation-size", 250, "--price", 0.05, "--class-report", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    rows = {row["class"]: row for row in out["class_report"]}
    assert set(rows) == {"yes", "no"}
    assert sum(row["auto_labeled"] for row in rows.values()) == out["n_auto"]
    assert all(row["status"] for row in rows.values()) and isinstance(out["suggestions"], list)
