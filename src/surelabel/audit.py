"""Audit of human labels: which of them are probably wrong, and what they should be.

:func:`find_label_issues` fits the model by cross-validation on the human-labeled items, so
every item gets class probabilities from a model that never saw its label (out-of-fold), and
feeds them to *confident learning* (Northcutt, Jiang & Chuang, JAIR 2021) as implemented by
cleanlab: items whose given label the out-of-fold model finds unlikely, beyond the per-class
noise the data itself shows, are flagged. The result is a ranked table, most suspect first.

:func:`summarize_issues` turns the table into a verdict for validation labels: the estimated
share of wrong labels, and a warning when it is large next to ``epsilon``. The certified
bound is a promise about agreement with the *annotators'* labels (``docs/quality.md``), so
noisy validation labels should be re-reviewed before thresholds are certified.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .exceptions import InputError
from .rng import RandomState, check_random_state

__all__ = ["find_label_issues", "out_of_fold_proba", "summarize_issues", "IssueSummary", "stratified_folds"]

#: Columns of the table :func:`find_label_issues` returns.
ISSUE_COLUMNS = ("index", "given", "suggested", "score", "label_quality", "is_issue", "p_given", "p_suggested")


def stratified_folds(y_codes: np.ndarray, n_folds: int, random_state: RandomState = None) -> np.ndarray:
    """Fold number of each item: each class dealt round-robin over the folds after a shuffle.

    Unlike :class:`sklearn.model_selection.StratifiedKFold` this accepts classes with fewer
    items than folds (without warning): a class with at least two items is then in every
    training fold, because its items sit in at least two different folds.

    Examples
    --------
    >>> stratified_folds(np.array([0, 0, 0, 1, 1]), 3, random_state=0).tolist()
    [1, 2, 0, 1, 0]
    """
    rng = check_random_state(random_state)
    folds = np.empty(y_codes.shape[0], dtype=np.intp)
    offset = 0
    for c in np.unique(y_codes):
        idx = np.flatnonzero(y_codes == c)
        idx = idx[rng.permutation(idx.size)]
        folds[idx] = (offset + np.arange(idx.size)) % n_folds
        offset += idx.size  # stagger the classes so small classes do not all start in fold 0
    return folds


def _proba(model: Any, X: np.ndarray, n_classes: int, fitted_classes: np.ndarray) -> np.ndarray:
    if hasattr(model, "predict_proba"):
        pm = np.asarray(model.predict_proba(X), dtype=float)
    elif hasattr(model, "decision_function"):
        from .scores import proba_from_decision

        pm = proba_from_decision(np.asarray(model.decision_function(X), dtype=float))
    else:
        raise TypeError(f"The model {type(model).__name__} has neither predict_proba nor decision_function.")
    out = np.zeros((X.shape[0], n_classes))
    out[:, fitted_classes] = pm
    return out


def out_of_fold_proba(
    X: ArrayLike,
    y_codes: ArrayLike,
    *,
    n_classes: int,
    model: Any = None,
    n_folds: int = 5,
    random_state: RandomState = None,
) -> np.ndarray:
    """Class probabilities of every item from a model fit on the other folds, shape (n, K).

    Classes absent from a training fold get probability 0 in that fold.

    Examples
    --------
    >>> from surelabel import datasets
    >>> X, y = datasets.unit_ball(200, d=3, random_state=0)
    >>> out_of_fold_proba(X, y, n_classes=2, random_state=0).shape
    (200, 2)
    """
    from sklearn.base import clone

    X = np.asarray(X, dtype=float)
    y = np.asarray(y_codes, dtype=np.intp).ravel()
    if model is None:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(max_iter=2000)
    folds = stratified_folds(y, n_folds, random_state)
    proba = np.zeros((y.size, n_classes))
    for f in np.unique(folds):
        test = folds == f
        train = ~test
        if np.unique(y[train]).size < 2:
            proba[test] = np.bincount(y[train], minlength=n_classes)[:n_classes] / max(train.sum(), 1)
            continue
        fitted = clone(model).fit(X[train], y[train])
        proba[test] = _proba(fitted, X[test], n_classes, np.asarray(fitted.classes_, dtype=np.intp))
    # rows of zeros (a class seen only in its own fold): spread evenly so cleanlab gets a distribution
    sums = proba.sum(axis=1, keepdims=True)
    return np.where(sums > 0, proba / np.where(sums > 0, sums, 1.0), 1.0 / n_classes)


def find_label_issues(
    X: ArrayLike,
    y: ArrayLike,
    *,
    model: Any = None,
    classes: ArrayLike | None = None,
    n_folds: int = 5,
    pred_probs: ArrayLike | None = None,
    random_state: RandomState = None,
):
    """Rank human labels by how likely they are wrong, with the class they should probably be.

    Parameters
    ----------
    X : array-like, shape (n, d)
        Features of the human-labeled items.
    y : array-like, shape (n,)
        Their labels as given by people (any hashable values).
    model : scikit-learn classifier, optional
        Fit once per fold; default ``LogisticRegression(max_iter=2000)``.
    classes : array-like, optional
        The label set, in class-index order (default: sorted labels in ``y``).
    n_folds : int, default 5
        Cross-validation folds (at most the number of items).
    pred_probs : array-like, shape (n, K), optional
        Out-of-fold probabilities computed elsewhere; skips the cross-validation.
    random_state : int, Generator or None

    Returns
    -------
    pandas.DataFrame
        One row per item, most suspect first, with columns ``index`` (position in ``X``),
        ``given``, ``suggested`` (most likely class out-of-fold), ``score`` (1 minus
        cleanlab's self-confidence label quality: higher = more suspect), ``label_quality``,
        ``is_issue`` (flagged by confident learning), ``p_given`` and ``p_suggested``.
        ``frame.attrs`` holds ``n_issues_estimate`` (cleanlab's calibrated estimate of the
        number of wrong labels) and any ``warnings`` (e.g. classes too small to audit well).

    Notes
    -----
    Flags come from :func:`cleanlab.filter.find_label_issues` (``prune_by_noise_rate``), the
    score from :func:`cleanlab.rank.get_label_quality_scores` (``self_confidence``), the
    estimate from :func:`cleanlab.count.num_label_issues`. Classes with a single item cannot
    be cross-validated; their item keeps the model's view from the other folds, where the
    class is unknown, so it is flagged — such classes are reported in ``attrs["warnings"]``.

    Examples
    --------
    >>> from surelabel import datasets
    >>> X, y = datasets.unit_ball(400, d=3, random_state=0)
    >>> y_noisy = y.copy(); y_noisy[:10] = 1 - y_noisy[:10]
    >>> issues = find_label_issues(X, y_noisy, random_state=0)
    >>> list(issues.columns[:4])
    ['index', 'given', 'suggested', 'score']
    >>> len(set(issues["index"][:10]) & set(range(10))) >= 8
    True
    """
    import pandas as pd
    from cleanlab.count import num_label_issues
    from cleanlab.filter import find_label_issues as cl_find
    from cleanlab.rank import get_label_quality_scores

    y_arr = np.asarray(y, dtype=object).ravel()
    n = y_arr.shape[0]
    if n == 0:
        raise InputError("There are no human labels to audit.")
    if any(v is None or (isinstance(v, float) and np.isnan(v)) for v in y_arr.tolist()):
        raise InputError("Some labels are missing; audit only the items people labeled.")
    if classes is None:
        if _mixed(y_arr):  # e.g. ints and strings: compare as text
            y_arr = y_arr.astype(str).astype(object)
        classes_arr = np.unique(y_arr)
    else:
        classes_arr = np.asarray(classes, dtype=object)
    lookup = {c: i for i, c in enumerate(classes_arr.tolist())}
    unknown = [v for v in set(y_arr.tolist()) if v not in lookup]
    if unknown:
        raise InputError(f"Label {unknown[0]!r} is not one of the classes: {', '.join(map(str, classes_arr[:20]))}.")
    codes = np.array([lookup[v] for v in y_arr.tolist()], dtype=np.intp)
    K = len(classes_arr)
    if K < 2:
        raise InputError("Auditing labels needs at least two classes among them.")
    notes: list[str] = []
    if pred_probs is None:
        from .loop import check_features

        Xa = check_features(X)
        if Xa.shape[0] != n:
            raise InputError(f"X has {Xa.shape[0]} rows for {n} labels.")
        if n < 4:
            raise InputError(f"Auditing needs at least 4 labeled items for cross-validation; got {n}.")
        folds = int(min(max(n_folds, 2), n))
        probs = out_of_fold_proba(Xa, codes, n_classes=K, model=model, n_folds=folds, random_state=random_state)
    else:
        probs = np.asarray(pred_probs, dtype=float)
        if probs.shape != (n, K):
            raise InputError(f"pred_probs must have shape ({n}, {K}). Got {probs.shape}.")
    counts = np.bincount(codes, minlength=K)
    tiny = [str(classes_arr[c]) for c in np.flatnonzero((counts > 0) & (counts < 2))]
    if tiny:
        notes.append(f"class(es) {', '.join(tiny[:5])} have a single label: they cannot be audited by cross-validation")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        flagged = cl_find(codes, probs, filter_by="prune_by_noise_rate", n_jobs=1)
        quality = get_label_quality_scores(codes, probs, method="self_confidence")
        n_est = int(num_label_issues(codes, probs))
    notes.extend(sorted({str(w.message).split(" (see")[0] for w in caught}))
    suggested = probs.argmax(axis=1)
    frame = pd.DataFrame(
        {
            "index": np.arange(n),
            "given": y_arr,
            "suggested": classes_arr[suggested],
            "score": 1.0 - quality,
            "label_quality": quality,
            "is_issue": np.asarray(flagged, dtype=bool),
            "p_given": probs[np.arange(n), codes],
            "p_suggested": probs[np.arange(n), suggested],
        }
    )
    frame = frame.sort_values(["score", "index"], ascending=[False, True], kind="stable").reset_index(drop=True)
    frame.attrs["n_issues_estimate"] = n_est
    frame.attrs["n_items"] = n
    frame.attrs["warnings"] = notes
    return frame


def _mixed(values: np.ndarray) -> bool:
    return len({type(v) for v in values.tolist()}) > 1


@dataclass(frozen=True)
class IssueSummary:
    """How noisy a set of human labels looks.

    Attributes
    ----------
    n_items : int
    n_flagged : int
        Items confident learning flags.
    noise_estimate : float
        cleanlab's estimated share of wrong labels.
    noisy : bool
        Whether the estimate is at least ``tolerance`` times ``epsilon``.
    message : str
        A one-line warning with the advice (empty when not noisy).
    """

    n_items: int
    n_flagged: int
    noise_estimate: float
    noisy: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_items": self.n_items,
            "n_flagged": self.n_flagged,
            "noise_estimate": self.noise_estimate,
            "noisy": self.noisy,
            "message": self.message,
        }


def summarize_issues(issues: Any, *, epsilon: float | None = None, tolerance: float = 0.5) -> IssueSummary:
    """Verdict on a table from :func:`find_label_issues`: do these labels look too noisy?

    Validation labels whose estimated error share reaches ``tolerance * epsilon`` eat most
    of the room the promise leaves (and, if the mistakes are systematic, make the promise
    one about the annotators rather than the truth): re-review the flagged ones first.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"is_issue": [True] + [False] * 19}); t.attrs["n_issues_estimate"] = 2
    >>> s = summarize_issues(t, epsilon=0.05)
    >>> s.noise_estimate, s.noisy
    (0.1, True)
    """
    n = int(len(issues))
    n_flag = int(np.asarray(issues["is_issue"]).sum()) if n else 0
    n_est = int(issues.attrs.get("n_issues_estimate", n_flag))
    est = n_est / n if n else 0.0
    noisy = epsilon is not None and est >= tolerance * float(epsilon)
    msg = ""
    if noisy:
        msg = (
            f"About {100 * est:.1f}% of these {n} labels look wrong (epsilon is {100 * float(epsilon):.1f}%); "
            f"re-review the {n_flag} flagged labels before certifying thresholds."
        )
    return IssueSummary(n_items=n, n_flagged=n_flag, noise_estimate=est, noisy=bool(noisy), message=msg)
