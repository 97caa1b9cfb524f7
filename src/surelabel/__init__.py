"""surelabel: auto-label a dataset with a certified bound on the share of wrong labels.

The public API, in three layers (see ``docs/architecture.md``):

* bring your own model — :func:`certify` accepts any labeler's labels above certified confidence
  thresholds, from human labels on a random sample (:func:`draw_validation`);
* pure functions — :func:`estimate_thresholds`, :func:`select_confident`, the scores in
  :mod:`surelabel.scores`, the bounds in :mod:`surelabel.bounds`, the query strategies in
  :mod:`surelabel.query`;
* the loop — :class:`AutoLabeler` driven by an :class:`Oracle` such as
  :class:`SimulatedOracle`, returning an :class:`AutoLabelResult`;
* data — :mod:`surelabel.datasets`;
* label quality and cost — :mod:`surelabel.audit` (``find_label_issues``),
  :func:`draw_spot_check` / :func:`spot_check_report`, :func:`rank_review`,
  :class:`CostModel`, :func:`plan_validation`, :class:`ConsensusOracle`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Names are imported on first use (PEP 562), so ``import surelabel`` -- and every CLI call,
# ``surelabel --help`` included -- does not pay for scikit-learn, SciPy or pandas up front.
_SUBMODULES = ("audit", "bounds", "datasets", "query", "scores")
_ORIGIN = {
    "binomial_safe_rate": "bounds",
    "clopper_pearson_interval": "bounds",
    "Certificate": "certification",
    "certify": "certification",
    "draw_validation": "certification",
    "clopper_pearson_upper": "bounds",
    "hoeffding_upper": "bounds",
    "ConsensusOracle": "consensus",
    "CostModel": "cost",
    "BudgetError": "exceptions",
    "InputError": "exceptions",
    "OracleError": "exceptions",
    "SurelabelError": "exceptions",
    "AutoLabeler": "loop",
    "Oracle": "oracles",
    "SimulatedOracle": "oracles",
    "ValidationPlan": "planner",
    "plan_validation": "planner",
    "QUERIES": "query",
    "get_query": "query",
    "AutoLabelResult": "result",
    "RoundReport": "result",
    "rank_review": "review",
    "SCORES": "scores",
    "energy": "scores",
    "get_score": "scores",
    "margin": "scores",
    "max_proba": "scores",
    "neg_entropy": "scores",
    "SpotCheckReport": "spotcheck",
    "draw_spot_check": "spotcheck",
    "spot_check_report": "spotcheck",
    "ThresholdEstimate": "thresholds",
    "estimate_thresholds": "thresholds",
    "min_certifiable_size": "thresholds",
    "select_confident": "thresholds",
}

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ imports on demand
    from . import audit, bounds, datasets, query, scores
    from .bounds import binomial_safe_rate, clopper_pearson_interval, clopper_pearson_upper, hoeffding_upper
    from .certification import Certificate, certify, draw_validation
    from .consensus import ConsensusOracle
    from .cost import CostModel
    from .exceptions import BudgetError, InputError, OracleError, SurelabelError
    from .loop import AutoLabeler
    from .oracles import Oracle, SimulatedOracle
    from .planner import ValidationPlan, plan_validation
    from .query import QUERIES, get_query
    from .result import AutoLabelResult, RoundReport
    from .review import rank_review
    from .scores import SCORES, energy, get_score, margin, max_proba, neg_entropy
    from .spotcheck import SpotCheckReport, draw_spot_check, spot_check_report
    from .thresholds import ThresholdEstimate, estimate_thresholds, min_certifiable_size, select_confident


def __getattr__(name: str) -> Any:
    """Import a public name's module the first time the name is used, then cache the name here."""
    if name in _SUBMODULES:
        value: Any = importlib.import_module(f".{name}", __name__)
    elif name in _ORIGIN:
        value = getattr(importlib.import_module(f".{_ORIGIN[name]}", __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__version__ = "0.1.0"

__all__ = [
    "AutoLabeler",
    "AutoLabelResult",
    "RoundReport",
    "Oracle",
    "SimulatedOracle",
    "ThresholdEstimate",
    "estimate_thresholds",
    "select_confident",
    "min_certifiable_size",
    "certify",
    "draw_validation",
    "Certificate",
    "max_proba",
    "margin",
    "neg_entropy",
    "energy",
    "SCORES",
    "get_score",
    "QUERIES",
    "get_query",
    "clopper_pearson_upper",
    "clopper_pearson_interval",
    "hoeffding_upper",
    "binomial_safe_rate",
    "SurelabelError",
    "InputError",
    "BudgetError",
    "OracleError",
    "ConsensusOracle",
    "CostModel",
    "ValidationPlan",
    "plan_validation",
    "rank_review",
    "SpotCheckReport",
    "draw_spot_check",
    "spot_check_report",
    "audit",
    "bounds",
    "datasets",
    "query",
    "scores",
    "__version__",
]
