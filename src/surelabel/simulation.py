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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _one(seed: int, make_problem: Callable, make_labeler: Callable, epsilon: float) -> RunRecord:
    from .oracles import SimulatedOracle

    X, y, run_kwargs = make_problem(seed)
    result = make_labeler(seed).run(X, SimulatedOracle(y, random_state=seed), **run_kwargs)
    err = result.auto_error(y)
    err = 0.0 if math.isnan(err) else err
    return RunRecord(
        seed=int(seed),
        coverage=float(result.coverage),
        error=float(err),
        n_auto=result.n_auto,
        human_labels=result.n_human["total"],
        violated=bool(err > epsilon),
        stop_reason=result.stop_reason,
    )


def simulate(
    make_problem: Callable[[int], tuple[np.ndarray, np.ndarray, dict]],
    make_labeler: Callable[[int], Any],
    seeds: Iterable[int],
    *,
    epsilon: float,
    n_jobs: int = -1,
) -> list[RunRecord]:
    """Run ``make_labeler(seed).run(X, SimulatedOracle(y), **kw)`` for each seed.

    ``make_problem(seed)`` returns ``(X, y, run_kwargs)``. Both factories must be picklable
    (module-level functions or :func:`functools.partial` of them) when ``n_jobs != 1``.
    """
    seeds = list(seeds)
    if n_jobs == 1:
        return [_one(s, make_problem, make_labeler, epsilon) for s in seeds]
    from joblib import Parallel, delayed

    return list(Parallel(n_jobs=n_jobs)(delayed(_one)(s, make_problem, make_labeler, epsilon) for s in seeds))


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
        "human_labels_mean": float(np.mean([r.human_labels for r in records])),
    }
