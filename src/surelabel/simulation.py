"""Many seeded runs of a labeling method against known labels: the check of every promise.

A promise such as "the share of wrong auto-labels exceeds epsilon with probability at most
delta" is checked by running the whole loop on many independent seeds and counting the
runs that break it. :func:`simulate` does the runs (in parallel, with joblib);
:func:`violation_slack` is the binomial allowance used to judge the count.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["RunRecord", "simulate", "violation_slack", "summarize"]


@dataclass(frozen=True)
class RunRecord:
    """What one seeded run achieved, judged against the ground truth."""

    seed: int
    coverage: float
    error: float  # share of wrong auto-labels; 0 when nothing was auto-labeled
    n_auto: int
    human_labels: int
    violated: bool
    stop_reason: str
    worst_class_error: float = 0.0  # largest share of wrong auto-labels of a class with >= 20 of them
    max_class_error: float = 0.0  # the same over every class with at least one auto-label

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _one(seed: int, make_problem: Callable, make_labeler: Callable, epsilon: float,
         make_oracle: Callable | None = None) -> RunRecord:
    from .oracles import SimulatedOracle

    X, y, run_kwargs = make_problem(seed)
    oracle = SimulatedOracle(y, random_state=seed) if make_oracle is None else make_oracle(X, y, seed)
    result = make_labeler(seed).run(X, oracle, **run_kwargs)
    err = result.auto_error(y)
    err = 0.0 if math.isnan(err) else err
    auto = result.source == "auto"
    wrong = auto & (result.labels != np.asarray(y, dtype=object))
    worst = top = 0.0
    for c in result.classes:
        sel = auto & (result.labels == c)
        n_c = int(sel.sum())
        if n_c:
            e_c = float(wrong[sel].sum() / n_c)
            top = max(top, e_c)
            if n_c >= 20:
                worst = max(worst, e_c)
    return RunRecord(
        seed=int(seed),
        coverage=float(result.coverage),
        error=float(err),
        n_auto=result.n_auto,
        human_labels=result.n_human["total"],
        violated=bool(err > epsilon),
        stop_reason=result.stop_reason,
        worst_class_error=worst,
        max_class_error=top,
    )


def simulate(
    make_problem: Callable[[int], tuple[np.ndarray, np.ndarray, dict]],
    make_labeler: Callable[[int], Any],
    seeds: Iterable[int],
    *,
    epsilon: float,
    n_jobs: int = -1,
    make_oracle: Callable[[np.ndarray, np.ndarray, int], Any] | None = None,
) -> list[RunRecord]:
    """Run ``make_labeler(seed).run(X, SimulatedOracle(y), **kw)`` for each seed.

    ``make_problem(seed)`` returns ``(X, y, run_kwargs)``. Both factories must be picklable
    (module-level functions or :func:`functools.partial` of them) when ``n_jobs != 1``.
    ``make_oracle(X, y, seed)`` replaces the default ``SimulatedOracle(y)`` (e.g. an annotator
    who skips the hardest items).
    """
    seeds = list(seeds)
    if n_jobs == 1:
        return [_one(s, make_problem, make_labeler, epsilon, make_oracle) for s in seeds]
    from joblib import Parallel, delayed

    return list(Parallel(n_jobs=n_jobs)(delayed(_one)(s, make_problem, make_labeler, epsilon, make_oracle)
                                        for s in seeds))


def violation_slack(delta: float, runs: int, sigmas: float = 3.0) -> float:
    """``sigmas`` binomial standard errors of a violation rate whose true value is ``delta``.

    Examples
    --------
    >>> round(violation_slack(0.05, 200), 4)
    0.0462
    """
    return sigmas * math.sqrt(delta * (1.0 - delta) / runs)


def summarize(records: list[RunRecord]) -> dict[str, float]:
    """Mean and standard deviation of coverage and error, and the violation rate."""
    cov = np.array([r.coverage for r in records])
    err = np.array([r.error for r in records])
    return {
        "runs": len(records),
        "coverage_mean": float(cov.mean()),
        "coverage_std": float(cov.std(ddof=1)) if len(records) > 1 else 0.0,
        "error_mean": float(err.mean()),
        "error_std": float(err.std(ddof=1)) if len(records) > 1 else 0.0,
        "error_max": float(err.max()),
        "violation_rate": float(np.mean([r.violated for r in records])),
        "coverage_zero_rate": float(np.mean([r.n_auto == 0 for r in records])),
        "human_labels_mean": float(np.mean([r.human_labels for r in records])),
    }
