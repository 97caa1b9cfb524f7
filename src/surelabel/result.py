"""What a TBAL run produced: labels with their provenance, per-round history, and metrics."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .exceptions import InputError

__all__ = ["RoundReport", "AutoLabelResult", "SOURCES", "STOP_REASONS"]

#: Provenance of a label.
SOURCES = ("unlabeled", "human", "validation", "auto")

#: Why a run stopped.
STOP_REASONS = {
    "budget_spent": "the human-label budget is spent",
    "pool_exhausted": "every pool item is labeled",
    "validation_exhausted": "too few validation points are left to certify any more auto-labels",
    "no_progress": "no round can make progress (a single class among the training labels and no budget left)",
}


@dataclass(frozen=True)
class RoundReport:
    """One round: the model trained, the thresholds certified and what they labeled.

    ``union_upper_bound`` is the certified bound on the error rate of *all* auto-labels so far
    (the overall promise). ``upper_bounds`` holds a class's own certified bound only under the
    per-class promise (``None`` otherwise). ``class_estimates`` gives, per class, the validation
    estimate of its auto-label error with a 90 % interval — an estimate, not a certificate —
    and whether the overall mode's guard kept the class out. ``delta`` is the part of the
    failure probability this round's tests used.
    """

    round: int
    n_train: int
    n_validation_left: int
    thresholds: dict[str, float | None]
    upper_bounds: dict[str, float | None]
    union_upper_bound: float | None
    target: float | None
    delta: float
    n_auto_labeled: int
    n_auto_labeled_total: int
    n_retired_validation: int
    n_queried: int
    human_labels_total: int
    coverage: float
    note: str = ""
    class_estimates: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AutoLabelResult:
    """Every item's label, where it came from, and the run's history.

    Attributes
    ----------
    labels : ndarray of object, shape (n,)
        The label of each item, ``None`` where unlabeled.
    source : ndarray of str, shape (n,)
        ``"human"`` (training query or seed), ``"validation"``, ``"auto"`` or ``"unlabeled"``.
    round : ndarray of int, shape (n,)
        Round in which the label was obtained (``-1`` if unlabeled).
    scores : ndarray of float, shape (n,)
        The confidence score that admitted each auto-label (``nan`` otherwise).
    in_pool : ndarray of bool, shape (n,)
        Items that count towards coverage (all items unless a validation reserve was given).
    classes : ndarray
        Class labels, in the order of class indices.
    history : list of RoundReport
    stop_reason : str
        One of :data:`STOP_REASONS`.
    epsilon, delta, bound : the promise the run was asked to keep.
    """

    labels: np.ndarray
    source: np.ndarray
    round: np.ndarray
    scores: np.ndarray
    in_pool: np.ndarray
    classes: np.ndarray
    history: list[RoundReport]
    stop_reason: str
    epsilon: float
    delta: float
    bound: str
    budget: int
    extra: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def auto_mask(self) -> np.ndarray:
        return self.source == "auto"

    @property
    def n_auto(self) -> int:
        return int(self.auto_mask.sum())

    @property
    def coverage(self) -> float:
        """Auto-labeled items ÷ pool size."""
        pool = int(self.in_pool.sum())
        return self.n_auto / pool if pool else 0.0

    @property
    def n_human(self) -> dict[str, int]:
        """Human labels spent: ``training`` (seed and queries), ``validation`` and ``total``."""
        training = int((self.source == "human").sum())
        validation = int((self.source == "validation").sum())
        return {"training": training, "validation": validation, "total": training + validation}

    @property
    def budget_left(self) -> int:
        return self.budget - self.n_human["total"]

    def auto_error(self, y_true: Any) -> float:
        """Share of auto-labels that disagree with ``y_true`` (``nan`` if nothing was auto-labeled)."""
        y = np.asarray(y_true, dtype=object)
        if y.shape != self.labels.shape:
            raise ValueError(f"y_true must have one label per item ({self.labels.shape[0]}). Got {y.shape[0]}.")
        m = self.auto_mask
        if not m.any():
            return float("nan")
        return float(np.mean(self.labels[m] != y[m]))

    def auto_error_by_round(self, y_true: Any) -> list[float]:
        """Realised share of wrong auto-labels among all auto-labels up to each round (the promise's
        quantity as the run went; ``nan`` while nothing is auto-labeled)."""
        y = np.asarray(y_true, dtype=object)
        if y.shape != self.labels.shape:
            raise ValueError(f"y_true must have one label per item ({self.labels.shape[0]}). Got {y.shape[0]}.")
        m = self.auto_mask
        rounds = np.asarray(self.round)[m]
        wrong = self.labels[m] != y[m]
        out = []
        for h in self.history:
            upto = rounds <= h.round
            out.append(float(wrong[upto].mean()) if upto.any() else float("nan"))
        return out

    def per_class(self, y_true: Any | None = None) -> list[dict[str, Any]]:
        """Auto-labels per class (and their realised error when ``y_true`` is given).

        ``certified_bound`` is the class's own certified bound (per-class promise only, else
        ``None``: under the overall promise only the union is certified). ``estimate`` and
        ``estimate_interval`` are the validation estimate of the class's auto-label error with
        its 90 % interval, from the latest round that certified the class: an estimate, not a
        promise.
        """
        rows = []
        m = self.auto_mask
        y = None if y_true is None else np.asarray(y_true, dtype=object)
        last = self.history[-1] if self.history else None
        for c in self.classes:
            sel = m & (self.labels == c)
            row: dict[str, Any] = {"class": c, "auto_labeled": int(sel.sum())}
            if last is not None:
                # the latest round that certified the class (its evidence includes the earlier rounds')
                cert = next((h for h in reversed(self.history) if h.thresholds.get(str(c)) is not None), last)
                row["threshold"] = cert.thresholds.get(str(c))
                row["certified_bound"] = cert.upper_bounds.get(str(c))
                ce = cert.class_estimates.get(str(c), {})
                row["estimate"] = ce.get("estimate")
                row["estimate_interval"] = ce.get("interval")
            if y is not None:
                row["error"] = float(np.mean(y[sel] != c)) if sel.any() else None
            rows.append(row)
        return rows

    def summary(self, y_true: Any | None = None) -> dict[str, Any]:
        """JSON-ready summary of the run."""
        out: dict[str, Any] = {
            "coverage": self.coverage,
            "n_items": int(self.labels.shape[0]),
            "n_pool": int(self.in_pool.sum()),
            "n_auto": self.n_auto,
            "human_labels": self.n_human,
            "budget": self.budget,
            "budget_left": self.budget_left,
            "rounds": len(self.history),
            "stop_reason": self.stop_reason,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "bound": self.bound,
        }
        if y_true is not None:
            err = self.auto_error(y_true)
            out["auto_error"] = None if np.isnan(err) else err
        out["per_class"] = [{**r, "class": _jsonable(r["class"])} for r in self.per_class(y_true)]
        return out

    def to_frame(self, ids: Any | None = None):
        """One row per item: ``id``, ``label``, ``source``, ``round``, ``score``."""
        import pandas as pd

        n = self.labels.shape[0]
        ids = np.arange(n) if ids is None else np.asarray(ids)
        if ids.shape[0] != n:
            raise ValueError(f"ids must have one entry per item ({n}). Got {ids.shape[0]}.")
        return pd.DataFrame(
            {
                "id": ids,
                "label": self._label_column(),
                "source": self.source,
                "round": self.round,
                "score": self.scores,
            }
        )

    def _label_column(self):
        """Labels as a nullable column: integers stay integers, anything else becomes text."""
        import pandas as pd

        known = [v for v in self.classes.tolist()]
        if known and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in known):
            return pd.array([None if v is None else int(v) for v in self.labels], dtype="Int64")
        return pd.array([None if v is None else str(v) for v in self.labels], dtype="string")

    def save(self, path: str | Path, ids: Any | None = None) -> Path:
        """Write :meth:`to_frame` to ``.parquet``, ``.csv`` or ``.jsonl`` (chosen by extension)."""
        path = Path(path)
        frame = self.to_frame(ids)
        suffix = path.suffix.lower()
        if suffix not in (".parquet", ".csv", ".jsonl"):
            raise InputError(f"Cannot write {path}: use a .parquet, .csv or .jsonl file name.")
        if suffix == ".parquet":
            frame.to_parquet(path, index=False)
        elif suffix == ".csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_json(path, orient="records", lines=True)
        return path


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v
