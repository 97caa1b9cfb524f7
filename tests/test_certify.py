"""Certify any labeler: machine labels + confidences + a random human-checked sample → accepted labels."""

from __future__ import annotations

import numpy as np
import pytest

from _cli import assert_one_line_error, invoke
from surelabel.thresholds import estimate_thresholds, select_confident


# ---------------------------------------------------------------------- estimate_thresholds' inputs
@pytest.mark.parametrize("y_pred, y_true, name", [
    (["a", "b"], ["a", "b"], "y_pred"),
    ([0, 1], ["a", "b"], "y_true"),          # was silently "every point wrong"
    ([0.5, 1.0], [0, 1], "y_pred"),
    ([0, 1], np.array(["x", 1], dtype=object), "y_true"),
])
def test_estimate_thresholds_refuses_labels_that_are_not_class_indices(y_pred, y_true, name):
    with pytest.raises(ValueError, match=rf"^{name} must hold class indices .*surelabel.certify"):
        estimate_thresholds([0.9, 0.8], y_pred, y_true, n_classes=2, epsilon=0.1)


def test_estimate_thresholds_still_takes_indices_whole_floats_and_missing_answers():
    s = np.linspace(1, 0, 400)
    est = estimate_thresholds(s, np.zeros(400, int), np.zeros(400, int), n_classes=2, epsilon=0.05)
    assert np.isfinite(est.thresholds[0])
    as_float = estimate_thresholds(s, np.zeros(400), np.zeros(400), n_classes=2, epsilon=0.05)
    assert as_float.thresholds.tolist() == est.thresholds.tolist()
    y_true, y_wrong = np.zeros(400), np.zeros(400, int)
    y_true[[3, 50, 90]] = np.nan  # no answer: an error, as before
    y_wrong[[3, 50, 90]] = 1
    skipped = estimate_thresholds(s, np.zeros(400, int), y_true, n_classes=2, epsilon=0.05)
    wrong = estimate_thresholds(s, np.zeros(400, int), y_wrong, n_classes=2, epsilon=0.05)
    assert skipped.n_errors.tolist() == wrong.n_errors.tolist() and wrong.n_errors[0] >= 1
    assert skipped.thresholds.tolist() == wrong.thresholds.tolist()


def test_select_confident_refuses_labels():
    with pytest.raises(ValueError, match="y_pred must hold class indices"):
        select_confident([0.9], ["a"], [0.5])


# ---------------------------------------------------------------------- certify(): the library
from surelabel.certification import certify, draw_validation  # noqa: E402
from surelabel.simulation import violation_slack  # noqa: E402

NAMES = np.array(["ant", "bee", "cat", "dog"])


