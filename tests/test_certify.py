"""Certify any labeler: machine labels + confidences + a random human-checked sample → accepted labels."""

from __future__ import annotations

import numpy as np
import pytest

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
from surelabel.certify import certify, draw_validation  # noqa: E402
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


def test_the_package_exports_certify_callable_whichever_is_imported_first():
    import importlib

    import surelabel

    importlib.import_module("surelabel.certify")  # sets the package attribute to the module
    pred, conf, truth = vendor(1000, seed=8)
    sample = surelabel.draw_validation(1000, 300, random_state=0)
    cert = surelabel.certify(pred, conf, {int(i): truth[i] for i in sample}, epsilon=0.1, sample=sample)
    assert isinstance(cert, surelabel.Certificate) and cert.n_validation == 300
    assert {"certify", "draw_validation", "Certificate"} <= set(surelabel.__all__)
