"""The built-in demonstration: TBAL on the paper's unit ball and on scikit-learn's digits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .datasets import digits, unit_ball
from .loop import AutoLabeler
from .models import make_model
from .oracles import SimulatedOracle
from .result import AutoLabelResult

__all__ = ["DemoRun", "run_demo"]


@dataclass(frozen=True)
class DemoRun:
    """One demonstration run with the ground truth it was scored against."""

    name: str
    description: str
    result: AutoLabelResult
    y_true: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.name,
            "description": self.description,
            **self.result.summary(self.y_true),
            "rounds": [{**h.to_dict(), "auto_error": e} for h, e in
                       zip(self.result.history, self.result.auto_error_by_round(self.y_true))],
        }


def _plain_run(labeler: AutoLabeler, X: np.ndarray, oracle: SimulatedOracle, name: str, **kwargs: Any) -> Any:
    return labeler.run(X, oracle, **kwargs)


def run_demo(seed: int = 0, runner: Callable[..., AutoLabelResult] | None = None) -> list[DemoRun]:
    """Run both demonstrations (a second or two on a laptop).

    ``runner(labeler, X, oracle, name, **kwargs)`` runs each one; the CLI passes one that shows
    per-round progress. The default is ``labeler.run(X, oracle, **kwargs)``.
    """
    runner = runner or _plain_run
    runs = []
    X, y = unit_ball(20_000, d=30, random_state=seed)
    labeler = AutoLabeler(
        make_model("paper-svm"),
        epsilon=0.01,
        delta=0.05,
        validation_size=2000,
        seed_size=100,
        batch_size=25,
        budget=2500,
        random_state=seed,
    )
    result = runner(labeler, X, SimulatedOracle(y), "unit-ball", validation_candidates=np.arange(16_000, 20_000))
    runs.append(
        DemoRun(
            "unit-ball",
            "Unit ball in R^30 (the paper's synthetic data): 16,000-item pool, validation from a 4,000-item "
            "reserve, linear SVM, ε = 1 %, δ = 5 %, budget 2,000 validation + 500 training labels.",
            result,
            y,
        )
    )
    Xd, yd = digits()
    labeler = AutoLabeler(
        make_model("logreg"),
        epsilon=0.05,
        delta=0.05,
        validation_size=400,
        seed_size=50,
        batch_size=25,
        budget=700,
        random_state=seed,
    )
    result = runner(labeler, Xd, SimulatedOracle(yd), "digits")
    runs.append(
        DemoRun(
            "digits",
            "scikit-learn digits: 1,797 images of 10 classes, logistic regression, ε = 5 %, δ = 5 %, "
            "budget 700 labels (400 validation).",
            result,
            yd,
        )
    )
    return runs
