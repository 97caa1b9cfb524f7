"""What human labels cost: one price, a price per class, or a rate times the time people took.

A :class:`CostModel` turns labels into money. It is used wherever labels are counted (the run
summary, the benchmarks, the per-class report) and to turn a money budget into a label
budget for the loop (:meth:`CostModel.label_budget`).

Three ways to price a label, exactly one per model:

* ``CostModel.flat(0.08)`` — every label costs the same;
* ``CostModel.per_class({"cat": 0.12, "dog": 0.12, "truck": 0.05})`` — hard classes cost more
  (the price is the one of the class the person *answered*);
* ``CostModel.per_second(0.01)`` — a rate times the observed labeling time, such as Label
  Studio's ``lead_time`` (:func:`label_studio_lead_times`); labels without an observed
  time are charged ``default_seconds``.

Every bad value (negative or non-finite price, a class the price table names that does not
exist, a label with no price) raises :class:`~surelabel.exceptions.InputError` with a
one-line message.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .exceptions import InputError

__all__ = ["CostModel", "read_price_table", "label_studio_lead_times", "result_cost"]

MODES = ("flat", "per-class", "per-second")


def _check_price(value: Any, what: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"The {what} must be a number. Got {value!r}.") from None
    if not math.isfinite(v) or v < 0:
        raise InputError(f"The {what} must be a finite number >= 0. Got {value!r}.")
    return v


def _key(label: Any) -> str:
    """Class names are matched as text, so ``3`` in a CSV price table prices class ``3``."""
    if isinstance(label, (float, np.floating)) and float(label).is_integer():
        label = int(label)
    if isinstance(label, np.generic):
        label = label.item()
    return str(label)


@dataclass(frozen=True)
class CostModel:
    """The price of human labels.

    Build one with :meth:`flat`, :meth:`per_class` or :meth:`per_second`.

    Attributes
    ----------
    mode : {"flat", "per-class", "per-second"}
    price : float
        ``flat``: the price of one label.
    class_prices : dict of str to float
        ``per-class``: price by class name (keys are the class names as text).
    default : float or None
        ``per-class``: price of a class missing from the table (``None``: refuse it).
    rate : float
        ``per-second``: money per second of labeling time.
    default_seconds : float or None
        ``per-second``: time charged for a label with no observed time (``None``: refuse).
    currency : str

    Examples
    --------
    >>> m = CostModel.per_class({"cat": 0.12, "dog": 0.12, "truck": 0.05})
    >>> round(m.cost_of(["cat", "truck", "truck"]), 2)
    0.22
    >>> m.label_budget(10.0)            # worst case: every label at the highest price
    83
    >>> CostModel.flat(0.1).label_budget(10.0)
    100
    """

    mode: str
    price: float = 0.0
    class_prices: Mapping[str, float] = field(default_factory=dict)
    default: float | None = None
    rate: float = 0.0
    default_seconds: float | None = None
    currency: str = "$"

    # -- constructors -------------------------------------------------------------------
    @classmethod
    def flat(cls, price: float, *, currency: str = "$") -> CostModel:
        """Every label costs ``price``."""
        return cls(mode="flat", price=_check_price(price, "price per label"), currency=currency)

    @classmethod
    def per_class(
        cls,
        prices: Mapping[Any, float],
        *,
        classes: Iterable[Any] | None = None,
        default: float | None = None,
        currency: str = "$",
    ) -> CostModel:
        """A price per class; with ``classes``, the table is checked against the label set."""
        if not prices:
            raise InputError("The price table is empty; give at least one 'class,price' row.")
        table = {_key(c): _check_price(p, f"price of class {_key(c)!r}") for c, p in prices.items()}
        d = None if default is None else _check_price(default, "default price")
        model = cls(mode="per-class", class_prices=table, default=d, currency=currency)
        if classes is not None:
            model.check_classes(classes)
        return model

    @classmethod
    def per_second(
        cls, rate: float, *, default_seconds: float | None = None, currency: str = "$"
    ) -> CostModel:
        """``rate`` money per second of observed labeling time (e.g. Label Studio's ``lead_time``)."""
        r = _check_price(rate, "rate per second")
        ds = None if default_seconds is None else _check_price(default_seconds, "default labeling time")
        return cls(mode="per-second", rate=r, default_seconds=ds, currency=currency)

    # -- checks -------------------------------------------------------------------------
    def check_classes(self, classes: Iterable[Any]) -> None:
        """Refuse a price table naming an unknown class, or missing a class (without default)."""
        if self.mode != "per-class":
            return
        known = [_key(c) for c in classes]
        unknown = [c for c in self.class_prices if c not in known]
        if unknown:
            raise InputError(
                f"The price table names class {unknown[0]!r}, which is not a known class. "
                f"Known: {', '.join(known[:20])}."
            )
        missing = [c for c in known if c not in self.class_prices]
        if missing and self.default is None:
            raise InputError(
                f"The price table has no price for class {missing[0]!r}; add a row for it or give a default price."
            )

    # -- prices -------------------------------------------------------------------------
    def prices(
        self, labels: ArrayLike | None = None, *, n: int | None = None, times: ArrayLike | None = None
    ) -> np.ndarray:
        """Price of each label (the answered class for ``per-class``, the time for ``per-second``)."""
        if self.mode == "flat":
            count = n if labels is None else len(np.asarray(labels, dtype=object).ravel())
            if count is None and times is not None:
                count = len(np.asarray(times).ravel())
            if count is None:
                raise ValueError("Give the labels or their number n.")
            return np.full(int(count), self.price)
        if self.mode == "per-class":
            if labels is None:
                raise InputError("Per-class prices need the labels that were answered.")
            out = []
            for lab in np.asarray(labels, dtype=object).ravel().tolist():
                p = self.class_prices.get(_key(lab), self.default)
                if p is None:
                    raise InputError(f"No price for class {_key(lab)!r}; add it to the price table or give a default.")
                out.append(p)
            return np.asarray(out, dtype=float)
        if times is None:
            count = n if labels is None else len(np.asarray(labels, dtype=object).ravel())
            if self.default_seconds is None:
                raise InputError("Time-based prices need the labeling time of each label (or a default time).")
            return np.full(int(count or 0), self.rate * self.default_seconds)
        t = np.asarray(times, dtype=float).ravel()
        if (t[np.isfinite(t)] < 0).any():
            raise InputError("Labeling times must be >= 0 seconds.")
        missing = ~np.isfinite(t)
        if missing.any():
            if self.default_seconds is None:
                row = int(np.flatnonzero(missing)[0])
                raise InputError(f"Label {row} has no labeling time; give a default time (default_seconds).")
            t = np.where(missing, self.default_seconds, t)
        return self.rate * t

    def cost_of(
        self, labels: ArrayLike | None = None, *, n: int | None = None, times: ArrayLike | None = None
    ) -> float:
        """Total price of the given labels (or of ``n`` labels, for a flat price).

        Examples
        --------
        >>> CostModel.flat(0.05).cost_of(n=200)
        10.0
        >>> CostModel.per_second(0.01).cost_of(times=[30.0, 90.0])
        1.2
        """
        return float(self.prices(labels, n=n, times=times).sum())

    def expected_price(
        self, class_shares: Mapping[Any, float] | None = None, mean_seconds: float | None = None
    ) -> float:
        """Average price of one label: by class shares (per class), or at ``mean_seconds`` (per second)."""
        if self.mode == "flat":
            return self.price
        if self.mode == "per-class":
            if not class_shares:
                return float(np.mean(list(self.class_prices.values())))
            total = float(sum(class_shares.values()))
            if total <= 0:
                raise InputError("Class shares must sum to a positive number.")
            out = 0.0
            for c, share in class_shares.items():
                p = self.class_prices.get(_key(c), self.default)
                if p is None:
                    raise InputError(f"No price for class {_key(c)!r}; add it to the price table or give a default.")
                out += share / total * p
            return out
        secs = self.default_seconds if mean_seconds is None else _check_price(mean_seconds, "mean labeling time")
        if secs is None:
            raise InputError("A time-based price needs the mean labeling time (mean_seconds) or a default time.")
        return self.rate * secs

    def worst_price(self, mean_seconds: float | None = None) -> float:
        """The highest price one label can have under this model (per second: at ``mean_seconds``)."""
        if self.mode == "per-class":
            values = list(self.class_prices.values()) + ([self.default] if self.default is not None else [])
            return float(max(values))
        return self.expected_price(mean_seconds=mean_seconds)

    def label_budget(
        self,
        money: float,
        *,
        worst_case: bool = True,
        class_shares: Mapping[Any, float] | None = None,
        mean_seconds: float | None = None,
    ) -> int:
        """How many labels ``money`` buys: the loop's ``budget`` for a money budget.

        With ``worst_case=True`` (default) every label is priced at the highest price, so
        the run can never spend more than ``money``; otherwise at the expected price under
        ``class_shares`` (which can overrun by the luck of the classes answered).

        Examples
        --------
        >>> CostModel.flat(0.08).label_budget(100)
        1250
        """
        money = _check_price(money, "money budget")
        price = self.worst_price(mean_seconds) if worst_case else self.expected_price(class_shares, mean_seconds)
        if price <= 0:
            raise InputError("Labels are free under this cost model; give a label budget instead of a money budget.")
        return int(math.floor(money / price + 1e-9))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CostModel:
        """The model :meth:`to_dict` described (how a project stores its prices).

        Examples
        --------
        >>> CostModel.from_dict(CostModel.flat(0.08).to_dict()) == CostModel.flat(0.08)
        True
        """
        mode, currency = d.get("mode"), d.get("currency", "$")
        if mode == "flat":
            return cls.flat(d["price"], currency=currency)
        if mode == "per-class":
            return cls.per_class(d["class_prices"], default=d.get("default"), currency=currency)
        if mode == "per-second":
            return cls.per_second(d["rate_per_second"], default_seconds=d.get("default_seconds"), currency=currency)
        raise InputError(f"Unknown cost model {mode!r}; expected flat, per-class or per-second.")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mode": self.mode, "currency": self.currency}
        if self.mode == "flat":
            out["price"] = self.price
        elif self.mode == "per-class":
            out["class_prices"] = dict(self.class_prices)
            out["default"] = self.default
        else:
            out["rate_per_second"] = self.rate
            out["default_seconds"] = self.default_seconds
        return out

    def format(self, amount: float) -> str:
        """``$12.34`` style text."""
        return f"{self.currency}{amount:,.2f}"


def read_price_table(path: str | Path) -> dict[str, float]:
    """Read ``class,price`` rows from a CSV or JSON file (``{"cat": 0.1, ...}``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "prices.csv"
    >>> _ = p.write_text("class,price\\ncat,0.12\\ndog,0.1\\n")
    >>> read_price_table(p)
    {'cat': 0.12, 'dog': 0.1}
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"File {path} not found; check the path.")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: malformed JSON ({exc.msg}).") from None
        if not isinstance(data, dict):
            raise InputError(f"{path}: expected one JSON object mapping class to price.")
        return {_key(k): _check_price(v, f"price of class {_key(k)!r} in {path}") for k, v in data.items()}
    from .io import read_table, select_column

    frame = read_table(path)
    classes = select_column(frame, "class", str(path))
    prices = select_column(frame, "price", str(path))
    out: dict[str, float] = {}
    for row, (c, p) in enumerate(zip(classes.tolist(), prices.tolist()), start=1):
        k = _key(c)
        if k in out:
            raise InputError(f"{path}, row {row}: class {k!r} is priced twice.")
        out[k] = _check_price(p, f"price of class {k!r} ({path}, row {row})")
    return out


def label_studio_lead_times(export: str | Path | list[dict]) -> Any:
    """Labeling time per task from a Label Studio JSON export (``annotations[].lead_time``).

    Returns a DataFrame with ``task_id`` and ``lead_time`` (seconds, summed over the task's
    annotations; ``nan`` when none was recorded).

    Examples
    --------
    >>> label_studio_lead_times([{"id": 7, "annotations": [{"lead_time": 12.5}]}]).to_dict("records")
    [{'task_id': 7, 'lead_time': 12.5}]
    """
    import pandas as pd

    if isinstance(export, (str, Path)):
        path = Path(export)
        if not path.exists():
            raise InputError(f"File {path} not found; check the path.")
        try:
            tasks = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: malformed JSON ({exc.msg}).") from None
    else:
        tasks = export
    if not isinstance(tasks, list):
        raise InputError("A Label Studio export is a JSON list of tasks.")
    rows = []
    for i, task in enumerate(tasks):
        if not isinstance(task, dict):
            raise InputError(f"Task {i} of the Label Studio export is not an object.")
        times = [a.get("lead_time") for a in task.get("annotations", []) if isinstance(a, dict)]
        times = [float(t) for t in times if t is not None]
        rows.append({"task_id": task.get("id", i), "lead_time": float(sum(times)) if times else float("nan")})
    return pd.DataFrame(rows, columns=["task_id", "lead_time"])


def result_cost(result: Any, cost_model: CostModel, *, times: ArrayLike | None = None) -> dict[str, Any]:
    """Money spent by a run: validation, training and total, and per auto-label.

    ``result`` is an :class:`~surelabel.result.AutoLabelResult`; per-class prices use the
    labels people answered. ``times`` (one per item, ``nan`` where not labeled by a person)
    is needed for a time-based model without a default time.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> r = SimpleNamespace(labels=np.array(["a", "b", "a", None], dtype=object),
    ...                     source=np.array(["validation", "human", "auto", "unlabeled"]), n_auto=1)
    >>> result_cost(r, CostModel.flat(0.5))["total"]
    1.0
    """
    out: dict[str, Any] = {"currency": cost_model.currency, "model": cost_model.to_dict()}
    t = None if times is None else np.asarray(times, dtype=float).ravel()
    total = 0.0
    for part, src in (("validation", "validation"), ("training", "human")):
        m = np.asarray(result.source) == src
        amount = cost_model.cost_of(result.labels[m], times=None if t is None else t[m])
        out[part] = amount
        total += amount
    out["total"] = total
    n_auto = int(result.n_auto)
    out["per_auto_label"] = total / n_auto if n_auto else None
    return out
