"""Certify any labeler: accept a model's labels above certified confidence thresholds, without retraining it.

Users often hold labels from a model they cannot retrain here — an LLM, a vendor, a fine-tuned
network — with a confidence per item. :func:`certify` gives them the loop's certificate for
those labels: people check a uniformly random sample (:func:`draw_validation`), and thresholds
on the confidence are certified on it so that, with probability at least ``1 - delta``, the
share of wrong labels among the *accepted* items is at most ``epsilon``
(``guarantee="overall"``), or among each class's accepted items (``guarantee="per-class"``).

It is the loop's single test, spent the same way (``docs/guarantee.md``):
:data:`~surelabel.spending.VALIDATION_SHARE` of ``delta`` for the fixed-sequence test on the
validation sample, the rest for the finite size of the pool. The pool is every item outside
the sample; the sample's items keep their human labels and are never "accepted". A sampled
item people skipped counts as an error, as in the loop: leaving hard items out would make the
machine look better than it is.

Labels may be of any kind (strings, integers); they are mapped to class indices once, here,
and :func:`~surelabel.thresholds.estimate_thresholds` does the rest unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .rng import RandomState, check_random_state
from .spending import VALIDATION_SHARE
from .thresholds import ESTIMATE_CONFIDENCE, GUARANTEES, ThresholdEstimate, estimate_thresholds

__all__ = ["Certificate", "certify", "draw_validation", "BOUND_COVERS"]

#: What ``certified_bound`` is a bound on, per guarantee (the ``bound_covers`` column of the CLI's output).
BOUND_COVERS = {"overall": "all accepted labels", "per-class": "this class"}


def draw_validation(n_items: int, size: int, random_state: RandomState = None) -> np.ndarray:
    """Positions of ``size`` of ``n_items`` items drawn uniformly at random, without replacement, sorted.

    People label these items; :func:`certify` takes their answers (``sample=`` the positions
    returned here). The draw depends only on ``n_items``, ``size`` and ``random_state``, never
    on the labels or the confidences, which is what the certificate needs.

    Examples
    --------
    >>> draw_validation(10, 3, random_state=0).tolist()
    [5, 6, 9]
    """
    for name, v in (("n_items", n_items), ("size", size)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"The '{name}' parameter must be an int. Got {type(v).__name__}.")
    if n_items < 1:
        raise ValueError(f"The 'n_items' parameter must be >= 1. Got {n_items}.")
    if not 1 <= size <= n_items:
        raise ValueError(f"The 'size' parameter must be in 1..{n_items} (the number of items). Got {size}.")
    rng = check_random_state(random_state)
    return np.sort(rng.choice(int(n_items), size=int(size), replace=False)).astype(np.intp)


@dataclass(frozen=True)
class Certificate:
    """What :func:`certify` returns: which machine labels are accepted, and the evidence.

    Per-item arrays have one entry per item, in the order given; per-class arrays one entry per
    class of ``classes``.

    Attributes
    ----------
    accepted : ndarray of bool, shape (n,)
        The machine label of the item is accepted: the item is outside the validation sample
        and its confidence reaches its predicted class's threshold.
    in_validation : ndarray of bool, shape (n,)
        The item is in the validation sample (its human label, if any, is the label to use).
    predicted, human : ndarray of int, shape (n,)
        Class indices of the machine label and of the human label (``-1``: none).
    confidence : ndarray of float, shape (n,)
    classes : tuple
        The class of each index (labels as given).
    ids : ndarray or None
        The items' ids, when given (or a pandas Series' index).
    thresholds : ndarray of float, shape (K,)
        Confidence from which a class's machine labels are accepted (``inf``: never).
    certified_bound : float
        Certified upper bound (at ``1 - delta``) on the error rate of the accepted labels: of
        all of them together (``overall``), or the largest of the classes' own bounds
        (``per-class``); ``nan`` when nothing is accepted.
    class_bound : ndarray of float, shape (K,)
        Each class's own certified bound (``per-class`` only; ``nan`` with ``overall``, where
        only all accepted labels together are certified).
    val_support, val_selected, val_errors : ndarray of int, shape (K,)
        Validation items predicted as the class; of those, at or above the threshold; of
        those, wrong (skipped ones included).
    val_error, val_lower, val_upper : ndarray of float, shape (K,)
        Each class's validation error among its selected items, with its two-sided 90 %
        Clopper–Pearson interval: an *estimate*, not a certificate (``nan`` when none).
    guarded : ndarray of bool, shape (K,)
        Classes kept out because their own evidence put their error clearly above epsilon.
    epsilon, delta, guarantee
        The promise.
    estimate : ThresholdEstimate
        The full output of :func:`~surelabel.thresholds.estimate_thresholds`.
    """

    accepted: np.ndarray
    in_validation: np.ndarray
    predicted: np.ndarray
    human: np.ndarray
    confidence: np.ndarray
    classes: tuple
    ids: np.ndarray | None
    thresholds: np.ndarray
    certified_bound: float
    class_bound: np.ndarray
    val_support: np.ndarray
    val_selected: np.ndarray
    val_errors: np.ndarray
    val_error: np.ndarray
    val_lower: np.ndarray
    val_upper: np.ndarray
    guarded: np.ndarray
    epsilon: float
    delta: float
    guarantee: str
    estimate: ThresholdEstimate = field(compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("accepted", "in_validation", "predicted", "human", "confidence", "ids", "thresholds",
                     "class_bound", "val_support", "val_selected", "val_errors", "val_error", "val_lower",
                     "val_upper", "guarded"):
            value = getattr(self, name)
            if value is None:
                continue
            arr = np.array(value, copy=True)
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)

    # ---------------------------------------------------------------- counts
    @property
    def n_items(self) -> int:
        return int(self.accepted.shape[0])

    @property
    def n_validation(self) -> int:
        """Items in the validation sample."""
        return int(self.in_validation.sum())

    @property
    def n_answered(self) -> int:
        """Validation items with a human label."""
        return int((self.in_validation & (self.human >= 0)).sum())

    @property
    def n_skipped(self) -> int:
        """Validation items without a human label: counted as errors."""
        return self.n_validation - self.n_answered

    @property
    def n_accepted(self) -> int:
        return int(self.accepted.sum())

    @property
    def coverage(self) -> float:
        """Share of all items whose machine label is accepted."""
        return self.n_accepted / self.n_items if self.n_items else 0.0

    @property
    def accepted_by_class(self) -> np.ndarray:
        """Accepted items per predicted class, shape (K,)."""
        return np.bincount(self.predicted[self.accepted], minlength=len(self.classes))

    @property
    def bound_covers(self) -> str:
        """What ``certified_bound`` bounds: ``"all accepted labels"`` or ``"this class"`` (per-class)."""
        return BOUND_COVERS[self.guarantee]

    @property
    def labels(self) -> np.ndarray:
        """The label to use per item (object array): the human label where there is one, else the accepted
        machine label, else ``None`` (still to be labeled by people)."""
        cls = np.array(list(self.classes) + [None], dtype=object)
        out = np.where(self.accepted, self.predicted, -1)
        out = np.where(self.human >= 0, self.human, out)
        return cls[out]

    def item_bound(self) -> np.ndarray:
        """Per item: the certified bound that covers its accepted label (``nan`` where not accepted)."""
        if self.guarantee == "per-class":
            bound = self.class_bound[self.predicted]
        else:
            bound = np.full(self.n_items, self.certified_bound)
        return np.where(self.accepted, bound, np.nan)

    def per_class(self) -> list[dict[str, Any]]:
        """One plain dict per class: threshold, accepted items, validation evidence with its 90 % interval."""
        acc = self.accepted_by_class
        rows = []
        for k, c in enumerate(self.classes):
            rows.append({
                "class": _plain(c),
                "threshold": _finite(self.thresholds[k]),
                "accepted": int(acc[k]),
                "certified_bound": _finite(self.class_bound[k]),
                "val_support": int(self.val_support[k]),
                "val_selected": int(self.val_selected[k]),
                "val_errors": int(self.val_errors[k]),
                "val_error": _finite(self.val_error[k]),
                "val_interval": [_finite(self.val_lower[k]), _finite(self.val_upper[k])],
                "guarded": bool(self.guarded[k]),
            })
        return rows

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (``inf``/``nan`` become ``None``); per-item arrays are left out."""
        return {
            "epsilon": self.epsilon,
            "delta": self.delta,
            "guarantee": self.guarantee,
            "n_items": self.n_items,
            "n_validation": self.n_validation,
            "n_answered": self.n_answered,
            "n_skipped": self.n_skipped,
            "n_accepted": self.n_accepted,
            "coverage": self.coverage,
            "certified_bound": _finite(self.certified_bound),
            "bound_covers": self.bound_covers,
            "interval_confidence": ESTIMATE_CONFIDENCE,
            "class_figures": ("val_error and val_interval are validation estimates, not certificates"
                              + ("" if self.guarantee == "overall" else "; certified_bound is each class's own")),
            "classes": self.per_class(),
        }

    def to_frame(self) -> Any:
        """One row per item: ``id``, ``machine_label``, ``confidence``, ``in_validation``, ``human_label``,
        ``accepted``, ``label`` (what to use), ``certified_bound`` and ``bound_covers`` (accepted rows)."""
        import pandas as pd

        cls = np.array([_plain(c) for c in self.classes] + [None], dtype=object)
        bound = self.item_bound()
        return pd.DataFrame({
            "id": np.arange(self.n_items) if self.ids is None else self.ids,
            "machine_label": cls[self.predicted],
            "confidence": self.confidence,
            "in_validation": self.in_validation,
            "human_label": cls[self.human],
            "accepted": self.accepted,
            "label": [_plain(v) for v in self.labels],
            "certified_bound": bound,
            "bound_covers": np.where(np.isnan(bound), None, self.bound_covers).astype(object),
        })


