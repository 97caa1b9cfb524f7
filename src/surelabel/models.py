"""Named model families for the CLI and the benchmarks (any scikit-learn classifier works in Python).

``paper-svm`` is the reference implementation's unit-ball model: a linear SVM with no
intercept, ``C = 2000``, balanced class weights and the squared hinge loss; its confidence
is a monotone function of ``|w·x|``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["MODELS", "make_model"]


def _logreg(random_state: int | None) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=2000)


def _linear_svm(random_state: int | None) -> Any:
    from sklearn.svm import LinearSVC

    return LinearSVC(dual="auto", max_iter=5000, random_state=random_state)


def _paper_svm(random_state: int | None) -> Any:
    from sklearn.svm import LinearSVC

    return LinearSVC(
        loss="squared_hinge",
        C=2000,
        class_weight="balanced",
        dual=False,
        tol=1e-12,
        max_iter=15000,
        fit_intercept=False,
    )


def _random_forest(random_state: int | None) -> Any:
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=200, n_jobs=1, random_state=random_state)


def _hist_gb(random_state: int | None) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(random_state=random_state)


def _knn(random_state: int | None) -> Any:
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(n_neighbors=10, weights="distance")


def _naive_bayes(random_state: int | None) -> Any:
    from sklearn.naive_bayes import GaussianNB

    return GaussianNB()


#: Model factories by name: ``factory(random_state) -> unfitted classifier``.
MODELS: dict[str, Callable[[int | None], Any]] = {
    "logreg": _logreg,
    "linear-svm": _linear_svm,
    "paper-svm": _paper_svm,
    "random-forest": _random_forest,
    "hist-gb": _hist_gb,
    "knn": _knn,
    "naive-bayes": _naive_bayes,
}


def make_model(name: str, random_state: int | None = None) -> Any:
    """A fresh, unfitted classifier of the named family.

    Examples
    --------
    >>> type(make_model("logreg")).__name__
    'LogisticRegression'
    """
    try:
        return MODELS[name](random_state)
    except KeyError:
        raise ValueError(f"Unknown model {name!r}. Allowed: {', '.join(MODELS)}.") from None
