"""How the failure probability ``delta`` is spent: between validation tests and the finite pool, and over rounds.

Pure numbers, fixed before any label is seen (``docs/guarantee.md``):

* :data:`VALIDATION_SHARE` of ``delta`` goes to the validation tests of all rounds together;
  the rest covers the finite size of the pool (the realised share of wrong auto-labels).
* Over rounds, the validation share is released by :func:`spent_fraction`, a spending
  function of the *training labels bought* (not of the round number): :data:`EARLY_SHARE`
  of it in proportion to them, the rest at the round that spends the training budget.
  However many rounds there are (partial steps make more), the levels add up to at most the
  validation share, which keeps the union bound over rounds valid.
"""

from __future__ import annotations

__all__ = ["VALIDATION_SHARE", "EARLY_SHARE", "spent_fraction"]

#: Share of ``delta`` for the validation tests; the rest covers the pool's finite size.
VALIDATION_SHARE = 0.75

#: Share of the validation tests' ``delta`` released in proportion to the training labels bought
#: before the training budget is spent (measured in ``docs/guarantee.md``).
EARLY_SHARE = 0.25


def spent_fraction(n_train: int, train_budget: int, early_share: float = EARLY_SHARE) -> float:
    """Share of the validation tests' ``delta`` that may be spent once ``n_train`` training labels exist.

    In the spirit of Lan–DeMets alpha spending: ``early_share`` of it grows in proportion to
    the training labels bought, and the rest is released at once when the training budget is
    fully spent, so the round with the best model gets the largest share. It never exceeds 1.

    Examples
    --------
    >>> [round(spent_fraction(n, 100, 0.25), 3) for n in (0, 20, 99, 100, 150)]
    [0.0, 0.05, 0.247, 1.0, 1.0]
    >>> spent_fraction(0, 0, 0.25)   # no training budget: everything at round 0
    1.0
    """
    if train_budget <= 0 or n_train >= train_budget:
        return 1.0
    return float(early_share) * max(int(n_train), 0) / int(train_budget)