def certify(
    pred_labels: ArrayLike,
    confidences: ArrayLike,
    validation: Any,
    *,
    epsilon: float,
    delta: float = 0.05,
    guarantee: str = "overall",
    sample: ArrayLike | None = None,
    ids: ArrayLike | None = None,
    classes: ArrayLike | None = None,
) -> Certificate:
    """Certify a labeler's own labels: accept those above certified confidence thresholds.

    With probability at least ``1 - delta`` over the random validation sample, the share of
    wrong labels among the accepted items is at most ``epsilon`` (``guarantee="overall"``), or
    among each class's accepted items (``"per-class"``). The validation sample must be drawn
    uniformly at random from the items (:func:`draw_validation`) before anyone looks at which
    items the model gets wrong.

    Parameters
    ----------
    pred_labels : array-like, shape (n,)
        The labeler's label for every item (strings, integers, …).
    confidences : array-like of float, shape (n,)
        Its confidence for each label; higher means surer (any scale: a probability, a log-prob).
    validation : mapping or array-like
        Human labels of the validation items: a dict or pandas Series id → label (ids from
        ``ids``, else a Series' index, else positions ``0..n-1``), or an array aligned with the
        items holding ``None``/NaN where there is no human label.
    epsilon : float in (0, 1)
        Largest acceptable share of wrong accepted labels.
    delta : float in (0, 1), default 0.05
        Allowed probability that the promise fails.
    guarantee : {"overall", "per-class"}
        What the promise covers: all accepted labels together, or each class on its own.
    sample : array-like of int, optional
        Positions of the items drawn for validation (what :func:`draw_validation` returned). A
        drawn item without a human label counts as an error; a human label outside the sample
        is refused (it would bias the estimate). Default: the items that have a human label.
    ids : array-like, optional
        Item ids, unique (default: a pandas Series' index, else positions).
    classes : array-like, optional
        All classes, when people may give one the labeler never predicts. Default: the
        predicted labels, sorted.

    Returns
    -------
    Certificate

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> n = 5000
    >>> truth = rng.choice(["cat", "dog"], size=n)
    >>> conf = rng.random(n)                                  # the vendor's confidence
    >>> wrong = rng.random(n) < 0.3 * (conf < 0.5)           # it errs only when unsure
    >>> pred = np.where(wrong, np.where(truth == "cat", "dog", "cat"), truth)
    >>> sample = draw_validation(n, 500, random_state=0)      # people label these
    >>> human = {int(i): truth[i] for i in sample}
    >>> cert = certify(pred, conf, human, epsilon=0.05, sample=sample)
    >>> cert.classes, cert.n_validation, cert.n_skipped
    (('cat', 'dog'), 500, 0)
    >>> round(cert.coverage, 2), bool(cert.certified_bound <= 0.05)
    (0.49, True)
    >>> bool(cert.accepted[sample].any())                     # validation items keep their human labels
    False
    """
    if guarantee not in GUARANTEES:
        raise ValueError(f"Unknown guarantee {guarantee!r}. Allowed: {', '.join(GUARANTEES)}.")
    for name, v in (("epsilon", epsilon), ("delta", delta)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not 0 < float(v) < 1:
            raise ValueError(f"The '{name}' parameter must be in the open interval (0, 1). Got {v!r}.")
    epsilon, delta = float(epsilon), float(delta)
    pred_list = _as_list(pred_labels, "pred_labels")
    n = len(pred_list)
    if n == 0:
        raise ValueError("pred_labels is empty: there is nothing to certify.")
    item_ids = _item_ids(ids, pred_labels, n)
    where = (lambda i: f"item {item_ids[i]!r}") if item_ids is not None else (lambda i: f"item {i}")
    conf = _confidences(confidences, n, where)
    for i, v in enumerate(pred_list):
        if _is_missing(v):
            raise ValueError(f"pred_labels: {where(i)} has no machine label; every item needs one (drop it first).")
    cls = _classes(pred_list, classes)
    index = {c: k for k, c in enumerate(cls)}
    pred = np.fromiter((index[_plain(v)] for v in pred_list), dtype=np.intp, count=n)
    answers = _answers(validation, n, item_ids, index, cls)

    if sample is None:
        drawn = np.array(sorted(answers), dtype=np.intp)
        if drawn.size == 0:
            raise ValueError("validation holds no human label: label a random sample first (draw_validation).")
    else:
        drawn = np.asarray(sample).ravel()
        if drawn.size == 0 or drawn.dtype.kind not in "iu":
            raise ValueError("sample must hold the positions (integers) of the items drawn for validation.")
        if drawn.min() < 0 or drawn.max() >= n:
            raise ValueError(f"sample holds positions outside 0..{n - 1}.")
        if np.unique(drawn).size != drawn.size:
            raise ValueError("sample holds a position twice; it must be a draw without replacement.")
        drawn = np.sort(drawn).astype(np.intp)
        outside = sorted(set(answers) - set(drawn.tolist()))
        if outside:
            raise ValueError(f"validation: {where(outside[0])} has a human label but is not in the sample; only "
                             "labels of the uniformly random sample may be used (others would bias the estimate).")
    in_val = np.zeros(n, dtype=bool)
    in_val[drawn] = True
    human = np.full(n, -1, dtype=np.intp)
    for i, k in answers.items():
        human[i] = k
    pool = np.flatnonzero(~in_val)
    K = len(cls)
    est = estimate_thresholds(
        conf[drawn], pred[drawn], human[drawn],  # a skipped item's -1 never equals a prediction: an error
        n_classes=K,
        epsilon=epsilon,
        delta=delta * VALIDATION_SHARE,
        search="per-class" if guarantee == "per-class" else "union",
        pool_scores=conf[pool],
        pool_pred=pred[pool],
        pool_delta=delta * (1.0 - VALIDATION_SHARE),
        n_auto_labeled=0 if guarantee == "overall" else np.zeros(K, dtype=np.int64),
        guard=guarantee == "overall",
    )
    accepted = np.zeros(n, dtype=bool)
    accepted[pool] = conf[pool] >= est.thresholds[pred[pool]]
    if guarantee == "per-class":
        certified = est.upper_bound[np.isfinite(est.thresholds) & (np.bincount(pred[accepted], minlength=K) > 0)]
        overall = float(certified.max()) if certified.size else math.nan
    else:
        overall = float(est.union_upper_bound) if accepted.any() else math.nan
    return Certificate(
        accepted=accepted,
        in_validation=in_val,
        predicted=pred,
        human=human,
        confidence=conf,
        classes=tuple(cls),
        ids=None if item_ids is None else np.asarray(item_ids, dtype=object),
        thresholds=est.thresholds,
        certified_bound=overall,
        class_bound=est.upper_bound,
        val_support=est.support,
        val_selected=est.n_selected,
        val_errors=est.n_errors,
        val_error=est.error,
        val_lower=est.class_lower,
        val_upper=est.class_upper,
        guarded=est.guarded,
        epsilon=epsilon,
        delta=delta,
        guarantee=guarantee,
        estimate=est,
    )


# ---------------------------------------------------------------------- input mapping (the edge)
def _plain(v: Any) -> Any:
    """A numpy scalar as the Python value it holds (``np.str_('a')`` → ``'a'``): classes compare, print plainly."""
    return v.item() if isinstance(v, np.generic) else v


def _finite(v: Any) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _is_series(v: Any) -> bool:
    """A pandas Series (values with an index of ids), recognised without importing pandas."""
    return hasattr(v, "to_numpy") and hasattr(v, "items") and not callable(getattr(v, "index", None))


def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, (float, np.floating)):
        return bool(np.isnan(v))
    return type(v).__name__ in ("NAType", "NaTType")  # pandas' missing values, without importing pandas


