"""surelabel: auto-label a dataset with a certified bound on the share of wrong labels.

The public API, in three layers (see ``docs/architecture.md``):

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

from . import audit, bounds, datasets, query, scores
from .bounds import binomial_safe_rate, clopper_pearson_interval, clopper_pearson_upper, hoeffding_upper
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