def vendor(n=5000, seed=0):
    """A labeler that errs (30 %) only below confidence 0.5, with string labels."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(NAMES[:2], size=n)
    conf = rng.random(n)
    wrong = rng.random(n) < 0.3 * (conf < 0.5)
    pred = np.where(wrong, np.where(truth == "ant", "bee", "ant"), truth)
    return pred, conf, truth


def test_draw_validation_is_a_reproducible_uniform_draw_without_replacement():
    a = draw_validation(1000, 200, random_state=3)
    assert a.tolist() == draw_validation(1000, 200, random_state=3).tolist()
    assert a.size == np.unique(a).size == 200 and a.min() >= 0 and a.max() < 1000
    assert (np.diff(a) > 0).all()
    hits = np.zeros(50)
    for seed in range(400):
        hits[draw_validation(50, 10, random_state=seed)] += 1
    assert abs(hits.mean() - 80) < 1e-9 and hits.std() < 20  # every item about equally likely
    for bad in [(0, 1), (10, 0), (10, 11)]:
        with pytest.raises(ValueError):
            draw_validation(*bad)


def test_string_labels_work_and_the_sample_keeps_its_human_labels():
    pred, conf, truth = vendor()
    sample = draw_validation(pred.size, 500, random_state=1)
    cert = certify(pred, conf, {int(i): truth[i] for i in sample}, epsilon=0.05, sample=sample)
    assert cert.classes == ("ant", "bee")
    assert cert.n_validation == cert.n_answered == 500 and cert.n_skipped == 0
    assert 0.3 < cert.coverage < 0.6 and cert.certified_bound <= 0.05
    assert not cert.accepted[sample].any() and cert.in_validation[sample].all()
    assert (conf[cert.accepted] >= 0.4).all()
    labels = cert.labels
    assert (labels[sample] == truth[sample]).all()
    assert (labels[cert.accepted] == pred[cert.accepted]).all()
    assert all(v is None for v in labels[~cert.accepted & ~cert.in_validation])
    # the same, the human labels as an array aligned with the items (None where unlabeled)
    aligned = np.full(pred.size, None, dtype=object)
    aligned[sample] = truth[sample]
    again = certify(pred.tolist(), conf.tolist(), aligned, epsilon=0.05, sample=sample)
    assert again.accepted.tolist() == cert.accepted.tolist()
    assert again.thresholds.tolist() == cert.thresholds.tolist()
    # per class: estimates with 90 % intervals; in the overall promise no class has a bound of its own
    rows = cert.per_class()
    assert [r["class"] for r in rows] == ["ant", "bee"]
    for r in rows:
        lo, hi = r["val_interval"]
        assert lo <= r["val_error"] <= hi and r["certified_bound"] is None
    assert sum(r["accepted"] for r in rows) == cert.n_accepted
    d = cert.to_dict()
    assert d["bound_covers"] == "all accepted labels" and d["n_accepted"] == cert.n_accepted


def test_pandas_series_and_ids():
    pd = pytest.importorskip("pandas")
    pred, conf, truth = vendor(3000, seed=2)
    frame = pd.DataFrame({"pred": pred, "conf": conf}, index=[f"doc-{i}" for i in range(3000)])
    sample = draw_validation(3000, 500, random_state=0)
    human = pd.Series(truth[sample], index=frame.index[sample])
    cert = certify(frame["pred"], frame["conf"], human, epsilon=0.05, sample=sample)
    assert cert.ids[0] == "doc-0" and cert.n_answered == 500
    out = cert.to_frame()
    assert list(out.columns[:3]) == ["id", "machine_label", "confidence"]
    assert out["accepted"].sum() == cert.n_accepted
    acc = out[out["accepted"]]
    assert (acc["certified_bound"] == cert.certified_bound).all()
    assert (acc["bound_covers"] == "all accepted labels").all()
    assert out.loc[~out["accepted"], "bound_covers"].isna().all()
    # a dict keyed by the given ids works the same
    by_id = certify(pred, conf, dict(zip(frame.index[sample], truth[sample])), ids=frame.index, epsilon=0.05,
                    sample=sample)
    assert by_id.accepted.tolist() == cert.accepted.tolist()


def test_skipped_validation_items_count_as_errors():
    pred, conf, truth = vendor(seed=4)
    sample = draw_validation(pred.size, 500, random_state=4)
    full = {int(i): truth[i] for i in sample}
    # skip the machine's surest validation items: they would have been right
    surest = sample[np.argsort(-conf[sample])[:3]]
    skipped = {i: (None if i in set(surest.tolist()) else v) for i, v in full.items()}
    a = certify(pred, conf, full, epsilon=0.05, sample=sample)
    b = certify(pred, conf, skipped, epsilon=0.05, sample=sample)
    assert b.n_skipped == 3 and b.n_answered == 497
    wrong = {i: ("bee" if truth[i] == "ant" else "ant") if i in set(surest.tolist()) else v for i, v in full.items()}
    c = certify(pred, conf, wrong, epsilon=0.05, sample=sample)  # skipping is the same as a wrong answer
    assert b.accepted.tolist() == c.accepted.tolist() and b.val_errors.tolist() == c.val_errors.tolist()
    assert b.n_accepted < a.n_accepted or b.val_errors.sum() > a.val_errors.sum()
    # without sample=, only the answered items are the validation set (skips cannot be seen)
    assert certify(pred, conf, skipped, epsilon=0.05).n_validation == 497
    # nobody answered: nothing is accepted
    nobody = certify(pred, conf, {}, epsilon=0.05, sample=sample)
    assert nobody.n_accepted == 0 and np.isnan(nobody.certified_bound)


def test_per_class_guarantee_gives_each_class_its_own_bound():
    pred, conf, truth = vendor(8000, seed=5)
    sample = draw_validation(pred.size, 1500, random_state=5)
    cert = certify(pred, conf, {int(i): truth[i] for i in sample}, epsilon=0.05, sample=sample,
                   guarantee="per-class")
    assert cert.bound_covers == "this class" and cert.n_accepted > 0
    certified = np.isfinite(cert.thresholds)
    assert (cert.class_bound[certified] <= 0.05).all()
    assert cert.certified_bound == pytest.approx(np.nanmax(cert.class_bound))
    out = cert.item_bound()
    assert np.allclose(out[cert.accepted], cert.class_bound[cert.predicted[cert.accepted]])


@pytest.mark.parametrize("kwargs, message", [
    (dict(validation={0: "ant", 7: "eel"}), "label 'eel' of item 7 is not one of the classes"),
    (dict(validation={0: "ant", 9999: "ant"}), "id 9999, which is not an item"),
    (dict(validation={0: "ant", 1: "bee"}, sample=[0, 2]), "item 1 has a human label but is not in the sample"),
    (dict(validation={0: "ant"}, conf_nan=3), "item 3 has no confidence"),
    (dict(validation={0: "ant"}, guarantee="each"), "Unknown guarantee"),
    (dict(validation={0: "ant"}, epsilon=0), "'epsilon' parameter must be in the open interval"),
    (dict(validation={}), "no human label"),
    (dict(validation=["ant", None]), "one entry per item"),
])
def test_bad_inputs_are_refused_with_a_clear_message(kwargs, message):
    pred, conf, truth = vendor(200, seed=6)
    conf = conf.copy()
    if "conf_nan" in kwargs:
        conf[kwargs.pop("conf_nan")] = np.nan
    kwargs.setdefault("epsilon", 0.05)
    with pytest.raises(ValueError, match=message):
        certify(pred, conf, **kwargs)


def test_classes_the_labeler_never_predicts_can_be_given():
    pred, conf, truth = vendor(2000, seed=7)
    sample = draw_validation(pred.size, 400, random_state=7)
    human = {int(i): truth[i] for i in sample}
    human[int(sample[0])] = "eel"  # people saw a class the machine does not know: an error
    cert = certify(pred, conf, human, epsilon=0.1, sample=sample, classes=["ant", "bee", "eel"])
    assert cert.classes == ("ant", "bee", "eel") and cert.accepted_by_class[2] == 0
    assert cert.n_answered == 400


def test_the_promise_holds_over_seeds_for_a_vendor_model():
    """A model we do not retrain (logistic regression fitted once) labels fresh items drawn from the same
    distribution each seed; people label a random sample; how often are the accepted labels more than
    epsilon wrong? At most delta, up to three binomial standard errors."""
    from sklearn.linear_model import LogisticRegression

    from surelabel import datasets

    X, y = datasets.noisy_blobs(41_000, n_classes=4, d=8, spread=0.8, label_noise=0.01, random_state=0)
    model = LogisticRegression(max_iter=500).fit(X[:1000], y[:1000])
    proba = model.predict_proba(X[1000:])
    pred_all, conf_all, truth_all = NAMES[proba.argmax(1)], proba.max(1), NAMES[y[1000:]]
    runs, delta, n = 200, 0.05, 4000
    for guarantee, epsilon, n_val in (("overall", 0.05, 800), ("per-class", 0.1, 1500)):
        violated, coverage = [], []
        for seed in range(runs):
            rng = np.random.default_rng(seed)
            idx = rng.choice(truth_all.size, n, replace=False)
            pred, conf, truth = pred_all[idx], conf_all[idx], truth_all[idx]
            sample = draw_validation(n, n_val, random_state=rng)
            cert = certify(pred, conf, {int(i): truth[i] for i in sample}, epsilon=epsilon, delta=delta,
                           sample=sample, guarantee=guarantee)
            wrong = cert.accepted & (pred != truth)
            if guarantee == "overall":
                bad = wrong.sum() > epsilon * cert.n_accepted
            else:
                per = np.bincount(cert.predicted, weights=wrong, minlength=4)
                bad = (per > epsilon * cert.accepted_by_class).any()
            violated.append(bool(bad))
            coverage.append(cert.coverage)
        rate = float(np.mean(violated))
        assert rate <= delta + violation_slack(delta, runs), (guarantee, rate)
        assert np.mean(coverage) > 0.2, (guarantee, np.mean(coverage))  # not vacuous: labels are accepted


def test_the_package_exports_certify_whichever_is_imported_first():
    import importlib

    import surelabel

    importlib.import_module("surelabel.certification")  # the module's name differs from the function's
    assert callable(surelabel.certify) and not isinstance(surelabel.certify, type(importlib))
    pred, conf, truth = vendor(1000, seed=8)
    sample = surelabel.draw_validation(1000, 300, random_state=0)
    cert = surelabel.certify(pred, conf, {int(i): truth[i] for i in sample}, epsilon=0.1, sample=sample)
    assert isinstance(cert, surelabel.Certificate) and cert.n_validation == 300
    assert {"certify", "draw_validation", "Certificate"} <= set(surelabel.__all__)


# ---------------------------------------------------------------------- surelabel certify: the CLI
import json  # noqa: E402

import pandas as pd  # noqa: E402

BASE = ["--pred-column", "llm", "--confidence-column", "conf"]


@pytest.fixture
def items_csv(tmp_path):
    pred, conf, truth = vendor(3000, seed=11)
    frame = pd.DataFrame({"doc": [f"d{i:04d}" for i in range(3000)], "text": [f"post {i}" for i in range(3000)],
                          "llm": pred, "conf": conf.round(5), "gold": truth})
    path = tmp_path / "items.csv"
    frame.to_csv(path, index=False)
    return path


def fill_answers(sample_path, items_path, out_path, skip=0, edit=None):
    """Play the people: fill the sample's label column from the items' gold column."""
    sample = pd.read_csv(sample_path, dtype=str, keep_default_na=False)
    gold = pd.read_csv(items_path, dtype=str).set_index("doc")["gold"]
    sample["label"] = gold.loc[sample["id"]].to_numpy()
    sample.loc[sample.index[:skip], "label"] = ""
    if edit:
        edit(sample)
    sample[["id", "label"]].to_csv(out_path, index=False)
    return out_path


def test_cli_round_trip_draw_answer_certify(items_csv, tmp_path):
    drawn = invoke("certify", items_csv, *BASE, "--id-column", "doc", "--validation-size", 400, "--seed", 3)
    assert drawn.exit_code == 0, drawn.output
    sample_path = tmp_path / "items-to-label.csv"
    assert str(sample_path.name) in drawn.output and "--validation-size 400 --seed 3" in drawn.output
    sample = pd.read_csv(sample_path, dtype=str, keep_default_na=False)
    assert list(sample.columns[:2]) == ["id", "label"] and len(sample) == 400
    assert "llm" not in sample.columns and "conf" not in sample.columns  # people never see the machine's label
    assert (sample["label"] == "").all() and "text" in sample.columns
    # drawing again would overwrite people's work: refused
    assert_one_line_error(invoke("certify", items_csv, *BASE, "--id-column", "doc"), "exists")
    answers = fill_answers(sample_path, items_csv, tmp_path / "answers.csv", skip=2)
    out = tmp_path / "certified.parquet"
    result = invoke("certify", items_csv, *BASE, "--id-column", "doc", "--validation-size", 400, "--seed", 3,
                    "--answers", answers, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["n_validation"] == 400 and summary["n_skipped"] == 2 and summary["n_answered"] == 398
    assert summary["n_accepted"] > 0 and summary["certified_bound"] <= 0.05
    assert summary["bound_covers"] == "all accepted labels"
    table = pd.read_parquet(out)
    assert list(table.columns[:2]) == ["doc", "machine_label"] and len(table) == 3000
    assert int(table["accepted"].sum()) == summary["n_accepted"]
    assert not table.loc[table["in_validation"], "accepted"].any()
    acc = table[table["accepted"]]
    assert (acc["bound_covers"] == "all accepted labels").all()
    assert np.allclose(acc["certified_bound"], summary["certified_bound"])
    assert table.loc[~table["accepted"], "certified_bound"].isna().all()
    # the same sample answered from the column of known labels certifies the same way (no skips there)
    sim = invoke("certify", items_csv, *BASE, "--id-column", "doc", "--validation-size", 400, "--seed", 3,
                 "--simulate-from", "gold", "--json")
    assert sim.exit_code == 0, sim.output
    assert json.loads(sim.output)["n_skipped"] == 0 and json.loads(sim.output)["n_validation"] == 400
    # people's text: a summary and the per-class table
    text = invoke("certify", items_csv, *BASE, "--id-column", "doc", "--validation-size", 400, "--seed", 3,
                  "--answers", answers)
    assert text.exit_code == 0, text.output
    assert "coverage" in text.output and "2 without an answer (counted as errors)" in text.output
    assert "ant" in text.output and "90 % interval" in text.output and "estimates, not certificates" in text.output


def test_cli_simulate_per_class_to_csv_without_an_id_column(items_csv, tmp_path):
    out = tmp_path / "labels.csv"
    result = invoke("certify", items_csv, *BASE, "--simulate-from", "gold", "--guarantee", "per-class",
                    "--validation-size", 1000, "--out", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert table["id"].tolist() == list(range(3000))
    acc = table[table["accepted"]]
    assert len(acc) > 0 and (acc["bound_covers"] == "this class").all() and (acc["certified_bound"] <= 0.05).all()
    assert "this class" in result.output


def test_cli_answers_as_jsonl_and_default_sample_size(items_csv, tmp_path):
    sample_path = tmp_path / "check.jsonl"
    drawn = invoke("certify", items_csv, *BASE, "--out", sample_path, "--json")
    assert drawn.exit_code == 0, drawn.output
    info = json.loads(drawn.output)
    assert info["validation_size"] == 500 and info["sample"] == str(sample_path)
    gold = pd.read_csv(items_csv)["gold"]
    rows = [json.loads(line) for line in sample_path.read_text().splitlines()]
    answers = tmp_path / "answers.jsonl"
    answers.write_text("".join(json.dumps({"id": r["id"], "label": gold[int(r["id"])]}) + "\n" for r in rows))
    result = invoke("certify", items_csv, *BASE, "--answers", answers, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["n_answered"] == 500


@pytest.mark.parametrize("case", ["missing column", "unknown label", "not in sample", "unknown id", "nan confidence",
                                  "text confidence", "no label", "both sources", "bad out", "size", "epsilon",
                                  "same column"])
def test_cli_bad_inputs_give_one_line(items_csv, tmp_path, case):
    base = ["certify", items_csv, *BASE, "--id-column", "doc", "--validation-size", 300]
    drawn = invoke(*base, "--out", tmp_path / "s.csv")
    assert drawn.exit_code == 0, drawn.output

    def answers(edit=None):
        return fill_answers(tmp_path / "s.csv", items_csv, tmp_path / "a.csv", edit=edit)

    frame = pd.read_csv(items_csv)
    if case == "missing column":
        assert_one_line_error(invoke("certify", items_csv, "--pred-column", "llm", "--confidence-column", "score"),
                              "'score' not found in", "items.csv")
    elif case == "unknown label":
        path = answers(lambda s: s.__setitem__("label", ["eel"] + s["label"].tolist()[1:]))
        assert_one_line_error(invoke(*base, "--answers", path), "a.csv, row 2", "label 'eel'", "--classes")
        ok = invoke(*base, "--answers", path, "--classes", "eel", "--json")  # a class the labeler never predicts
        assert ok.exit_code == 0 and json.loads(ok.output)["n_answered"] == 300
    elif case == "not in sample":
        drawn_ids = set(pd.read_csv(tmp_path / "s.csv", dtype=str)["id"])
        outside = next(d for d in frame["doc"] if d not in drawn_ids)
        path = answers(lambda s: s.__setitem__("id", [outside] + s["id"].tolist()[1:]))
        assert_one_line_error(invoke(*base, "--answers", path), "a.csv, row 2", f"'{outside}' is not in the sample",
                              "--seed 0 --validation-size 300")
        # a different seed than the draw's: the same mistake, caught the same way
        assert_one_line_error(invoke(*base[:-1], 300, "--seed", 9, "--answers", answers()), "not in the sample")
    elif case == "unknown id":
        path = answers(lambda s: s.__setitem__("id", ["nobody"] + s["id"].tolist()[1:]))
        assert_one_line_error(invoke(*base, "--answers", path), "a.csv, row 2", "'nobody' is not an item")
    elif case in ("nan confidence", "text confidence"):
        frame["conf"] = frame["conf"].astype(object)
        frame.loc[6, "conf"] = None if case == "nan confidence" else "high"
        bad = tmp_path / "bad.csv"
        frame.to_csv(bad, index=False)
        needle = "has no confidence" if case == "nan confidence" else "'high', which is not a number"
        assert_one_line_error(invoke("certify", bad, *BASE, "--simulate-from", "gold"), "bad.csv, row 7",
                              "column 'conf'", needle)
    elif case == "no label":
        frame.loc[4, "llm"] = None
        bad = tmp_path / "bad.csv"
        frame.to_csv(bad, index=False)
        assert_one_line_error(invoke("certify", bad, *BASE, "--simulate-from", "gold"), "bad.csv, row 5",
                              "no machine label")
    elif case == "both sources":
        assert_one_line_error(invoke(*base, "--answers", answers(), "--simulate-from", "gold"), "not both")
    elif case == "bad out":
        assert_one_line_error(invoke(*base, "--simulate-from", "gold", "--out", tmp_path / "x.txt"), "x.txt")
        assert_one_line_error(invoke(*base, "--simulate-from", "gold", "--out", tmp_path / "no" / "x.csv"),
                              "does not exist")
    elif case == "size":
        assert_one_line_error(invoke("certify", items_csv, *BASE, "--validation-size", 5000), "more than the 3000")
    elif case == "epsilon":
        assert_one_line_error(invoke("certify", items_csv, *BASE, "--epsilon", 1.5), "--epsilon")
    elif case == "same column":
        assert_one_line_error(invoke("certify", items_csv, "--pred-column", "llm", "--confidence-column", "llm"),
                              "must differ")


def test_readme_bring_your_own_model_example_runs():
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Bring your own model", 1)[1].split("\n## ", 1)[0]
    code = re.findall(r"```python\n(.*?)```", section, flags=re.S)[0]
    assert len(code.strip().splitlines()) <= 5
    pred, conf, truth = vendor(4000, seed=12)
    df = pd.DataFrame({"text": [f"post {i}" for i in range(4000)], "llm_label": pred, "llm_conf": conf})
    asked = []

    def ask_a_person(text):
        asked.append(text)
        return truth[int(text.split()[1])]

    namespace = {"df": df, "ask_a_person": ask_a_person}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    cert = namespace["cert"]
    assert len(asked) == 500 and cert.n_answered == 500 and cert.n_accepted > 0
    acc = df["accepted"].to_numpy()
    assert (df.loc[acc, "label"] == df.loc[acc, "llm_label"]).all()
    assert (df["label"].to_numpy()[cert.in_validation] == truth[cert.in_validation]).all()