def _as_list(values: Any, name: str) -> list[Any]:
    if isinstance(values, (str, bytes)) or isinstance(values, Mapping):
        raise TypeError(f"{name} must be an array of one value per item, not a {type(values).__name__}.")
    arr = values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values, dtype=object)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (one value per item). Got shape {arr.shape}.")
    return arr.tolist()


def _item_ids(ids: Any, pred_labels: Any, n: int) -> list[Any] | None:
    if ids is None:
        index = pred_labels.index if _is_series(pred_labels) else None
        if index is None or (type(index).__name__ == "RangeIndex" and index.start == 0 and index.step == 1):
            return None
        ids = index
    out = [_plain(v) for v in _as_list(ids, "ids")]
    if len(out) != n:
        raise ValueError(f"ids must have one entry per item ({n}). Got {len(out)}.")
    if len(set(out)) != n:
        seen: set[Any] = set()
        dup = next(v for v in out if v in seen or seen.add(v))
        raise ValueError(f"ids must be unique; {dup!r} appears more than once.")
    return out


def _confidences(confidences: Any, n: int, where: Any) -> np.ndarray:
    raw = _as_list(confidences, "confidences")
    if len(raw) != n:
        raise ValueError(f"confidences must have one entry per item ({n}). Got {len(raw)}.")
    try:
        try:
            conf = np.asarray(raw, dtype=float)
        except (TypeError, ValueError):  # pandas' NA, or not numbers at all
            conf = np.array([np.nan if _is_missing(v) else v for v in raw], dtype=float)
    except (TypeError, ValueError):
        bad = next(i for i, v in enumerate(raw) if not isinstance(v, (int, float, np.number)) or isinstance(v, bool))
        raise ValueError(f"confidences: {where(bad)} has {raw[bad]!r}, not a number.") from None
    if np.isnan(conf).any():
        bad = int(np.flatnonzero(np.isnan(conf))[0])
        raise ValueError(f"confidences: {where(bad)} has no confidence (NaN); every item needs one.")
    return conf


