"""Limits on what users may hand surelabel: field lengths and label budgets, in one place.

The web page, ``surelabel import``, ``init`` and the Python API all check the same numbers,
so an answer refused by one channel is refused by every other, and a careless (or hostile)
input cannot grow the store without bound or make a round allocate memory for labels that
can never be bought.

Examples
--------
>>> fit_budget(10**15, 600)
600
>>> fit_budget(240, 600)
240
>>> short("x" * 100, 10)
"'xxxxxxxxxx…' (100 characters)"
"""

from __future__ import annotations

from typing import Any

from .exceptions import BudgetError

__all__ = ["MAX_NAME", "MAX_FIELD", "fit_budget", "short"]

#: Longest annotator name (characters) the web page, ``import`` and the Python API accept.
MAX_NAME = 80
#: Longest item id, class name or other text field (characters) accepted anywhere.
MAX_FIELD = 1000


def fit_budget(budget: Any, n_items: int, *, name: str = "budget") -> int:
    """The budget as a whole number of labels, capped by the ``n_items`` items that can be labeled.

    A budget larger than the pool can never be spent, yet the engine sizes its per-round
    failure probabilities by the rounds the budget allows; an absurd budget (``10**15``) would
    make that schedule exhaust memory. Capping it at the pool keeps every label that can be
    bought and spends the failure probability only on rounds that can happen. A budget that is
    not a positive whole number is refused (:class:`~surelabel.exceptions.BudgetError`).
    """
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not float(budget).is_integer() \
            or budget < 1:
        raise BudgetError(f"The {name!r} must be a positive whole number of labels. Got {short(budget)}.")
    return int(min(int(budget), max(int(n_items), 1)))


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to about ``limit`` characters, so one line can name a huge input."""
    if isinstance(value, str) and len(value) > limit:
        head = repr(value[:limit])
        return f"{head[:-1]}…{head[-1]} ({len(value)} characters)"
    text = repr(value)
    return text if len(text) <= limit + 2 else text[:limit] + "…"
