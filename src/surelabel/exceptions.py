"""The one error hierarchy of surelabel.

::

    SurelabelError                 anything surelabel refuses, with a message meant for a user
    ├── InputError                 a file, column, row or value the user gave is unusable
    ├── BudgetError                the human-label budget cannot cover what was asked
    └── OracleError                an oracle answered with something that is not a known label

Bad argument *values* passed from Python code raise :class:`ValueError` or
:class:`TypeError`, as in scikit-learn; :class:`InputError` derives from
:class:`ValueError` so callers catching either are served. The CLI turns every
``SurelabelError`` (and ``ValueError`` from argument checks) into a one-line ``Error: …``
and exit code 1.
"""

from __future__ import annotations

__all__ = ["SurelabelError", "InputError", "BudgetError", "OracleError"]


class SurelabelError(Exception):
    """Base class: every error surelabel raises on purpose derives from it."""


class InputError(SurelabelError, ValueError):
    """A file, column, row or value given by the user cannot be used as it is."""


class BudgetError(InputError):
    """The human-label budget is too small for what was asked (e.g. validation + seed)."""


class OracleError(SurelabelError):
    """An oracle returned a label that is not one of the known classes, or too few labels."""