def _sort_key(v: Any) -> tuple:
    numeric = isinstance(v, (int, float)) and not isinstance(v, bool)
    return (0, v, "") if numeric else (1, 0, f"{type(v).__name__}:{v}")


def _classes(pred_list: list[Any], classes: Any) -> list[Any]:
    found = {_plain(v) for v in pred_list}
    if classes is None:
        return sorted(found, key=_sort_key)
    given = [_plain(v) for v in _as_list(classes, "classes")]
    if len(set(given)) != len(given):
        raise ValueError("classes must be unique.")
    missing = sorted(found - set(given), key=_sort_key)
    if missing:
        raise ValueError(f"pred_labels holds {missing[0]!r}, which is not one of the classes given.")
    return given


def _answers(validation: Any, n: int, item_ids: list[Any] | None, index: dict[Any, int],
             cls: list[Any]) -> dict[int, int]:
    """Position → class index of every human label given (missing values are no answer)."""
    keyed = isinstance(validation, Mapping) or _is_series(validation)
    if keyed:
        position = ({v: i for i, v in enumerate(item_ids)} if item_ids is not None else None)
        pairs = []
        for key, label in validation.items():
            key = _plain(key)
            if position is not None:
                i = position.get(key)
            else:
                ok = isinstance(key, (int, np.integer)) and not isinstance(key, bool) and 0 <= key < n
                i = int(key) if ok else None
            if i is None:
                if _is_missing(label):
                    continue
                raise ValueError(f"validation has a label for id {key!r}, which is not an item "
                                 f"({'ids' if position is not None else f'positions 0..{n - 1}'}).")
            pairs.append((i, key, label))
    else:
        labels = _as_list(validation, "validation")
        if len(labels) != n:
            raise ValueError(f"validation must be a mapping id → label, or have one entry per item ({n}, None where "
                             f"unlabeled). Got {len(labels)} entries.")
        pairs = [(i, item_ids[i] if item_ids is not None else i, v) for i, v in enumerate(labels)]
    out: dict[int, int] = {}
    for i, key, label in pairs:
        if _is_missing(label):
            continue
        k = index.get(_plain(label))
        if k is None:
            shown = ", ".join(repr(c) for c in cls[:10]) + (" …" if len(cls) > 10 else "")
            raise ValueError(f"validation: the label {_plain(label)!r} of item {key!r} is not one of the classes "
                             f"({shown}); pass classes= to add classes the labeler never predicts.")
        out[i] = k
    return out
