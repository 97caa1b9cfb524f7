"""Per-class report: which classes are hard to certify, which are cheap, where to label next.

After a run, each class stands somewhere between "fully certified" and "never auto-labeled"
(threshold ``inf``). :func:`per_class_report` says where, and why, from the validation
evidence: how many validation points the model predicts as the class, how many of them are
wrong, how many the planner (:func:`~surelabel.planner.labels_needed`) says the class needs
to be certified in most runs at that error rate, and what the missing labels would cost.
The ``value`` column — items that could still be certified per unit of money spent on the
class's missing validation labels — ranks where the next labels buy the most certified
coverage; :func:`suggest_next_labels` turns the top of that ranking into sentences.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .planner import labels_needed

__all__ = ["per_class_report", "per_class_report_from_run", "suggest_next_labels"]


def per_class_report(
    *,
    classes: ArrayLike,
    val_pred: ArrayLike,
    val_labels: ArrayLike,
    val_open: ArrayLike,
    thresholds: ArrayLike,
    val_scores: ArrayLike | None = None,
    next_share: float = 0.25,
    item_class: ArrayLike,
    item_source: ArrayLike,
    epsilon: float,
    delta_test: float,
    bound: str = "clopper-pearson",
    min_support: int = 10,
    power: float = 0.5,
    cost_model: Any = None,
    y_true: ArrayLike | None = None,
    low_coverage: float = 0.5,
):
    """One row per class: coverage, validation evidence, cost, and what more coverage needs.

    Parameters
    ----------
    classes : array-like, shape (K,)
        Class names in class-index order.
    val_pred, val_labels : array-like of int, shape (m,)
        Predicted class index and human label index of every validation point.
    val_open : array-like of bool, shape (m,)
        Validation points still outside the auto-labeled region (the evidence about the
        items not yet covered).
    thresholds : array-like of float, shape (K,)
        Last finite threshold of each class (``inf``: never certified).
    val_scores : array-like of float, shape (m,), optional
        Scores of the validation points. With them, the plan is for the *next slice*: the
        most confident ``next_share`` of the class's open validation points (the region a
        lower threshold would add next); without them, for the whole open part.
    next_share : float, default 0.25
    item_class : array-like of int, shape (n,)
        Class index each pool item has or is predicted to have (auto-label, human label, or
        the model's prediction for unlabeled items); ``-1`` to skip an item.
    item_source : array-like of str, shape (n,)
        ``auto``, ``human``, ``validation`` or ``unlabeled``.
    epsilon : float
    delta_test : float
        Failure probability of one certification test (the loop's round share; per class
        for ``search="per-class"``).
    bound, min_support : as in :func:`~surelabel.planner.labels_needed`.
    power : float, default 0.5
        ``needed`` is the planner's count for certification in this share of runs.
    cost_model : CostModel, optional
        Prices per class (default: every label costs 1).
    y_true : array-like of int, shape (n,), optional
        True class index of every item (simulations): adds the realised auto-label error.
    low_coverage : float, default 0.5
        Certified classes below this coverage are reported as ``low coverage``.

    Returns
    -------
    pandas.DataFrame
        ``class``, ``items`` (pool items with that label or prediction), ``auto_labeled``,
        ``coverage``, ``threshold``, ``val_support`` (validation points predicted as the
        class), ``val_error`` (their error rate against the annotators), ``human_labels``
        spent on the class, ``price``, ``cost_per_auto_label``, ``open_val`` and
        ``open_error`` (validation evidence on the uncovered part), ``next_val`` and
        ``next_error`` (on its next slice), ``plan_error`` (the error rate the slice is
        planned at), ``needed`` (validation points the slice needs),
        ``extra_validation``, ``extra_cost``, ``uncovered``, ``next_gain`` (items in the
        slice), ``value`` (those items per unit of extra cost), ``status`` (and
        ``true_error``).

    Notes
    -----
    ``needed`` plans the next slice of the class alone, at the error rate ``plan_error``
    read from its validation points (:func:`_plan_error`: the Jeffreys mean
    ``(k + 1/2) / (n + 1)`` when errors were seen; with none, the slice is planned as
    error-free, so ``needed`` is the fewest points that can certify it at all — the rule
    of three, ``min_certifiable_size`` — a floor that an error among the new labels
    raises). With one threshold shared by all classes the evidence is pooled, so it is a
    guide to where labels help, not a promise.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> vp = rng.integers(0, 2, 400)
    >>> vl = np.where(rng.random(400) < np.where(vp == 0, 0.005, 0.2), 1 - vp, vp)
    >>> items = rng.integers(0, 2, 5000)
    >>> src = np.where((items == 0) & (rng.random(5000) < 0.9), "auto", "unlabeled")
    >>> r = per_class_report(classes=["cat", "dog"], val_pred=vp, val_labels=vl, val_open=vp == 1,
    ...                      thresholds=[0.9, np.inf], item_class=items, item_source=src,
    ...                      epsilon=0.05, delta_test=0.01)
    >>> r[["class", "status"]].values.tolist()
    [['cat', 'certified'], ['dog', 'hard: the model is wrong too often here']]
    """
    import pandas as pd

    names = [c for c in np.asarray(classes, dtype=object).tolist()]
    K = len(names)
    vp = np.asarray(val_pred, dtype=np.intp).ravel()
    vl = np.asarray(val_labels, dtype=np.intp).ravel()
    vo = np.asarray(val_open, dtype=bool).ravel()
    vs = None if val_scores is None else np.asarray(val_scores, dtype=float).ravel()
    thr = np.asarray(thresholds, dtype=float).ravel()
    ic = np.asarray(item_class, dtype=np.intp).ravel()
    src = np.asarray(item_source).astype(str).ravel()
    yt = None if y_true is None else np.asarray(y_true, dtype=np.intp).ravel()
    rows = []
    for c in range(K):
        in_c = (ic == c) & (src != "validation")
        n_items = int(in_c.sum())
        auto = in_c & (src == "auto")
        n_auto = int(auto.sum())
        sup = vp == c
        n_sup = int(sup.sum())
        k_sup = int((sup & (vl != c)).sum())
        # labels people gave this class (by their answer), validation included
        n_human = int(((ic == c) & ((src == "human") | (src == "validation"))).sum())
        price = 1.0 if cost_model is None else float(cost_model.prices([names[c]])[0])
        open_c = sup & vo
        n_open = int(open_c.sum())
        k_open = int((open_c & (vl != c)).sum())
        uncovered = int((in_c & (src == "unlabeled")).sum())
        if vs is not None and n_open:
            pos = np.flatnonzero(open_c)
            pos = pos[np.argsort(-vs[pos], kind="stable")]
            n_next = min(n_open, max(int(math.ceil(next_share * n_open)), min(10, n_open)))
            k_next = int((vl[pos[:n_next]] != c).sum())
            gain = uncovered * n_next / n_open
        else:
            n_next, k_next, gain = n_open, k_open, float(uncovered)
        err_plan = _plan_error(k_next, n_next)
        need = labels_needed(err_plan, epsilon=epsilon, delta=delta_test, bound=bound,
                             min_support=min_support, power=power)
        extra = max(need - n_next, 0.0) if math.isfinite(need) else math.inf
        extra_cost = extra * price
        cov = n_auto / n_items if n_items else 0.0
        certified = bool(np.isfinite(thr[c])) or n_auto > 0
        if certified and cov >= low_coverage:
            status = "certified"
        elif not math.isfinite(need):
            status = "hard: the model is wrong too often here"
        elif certified:
            status = "low coverage"
        else:
            status = "hard: not certified"
        if gain == 0 or not math.isfinite(extra_cost):
            value = 0.0
        elif extra_cost == 0:
            value = math.inf  # the evidence is there: coverage should come with the next rounds
        else:
            value = gain / extra_cost
        row = {
            "class": names[c],
            "items": n_items,
            "auto_labeled": n_auto,
            "coverage": cov,
            "threshold": float(thr[c]) if np.isfinite(thr[c]) else None,
            "val_support": n_sup,
            "val_error": k_sup / n_sup if n_sup else math.nan,
            "human_labels": n_human,
            "price": price,
            "cost_per_auto_label": n_human * price / n_auto if n_auto else math.inf,
            "open_val": n_open,
            "open_error": k_open / n_open if n_open else math.nan,
            "next_val": n_next,
            "next_error": k_next / n_next if n_next else math.nan,
            "plan_error": err_plan,
            "needed": need,
            "extra_validation": extra,
            "extra_cost": extra_cost,
            "uncovered": uncovered,
            "next_gain": gain,
            "value": value,
            "status": status,
        }
        if yt is not None:
            row["true_error"] = float(np.mean(yt[auto] != c)) if n_auto else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _plan_error(k: int, n: int) -> float:
    """The error rate to plan a slice with ``k`` errors in ``n`` validation points at.

    With errors seen, the Jeffreys mean ``(k + 1/2) / (n + 1)``: one error in a handful of
    points is evidence the slice is bad. With none, 0 — the Jeffreys mean of a small clean
    slice (``0.5 / 7`` for 0 of 6) is the prior talking, and it exceeds what the search can
    certify (about 0.4 ε), so it would call a class with no observed error impossible.
    Planning it error-free asks for the labels an error-free region needs
    (:func:`~surelabel.thresholds.min_certifiable_size`, about ``ln(1/δ) / ε``: the rule of
    three), which is the honest lower bound.

    Examples
    --------
    >>> _plan_error(0, 6), round(_plan_error(2, 9), 3)
    (0.0, 0.25)
    """
    return 0.0 if k == 0 else (k + 0.5) / (n + 1.0)


def suggest_next_labels(report: Any, *, top: int = 3, currency: str | None = "$") -> list[str]:
    """Sentences for the classes where the next validation labels buy the most certified coverage.

    Classes whose open part the model gets wrong too often come first (validation labels
    cannot help them); then every class with items still open, certified or not, ranked by
    ``value`` (a certified class at 70 % coverage may be the cheapest place to gain more).

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame([{"class": "shirt", "extra_validation": 120.0, "extra_cost": 12.0, "next_gain": 900,
    ...                    "uncovered": 3600, "value": 75.0, "status": "hard: not certified"}])
    >>> print(suggest_next_labels(r)[0])  # doctest: +NORMALIZE_WHITESPACE
    Label about 120 more validation items the model predicts as 'shirt' ($12.00): about 900 more items
    could be certified (75.0 items per $1).

    Without prices (``currency=None``) labels are counted, not priced (``extra_cost`` is then
    the number of labels):

    >>> r.loc[0, "extra_cost"], r.loc[0, "value"] = 120.0, 7.5
    >>> print(suggest_next_labels(r, currency=None)[0])  # doctest: +NORMALIZE_WHITESPACE
    Label about 120 more validation items the model predicts as 'shirt': about 900 more items could be
    certified (7.5 items per label).
    """
    out = []
    cand = report[(report["value"] > 0) & (report["uncovered"] > 0)]
    cand = cand.sort_values("value", ascending=False, kind="stable")
    hard = report[(report["status"] == "hard: the model is wrong too often here") & (report["uncovered"] > 0)]
    for _, r in hard.sort_values("uncovered", ascending=False, kind="stable").head(top).iterrows():
        out.append(
            f"{r['class']!r}: even the model's surest uncovered predictions are wrong {100 * r['next_error']:.0f}% of "
            f"the time on validation; more validation labels cannot certify them at this epsilon — "
            f"more training labels "
            f"(of {r['class']!r} and its look-alikes), better features or a larger epsilon for it "
            f"({int(r['uncovered'])} items open)."
        )
    for _, r in cand.head(top).iterrows():
        if r["extra_validation"] == 0:
            out.append(
                f"{r['class']!r} has enough validation evidence; more training labels or rounds should raise its "
                f"coverage ({int(r['uncovered'])} items still open)."
            )
        elif currency is None:  # no prices given: count labels, never print money
            out.append(
                f"Label about {int(r['extra_validation'])} more validation items the model predicts as {r['class']!r}: "
                f"about {int(r['next_gain'])} more items could be certified ({r['value']:.1f} items per label)."
            )
        else:
            out.append(
                f"Label about {int(r['extra_validation'])} more validation items the model predicts as {r['class']!r} "
                f"({currency}{r['extra_cost']:,.2f}): about {int(r['next_gain'])} more items could be certified "
                f"({r['value']:.1f} items per {currency}1)."
            )
    return out


def per_class_report_from_run(
    result: Any,
    X: ArrayLike,
    model: Any,
    *,
    cost_model: Any = None,
    y_true: ArrayLike | None = None,
    power: float = 0.5,
):
    """:func:`per_class_report` for an :class:`~surelabel.result.AutoLabelResult`.

    Refits a clone of ``model`` on the run's human training labels (what its last round
    trained on) and scores the validation points, the unlabeled pool and the auto-labels
    with it; a validation point counts as *open* when it scores below (the 5th percentile
    of) the auto-labels of its predicted class. Thresholds are each class's last finite one.
    """
    from sklearn.base import clone

    from .engine import predict_proba_logits
    from .scores import energy, get_score

    config = result.extra["config"]
    classes = list(result.classes.tolist())
    K = len(classes)
    lookup = {c: i for i, c in enumerate(classes)}
    X = np.asarray(X, dtype=float)
    codes = np.array([lookup.get(v, -1) if v is not None else -1 for v in result.labels.tolist()], dtype=np.intp)
    train = np.flatnonzero(result.source == "human")
    fitted = clone(model).fit(X[train], codes[train])
    val = np.flatnonzero(result.source == "validation")
    open_items = np.flatnonzero((result.source == "unlabeled") & result.in_pool)
    auto_items = np.flatnonzero(result.source == "auto")
    everything = np.r_[val, open_items, auto_items]
    proba, logits = predict_proba_logits(fitted, X[everything], K)
    fn = get_score(config.score)
    scores = energy(logits) if fn is energy else np.asarray(fn(proba), dtype=float)
    pred = proba.argmax(axis=1)
    nv, no = val.size, open_items.size
    # the auto-labeled region of each class, seen with the final model: scores at or above
    # the lowest score its auto-labels get (validation points there are retired evidence)
    floor_c = np.full(K, np.inf)
    auto_codes = codes[auto_items]
    auto_scores = scores[nv + no:]
    for c in range(K):
        m = auto_codes == c
        if m.any():
            floor_c[c] = np.quantile(auto_scores[m], 0.05)
    val_open = scores[:nv] < floor_c[pred[:nv]]
    thr = np.full(K, np.inf)
    for h in result.history:
        for i, c in enumerate(classes):
            t = h.thresholds.get(str(c))
            if t is not None:
                thr[i] = t
    item_class = codes.copy()
    item_class[open_items] = pred[nv:nv + no]
    item_class[~result.in_pool] = -1
    delta_test = config.final_delta  # the best-funded round's level: the one that spends the budget
    if config.search == "per-class":
        delta_test /= K
    yt = None
    if y_true is not None:
        yt = np.array([lookup.get(v, -1) for v in np.asarray(y_true, dtype=object).tolist()], dtype=np.intp)
    return per_class_report(
        classes=classes,
        val_pred=pred[:nv],
        val_labels=codes[val],
        val_open=val_open,
        thresholds=thr,
        val_scores=scores[:nv],
        item_class=item_class,
        item_source=result.source,
        epsilon=result.epsilon,
        delta_test=delta_test,
        bound=config.bound,
        min_support=config.support_floor,
        power=power,
        cost_model=cost_model,
        y_true=yt,
    )
