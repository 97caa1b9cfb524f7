"""The cost model: prices, money budgets, and refusals of bad price tables."""

from __future__ import annotations

import json

import numpy as np
import pytest

from surelabel.cost import CostModel, label_studio_lead_times, read_price_table, result_cost
from surelabel.exceptions import InputError


def test_flat_per_class_and_per_second_prices():
    assert CostModel.flat(0.1).cost_of(n=30) == pytest.approx(3.0)
    assert CostModel.flat(0.1).cost_of(["a", "b"]) == pytest.approx(0.2)
    m = CostModel.per_class({"cat": 0.2, "dog": 0.2, "truck": 0.05})
    assert m.cost_of(["cat", "truck", "dog"]) == pytest.approx(0.45)
    t = CostModel.per_second(0.01, default_seconds=20)
    assert t.cost_of(times=[10, np.nan, 30]) == pytest.approx(0.6)


def test_integer_classes_match_a_text_price_table():
    m = CostModel.per_class({"0": 1.0, "1": 2.0}, classes=[0, 1])
    assert m.cost_of(np.array([0, 1, 1])) == pytest.approx(5.0)


def test_money_budget_becomes_a_label_budget_that_cannot_overspend():
    m = CostModel.per_class({"cat": 0.2, "dog": 0.1})
    n = m.label_budget(10.0)
    assert n == 50 and m.cost_of(["cat"] * n) <= 10.0
    assert m.label_budget(10.0, worst_case=False, class_shares={"cat": 0.5, "dog": 0.5}) == 66
    assert CostModel.per_second(0.02).label_budget(12.0, mean_seconds=30) == 20


@pytest.mark.parametrize(
    "make,needle",
    [
        (lambda: CostModel.flat(-1), "must be a finite number >= 0"),
        (lambda: CostModel.flat(float("nan")), "finite"),
        (lambda: CostModel.per_class({"cat": -0.1}), "class 'cat'"),
        (lambda: CostModel.per_class({"cat": 0.1, "cta": 0.1}, classes=["cat", "dog"]), "'cta', which is not a known"),
        (lambda: CostModel.per_class({"cat": 0.1}, classes=["cat", "dog"]), "no price for class 'dog'"),
        (lambda: CostModel.per_class({}), "empty"),
        (lambda: CostModel.per_class({"cat": 0.1}).cost_of(["dog"]), "No price for class 'dog'"),
        (lambda: CostModel.per_second(0.1).cost_of(times=[1.0, np.nan]), "no labeling time"),
        (lambda: CostModel.per_second(0.1).cost_of(times=[-1.0]), ">= 0 seconds"),
        (lambda: CostModel.flat(0).label_budget(10), "free"),
        (lambda: CostModel.flat(0.1).label_budget(-5), "money budget"),
    ],
)
def test_bad_prices_are_refused_with_one_line(make, needle):
    with pytest.raises(InputError, match=needle) as info:
        make()
    assert "\n" not in str(info.value)


def test_price_tables_from_csv_and_json(tmp_path):
    csv = tmp_path / "p.csv"
    csv.write_text("class,price\ncat,0.2\ndog,0.1\n")
    assert read_price_table(csv) == {"cat": 0.2, "dog": 0.1}
    js = tmp_path / "p.json"
    js.write_text(json.dumps({"cat": 0.2}))
    assert read_price_table(js) == {"cat": 0.2}
    bad = tmp_path / "bad.csv"
    bad.write_text("class,price\ncat,0.2\ndog,-3\n")
    with pytest.raises(InputError, match="row 2"):
        read_price_table(bad)
    dup = tmp_path / "dup.csv"
    dup.write_text("class,price\ncat,0.2\ncat,0.3\n")
    with pytest.raises(InputError, match="priced twice"):
        read_price_table(dup)


def test_label_studio_lead_times(tmp_path):
    export = [{"id": 1, "annotations": [{"lead_time": 4.5}, {"lead_time": 1.5}]}, {"id": 2, "annotations": []}]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export))
    frame = label_studio_lead_times(path)
    assert frame["task_id"].tolist() == [1, 2]
    assert frame["lead_time"][0] == 6.0 and np.isnan(frame["lead_time"][1])


def test_cost_of_a_run_splits_validation_and_training():
    from sklearn.linear_model import LogisticRegression

    from surelabel import AutoLabeler, SimulatedOracle, datasets

    X, y = datasets.unit_ball(1500, d=4, random_state=0)
    names = np.where(y == 1, "yes", "no")
    result = AutoLabeler(LogisticRegression(), epsilon=0.1, budget=300, validation_size=200,
                         random_state=0).run(X, SimulatedOracle(names))
    cost = result_cost(result, CostModel.per_class({"yes": 0.3, "no": 0.1}))
    val = result.labels[result.source == "validation"]
    assert cost["validation"] == pytest.approx(0.3 * (val == "yes").sum() + 0.1 * (val == "no").sum())
    assert cost["total"] == pytest.approx(cost["validation"] + cost["training"])
    assert cost["per_auto_label"] == pytest.approx(cost["total"] / result.n_auto)
