"""Benchmarks of label quality and cost: noisy annotators, and cost–coverage curves.

Two benchmarks, each a function returning tables (and, on request, PNG plots):

* :func:`run_noise_bench` — TBAL with annotators who make mistakes, uniform or systematic
  (class-dependent: some classes are often called by a look-alike's name, the look-alikes
  never the other way round), at several noise rates and with three ways of handling it:
  ``none``; ``double-validation`` (two answers per validation item, a third on
  disagreement); ``audit-validation`` (audit the validation labels with confident learning
  and ask two more people about the flagged ones). Each run reports coverage, the realised
  auto-label error against the *true* labels and against an independent annotator's labels,
  whether the promise was broken, what the annotators cost, and how well the audit finds
  the planted mistakes among the run's human labels.
* :func:`run_cost_bench` — cost–coverage and cost–accuracy of labeling methods across
  budgets, against labeling everything by hand, with the answers to "for $X, how much is
  labeled at ≤ ε?" (:func:`answer_money`) and "what does Y % coverage cost?"
  (:func:`answer_coverage`), and a per-class report of one run.

Methods are a registry (:data:`METHODS`, :func:`register_method`) of
``runner(problem, seed, budget) -> AutoLabelResult``: TBAL and the baselines of
:mod:`surelabel.baselines` (AL+SC, PL+SC, self-training, label spreading), each buying the
same budget from the same simulated annotator with the same validation half, so their
cost–coverage curves compare like with like. Runs are spread over processes with joblib.

Data: ``unit-ball`` (the paper's synthetic set), ``digits`` (scikit-learn), and
``fashion-mnist`` (Debian package ``dataset-fashion-mnist``; a seeded 10,000- or
20,000-image subset, 50 PCA components of the pixels).
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .exceptions import InputError

__all__ = [
    "Problem",
    "PROBLEMS",
    "load_problem",
    "METHODS",
    "METHOD_KEYS",
    "register_method",
    "resolve_methods",
    "noise_oracle",
    "noise_run",
    "run_noise_bench",
    "audit_run",
    "run_audit_bench",
    "spot_check_run",
    "run_spot_check_bench",
    "summarize_noise",
    "guarantee_breaks",
    "noise_verdict",
    "cost_run",
    "run_cost_bench",
    "summarize_cost",
    "answer_money",
    "answer_coverage",
    "plot_noise",
    "plot_cost",
    "plot_planner",
    "planner_table",
    "class_report_for",
]

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                 "Ankle boot"]
NOISE_TYPES = ("uniform", "confusion", "systematic")
#: Failure probability δ of every benchmark run.
DELTA = 0.05
MITIGATIONS = ("none", "double-validation", "audit-validation")


@dataclass(frozen=True)
class Problem:
    """A dataset with the settings its benchmarks use.

    ``look_alikes`` maps a class to the class annotators mistake it for under systematic
    noise (the sources are mislabeled, the targets never are).
    """

    name: str
    X: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    class_names: list[str]
    epsilon: float
    budgets: tuple[int, ...]
    noise_budget: int
    look_alikes: dict[int, int]
    model: Callable[[], Any] = field(repr=False)
    noise_epsilon: float = 0.1

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


def tbal_sizes(budget: int) -> dict[str, int]:
    """Half the budget for validation, a tenth as seed, a twentieth per query batch."""
    return {"validation_size": budget // 2, "seed_size": max(budget // 10, 20), "batch_size": max(budget // 20, 10)}


def _logreg(C: float = 1.0) -> Callable[[], Any]:
    def make() -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=C, max_iter=2000)

    return make


def _idx(path: Path) -> np.ndarray:
    raw = gzip.open(path).read()
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def fashion_mnist_features(n_items: int = 10_000, n_components: int = 50, random_state: int = 0):
    """A seeded subset of the Fashion-MNIST training images as PCA features, and labels."""
    images = FASHION_DIR / "train-images-idx3-ubyte.gz"
    labels = FASHION_DIR / "train-labels-idx1-ubyte.gz"
    if not images.exists() or not labels.exists():
        raise InputError(
            f"Fashion-MNIST is not installed (no {images}); install it with "
            "'apt-get install -y dataset-fashion-mnist' or leave fashion-mnist out."
        )
    from sklearn.decomposition import PCA

    X, y = _idx(images), _idx(labels)
    sub = np.sort(np.random.default_rng(random_state).choice(y.size, size=min(n_items, y.size), replace=False))
    pixels = X[sub].reshape(sub.size, -1) / 255.0
    Z = PCA(n_components, random_state=random_state).fit_transform(pixels)
    return Z / Z[:, 0].std(), y[sub].astype(np.int64)


def _unit_ball() -> Problem:
    from .datasets import unit_ball

    X, y = unit_ball(8000, d=20, random_state=0)
    return Problem("unit-ball", X, y, ["0", "1"], epsilon=0.02, budgets=(150, 250, 400, 600, 900, 1300),
                   noise_budget=800, look_alikes={1: 0}, model=_logreg(100.0))


def _digits() -> Problem:
    from .datasets import digits

    X, y = digits()
    # systematic confusions: 3 read as 8, 5 as 6, 7 as 1, 9 as 4 (never the other way)
    return Problem("digits", X, y, [str(i) for i in range(10)], epsilon=0.05,
                   budgets=(200, 300, 400, 500, 700, 900, 1200), noise_budget=900,
                   look_alikes={3: 8, 5: 6, 7: 1, 9: 4}, model=_logreg())


def _fashion(n_items: int) -> Callable[[], Problem]:
    def make() -> Problem:
        X, y = fashion_mnist_features(n_items)
        # shirts called T-shirts, pullovers coats, ankle boots sneakers, dresses trousers... one way
        return Problem("fashion-mnist" if n_items == 10_000 else f"fashion-mnist-{n_items // 1000}k", X, y,
                       FASHION_NAMES, epsilon=0.05, budgets=(1000, 2000, 3000, 4000, 6000, 8000),
                       noise_budget=2000, look_alikes={6: 0, 2: 4, 9: 7, 3: 1}, model=_logreg())

    return make


#: Problem loaders by name.
PROBLEMS: dict[str, Callable[[], Problem]] = {
    "unit-ball": _unit_ball,
    "digits": _digits,
    "fashion-mnist": _fashion(10_000),
    "fashion-mnist-20k": _fashion(20_000),
    "fashion-mnist-60k": _fashion(60_000),
}

_CACHE: dict[str, Problem] = {}


def load_problem(name: str) -> Problem:
    """The named problem (loaded once per process).

    Examples
    --------
    >>> p = load_problem("digits")
    >>> p.n, p.n_classes, p.epsilon
    (1797, 10, 0.05)
    """
    if name not in PROBLEMS:
        raise InputError(f"Unknown dataset {name!r}. Allowed: {', '.join(PROBLEMS)}.")
    if name not in _CACHE:
        _CACHE[name] = PROBLEMS[name]()
    return _CACHE[name]


# ---------------------------------------------------------------------------------------
# methods


def _run_tbal(problem: Problem, seed: int, budget: int, *, epsilon: float | None = None, oracle: Any = None):
    from .loop import AutoLabeler
    from .oracles import SimulatedOracle

    labeler = AutoLabeler(problem.model(), epsilon=epsilon or problem.epsilon, delta=DELTA, budget=budget,
                          random_state=seed, **tbal_sizes(budget))
    return labeler.run(problem.X, oracle if oracle is not None else SimulatedOracle(problem.y))


def _one_pass(cls_name: str) -> Callable[..., Any]:
    """AL+SC or PL+SC (:mod:`surelabel.baselines`) with TBAL's budget, sizes, oracle, ε and δ.

    Both buy ``budget`` labels in all — the same validation half, seed and batch sizes as
    :func:`tbal_sizes` — then make one thresholded pass with the final model (certified by
    the same bound as one TBAL round), so their cost is counted exactly as TBAL's.
    """

    def run(problem: Problem, seed: int, budget: int) -> Any:
        from . import baselines
        from .oracles import SimulatedOracle

        cls = getattr(baselines, cls_name)
        labeler = cls(problem.model(), epsilon=problem.epsilon, delta=DELTA, budget=budget, random_state=seed,
                      final_pass="selective", **tbal_sizes(budget))
        return labeler.run(problem.X, SimulatedOracle(problem.y))

    run.__doc__ = f"{cls_name} with the final pass 'selective' at TBAL's sizes."
    return run


def _bench_config() -> Any:
    # the k-fold settings `surelabel bench` uses for the semi-supervised baselines (kept small there
    # for time, and so here)
    from .bench.runner import BenchConfig

    return BenchConfig(bench="cost", methods=())


def _run_self_training(problem: Problem, seed: int, budget: int) -> Any:
    """Self-training at TBAL's validation half of ``budget`` (the rest random), as ``surelabel bench`` runs it."""
    from .baselines import SelfTrainingLabeler
    from .oracles import SimulatedOracle

    c = _bench_config()
    labeler = SelfTrainingLabeler(problem.model(), epsilon=problem.epsilon, budget=budget,
                                  validation_size=tbal_sizes(budget)["validation_size"],
                                  thresholds=c.self_training_thresholds, n_splits=c.self_training_splits,
                                  search_pool_size=c.self_training_search_pool, max_iter=c.self_training_max_iter,
                                  random_state=seed)
    return labeler.run(problem.X, SimulatedOracle(problem.y))


_KERNELS: dict[str, Any] = {}


def _run_label_spreading(problem: Problem, seed: int, budget: int) -> Any:
    """Label spreading at TBAL's validation half of ``budget``, over a k-NN graph built once per process."""
    from .baselines import LabelSpreadingLabeler, knn_graph
    from .oracles import SimulatedOracle

    if problem.name not in _KERNELS:  # the neighbour search is most of a run's time (22 s on 60,000 images)
        _KERNELS[problem.name] = knn_graph(problem.X, 7)
    labeler = LabelSpreadingLabeler(epsilon=problem.epsilon, budget=budget,
                                    validation_size=tbal_sizes(budget)["validation_size"],
                                    kernel=_KERNELS[problem.name], n_splits=_bench_config().spreading_splits,
                                    random_state=seed)
    return labeler.run(problem.X, SimulatedOracle(problem.y))


#: Labeling methods for the cost benchmark: ``runner(problem, seed, budget) -> AutoLabelResult``.
#: Every one buys exactly ``budget`` labels from the same simulated annotator, half of them
#: for validation. TBAL, AL+SC and PL+SC certify their auto-labels; self-training and label
#: spreading choose a threshold by k-fold search and promise nothing.
TBAL = "TBAL (certified)"

METHODS: dict[str, Callable[..., Any]] = {
    TBAL: _run_tbal,
    "AL+SC": _one_pass("ActiveLearningLabeler"),
    "PL+SC": _one_pass("PassiveLearningLabeler"),
    "self-training": _run_self_training,
    "label spreading": _run_label_spreading,
}

#: Short names for ``--methods`` (those of ``surelabel bench``).
METHOD_KEYS: dict[str, str] = {"tbal": TBAL, "al+sc": "AL+SC", "pl+sc": "PL+SC",
                               "self-training": "self-training", "label-spreading": "label spreading"}


def register_method(name: str, runner: Callable[..., Any], key: str | None = None) -> None:
    """Add a method to the cost benchmark, e.g. ``register_method("AL", run_al, key="al")``."""
    METHODS[name] = runner
    METHOD_KEYS[key or name] = name


def resolve_methods(text: str | None) -> list[str]:
    """The methods named in ``text`` (comma-separated short or full names; ``all`` or None: every one).

    Examples
    --------
    >>> resolve_methods("tbal, pl+sc")
    ['TBAL (certified)', 'PL+SC']
    >>> resolve_methods("tbal,foo")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    surelabel.exceptions.InputError: Unknown method 'foo'. Allowed: tbal, al+sc, pl+sc, ..., all.
    """
    names = [v.strip() for v in (text or "all").split(",") if v.strip()]
    if names == ["all"]:
        return list(METHODS)
    out = []
    for n in names:
        full = METHOD_KEYS.get(n.lower(), n if n in METHODS else None)
        if full is None:
            raise InputError(f"Unknown method {n!r}. Allowed: {', '.join(METHOD_KEYS)}, all.")
        if full not in out:
            out.append(full)
    return out


# ---------------------------------------------------------------------------------------
# noisy annotators


def noise_oracle(problem: Problem, noise: str, rate: float, seed: int):
    """A simulated annotator making mistakes at overall rate ``rate``.

    ``uniform``: every class is mistaken at ``rate`` for a uniformly drawn other class.
    ``confusion``: only the classes in ``problem.look_alikes`` are mistaken, each for its
    look-alike and never the other way round, all at the rate that makes the overall share
    ``rate`` (capped at 0.9) — class-dependent, asymmetric noise as in seed 002.
    ``systematic``: the same overall share, concentrated: look-alike pairs are filled one
    after the other at 90 % (the first class is then mostly called by the other's name, as
    when annotators misread a guideline), the last pair with what is left.
    """
    from .oracles import SimulatedOracle

    K = problem.n_classes
    if noise == "uniform":
        return SimulatedOracle(problem.y, noise_rate=rate, classes=np.arange(K), random_state=seed)
    if noise not in NOISE_TYPES:
        raise InputError(f"Unknown noise {noise!r}. Allowed: {', '.join(NOISE_TYPES)}.")
    sources = np.array(list(problem.look_alikes))
    shares = np.bincount(problem.y, minlength=K) / problem.n
    rates = np.zeros(K)
    if noise == "confusion":
        share = shares[sources].sum()
        rates[sources] = min(rate / share, 0.9) if share else 0.0
    else:
        left = rate
        for c in sources:
            rates[c] = min(0.9, left / shares[c]) if shares[c] else 0.0
            left -= rates[c] * shares[c]
            if left <= 1e-12:
                break
    conf = np.full((K, K), 1e-12)
    for s, t in problem.look_alikes.items():
        conf[s, t] = 1.0
    return SimulatedOracle(problem.y, noise_rate=rates, noise="confusion", confusion=conf, classes=np.arange(K),
                           random_state=seed)


class _AuditReviewOracle:
    """On the validation items: audit the first answers and re-ask two people about flagged ones."""

    def __init__(self, oracle: Any, X: np.ndarray, items: np.ndarray, seed: int) -> None:
        self.oracle, self.X, self.items, self.seed = oracle, X, set(np.asarray(items).tolist()), seed
        self.n_flagged = 0

    def label(self, indices: np.ndarray) -> np.ndarray:
        from collections import Counter

        from .audit import find_label_issues

        idx = np.asarray(indices, dtype=np.intp)
        answers = np.asarray(self.oracle.label(idx))
        val = np.isin(idx, list(self.items))
        if val.sum() < 20:
            return answers
        pos = np.flatnonzero(val)
        issues = find_label_issues(self.X[idx[pos]], answers[pos], random_state=self.seed)
        flagged = pos[issues.loc[issues["is_issue"], "index"].to_numpy(dtype=np.intp)]
        self.n_flagged += flagged.size
        if flagged.size:
            a2 = np.asarray(self.oracle.label(idx[flagged]))
            a3 = np.asarray(self.oracle.label(idx[flagged]))
            for j, p in enumerate(flagged.tolist()):
                top, count = Counter([answers[p], a2[j], a3[j]]).most_common(1)[0]
                answers[p] = top if count >= 2 else a3[j]
        return answers


def _audit_scores(X: np.ndarray, answers: np.ndarray, truth: np.ndarray, seed: int) -> dict[str, float]:
    from .audit import find_label_issues

    planted = answers != truth
    k = int(planted.sum())
    if k == 0 or np.unique(answers).size < 2:
        return {"audit_precision_at_k": math.nan, "audit_flag_precision": math.nan, "audit_flag_recall": math.nan}
    issues = find_label_issues(X, answers, random_state=seed)
    order = issues["index"].to_numpy()
    flagged = issues.loc[issues["is_issue"], "index"].to_numpy()
    return {
        "audit_precision_at_k": float(planted[order[:k]].mean()),
        "audit_flag_precision": float(planted[flagged].mean()) if flagged.size else math.nan,
        "audit_flag_recall": float(planted[flagged].sum() / k),
    }


def noise_run(
    dataset: str, noise: str, rate: float, mitigation: str, seed: int, *, audit: bool = True
) -> dict[str, Any]:
    """One TBAL run with a noisy annotator; every figure judged against the true labels."""
    from .consensus import ConsensusOracle
    from .engine import TBALConfig, initial_draw
    from .loop import AutoLabeler

    p = load_problem(dataset)
    eps = p.noise_epsilon
    budget = p.noise_budget
    base = noise_oracle(p, noise, rate, seed)
    sizes = tbal_sizes(budget)
    config = TBALConfig.resolve(epsilon=eps, delta=DELTA, budget=budget, seed=seed, **sizes)
    val_idx, _ = initial_draw(config, np.arange(p.n), np.ones(p.n, bool))  # the draw the loop will make
    if mitigation == "none":
        oracle: Any = base
    elif mitigation == "double-validation":
        oracle = ConsensusOracle(base, items=val_idx)
    elif mitigation == "audit-validation":
        oracle = _AuditReviewOracle(base, p.X, val_idx, seed)
    else:
        raise InputError(f"Unknown mitigation {mitigation!r}. Allowed: {', '.join(MITIGATIONS)}.")
    labeler = AutoLabeler(p.model(), epsilon=eps, delta=DELTA, budget=budget, random_state=seed,
                          classes=np.arange(p.n_classes), **sizes)
    result = labeler.run(p.X, oracle)
    # labels of every item made the way the validation labels were made (one answer, or a
    # majority of two or three): what the promise is relative to. The audit's re-review
    # cannot be replayed item by item, so its runs have no such reference.
    fresh = noise_oracle(p, noise, rate, seed + 1_000_003)
    if mitigation == "double-validation":
        reference = ConsensusOracle(fresh).label(np.arange(p.n))
    elif mitigation == "none":
        reference = fresh.label(np.arange(p.n))
    else:
        reference = None
    auto = result.auto_mask
    labels = result.labels
    err_true = float(np.mean(labels[auto] != p.y[auto])) if auto.any() else 0.0
    if reference is None:
        err_annot = math.nan
    else:
        err_annot = float(np.mean(labels[auto] != reference[auto])) if auto.any() else 0.0
    human = (result.source == "human") | (result.source == "validation")
    val = result.source == "validation"
    answers = labels[human].astype(np.int64)
    row: dict[str, Any] = {
        "dataset": dataset,
        "noise": noise,
        "rate": rate,
        "mitigation": mitigation,
        "seed": seed,
        "epsilon": eps,
        "coverage": float(result.coverage),
        "n_auto": int(auto.sum()),
        "error_true": err_true,
        "error_annotator": err_annot,
        "violated_true": bool(err_true > eps),
        "violated_annotator": bool(err_annot > eps) if reference is not None else math.nan,
        "items_labeled": int(human.sum()),
        "answers": int(base.n_labels),
        "validation_label_error": float(np.mean(labels[val].astype(np.int64) != p.y[val])) if val.any() else 0.0,
        "training_label_error": float(np.mean(labels[result.source == "human"].astype(np.int64)
                                              != p.y[result.source == "human"])),
    }
    if audit and rate > 0:
        row.update(_audit_scores(p.X[human], answers, p.y[human], seed))
    return row


def _one_thread(fn: Callable[..., dict], *args: Any) -> dict:
    # one BLAS thread per run: runs are parallel already, and oversubscribed BLAS threads
    # made a digits run 20 times slower on a busy 2-core machine
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return fn(*args)


def _parallel(fn: Callable[..., dict], tasks: list[tuple], n_jobs: int) -> list[dict]:
    if n_jobs == 1:
        return [_one_thread(fn, *t) for t in tasks]
    from joblib import Parallel, delayed

    return list(Parallel(n_jobs=n_jobs)(delayed(_one_thread)(fn, *t) for t in tasks))


def run_noise_bench(
    datasets: list[str],
    rates: list[float],
    noises: list[str],
    mitigations: list[str],
    seeds: int,
    *,
    n_jobs: int = 2,
    audit: bool = True,
):
    """Every combination, ``seeds`` seeded runs each; one row per run (a DataFrame)."""
    import pandas as pd

    for r in rates:
        if not 0.0 <= r < 1.0:
            raise InputError(f"Noise rates must be in [0, 1). Got {r!r}.")
    for n in noises:
        if n not in NOISE_TYPES:
            raise InputError(f"Unknown noise {n!r}. Allowed: {', '.join(NOISE_TYPES)}.")
    for m in mitigations:
        if m not in MITIGATIONS:
            raise InputError(f"Unknown mitigation {m!r}. Allowed: {', '.join(MITIGATIONS)}.")
    for d in datasets:
        load_problem(d)  # fail early, in this process, on unknown or missing data
    tasks = []
    for d in datasets:
        for noise in noises:
            for rate in rates:
                for m in mitigations:
                    if rate == 0 and noise != noises[0]:
                        continue  # without noise, both noise types are the same run
                    tasks += [(d, noise, rate, m, s, audit) for s in range(seeds)]
    rows = _parallel(_noise_task, tasks, n_jobs)
    return pd.DataFrame(rows)


def _noise_task(d: str, noise: str, rate: float, m: str, s: int, audit: bool) -> dict:
    return noise_run(d, noise, rate, m, s, audit=audit)


def summarize_noise(runs: Any):
    """Means per (dataset, noise, rate, mitigation), with violation rates and the cost in answers."""
    cols = {
        "runs": ("seed", "count"),
        "runs_with_auto": ("runs_with_auto", "sum"),
        "epsilon": ("epsilon", "first"),
        "coverage": ("coverage", "mean"),
        "error_true": ("error_true", "mean"),
        "error_true_max": ("error_true", "max"),
        "error_annotator": ("error_annotator", "mean"),
        "violation_true": ("violated_true", "mean"),
        "violation_annotator": ("violated_annotator", "mean"),
        "validation_label_error": ("validation_label_error", "mean"),
        "answers_per_item": ("answers_per_item", "mean"),
    }
    # errors are averaged over the runs that auto-labeled something (a run that labels
    # nothing has no error to speak of); violations over all runs
    has = runs["n_auto"] > 0
    frame = runs.assign(answers_per_item=runs["answers"] / runs["items_labeled"],
                        error_true=runs["error_true"].where(has), error_annotator=runs["error_annotator"].where(has),
                        runs_with_auto=has)
    for c in ("audit_precision_at_k", "audit_flag_precision", "audit_flag_recall"):
        if c in frame:
            cols[c] = (c, "mean")
    out = frame.groupby(["dataset", "noise", "rate", "mitigation"], sort=False).agg(**cols).reset_index()
    # rate 0 is one run set shared by every noise type: show it under each
    base = out[out["rate"] == 0]
    extra = []
    for noise in runs["noise"].unique():
        if not ((out["noise"] == noise) & (out["rate"] == 0)).any():
            extra.append(base.assign(noise=noise))
    if extra:
        import pandas as pd

        out = pd.concat([out, *extra], ignore_index=True)
    return out.sort_values(["dataset", "noise", "mitigation", "rate"], kind="stable").reset_index(drop=True)


def guarantee_breaks(summary: Any, *, delta: float = DELTA, alpha: float = 0.01):
    """The settings of a noise summary whose runs broke ε against the truth more often than δ allows.

    A certified run may break ε with probability δ, so a few violations in many runs are
    expected; a setting is flagged when its count of violating runs is improbable under
    that promise: one-sided binomial tail ``P(X >= k | runs, δ) < alpha`` (``alpha = 0.01``,
    kept small because a summary holds dozens of settings). With 20 runs that is 5 or more
    (25 %), with 8 runs 3 or more. Returns the flagged rows with ``violations`` and
    ``p_value`` added, by dataset, noise and rate.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"dataset": ["d", "d"], "noise": ["systematic", "uniform"], "rate": [0.1, 0.1],
    ...                   "mitigation": ["none", "none"], "runs": [20, 20], "epsilon": [0.1, 0.1],
    ...                   "violation_true": [0.6, 0.05]})
    >>> guarantee_breaks(s)[["noise", "violations"]].values.tolist()
    [['systematic', 12]]
    """
    from scipy.stats import binom

    runs = summary["runs"].to_numpy(dtype=float)
    k = np.rint(summary["violation_true"].to_numpy(dtype=float) * runs)
    out = summary.assign(violations=k.astype(np.int64), p_value=binom.sf(k - 1, runs, delta))  # P(X >= k)
    out = out[_too_many_breaks(k, runs, delta=delta, alpha=alpha)]
    return out.sort_values(["dataset", "noise", "rate"], kind="stable")


def noise_verdict(summary: Any, *, delta: float = DELTA, alpha: float = 0.01) -> list[str]:
    """Sentences saying where the noise benchmark broke the guarantee against the truth, and what to do.

    Empty when no setting did (beyond chance, :func:`guarantee_breaks`). Otherwise one line
    per broken setting, then the mitigation: validation labeled twice with a third answer on
    disagreement (``double-validation``, :class:`~surelabel.consensus.ConsensusOracle`),
    which repairs independent annotator mistakes; and, where the mitigated runs broke it
    too, what that means (the annotators share the mistake) and what then helps.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"dataset": ["digits"], "noise": ["systematic"], "rate": [0.1], "mitigation": ["none"],
    ...                   "runs": [20], "epsilon": [0.1], "violation_true": [1.0], "error_annotator": [0.05]})
    >>> print(noise_verdict(s)[1])  # doctest: +NORMALIZE_WHITESPACE
    digits, systematic noise at 10%, mitigation none: 20 of 20 runs (100%) auto-labeled more than
    ε = 10% wrongly against the truth (5.0% against the annotators).
    """
    broken = guarantee_breaks(summary, delta=delta, alpha=alpha)
    if broken.empty:
        return []
    n_set = int(len(summary))
    lines = [f"GUARANTEE BROKEN against the true labels in {len(broken)} of {n_set} settings: more runs broke ε "
             f"than δ = {delta:.0%} allows (one-sided binomial test, p < {alpha:g}). The promise holds against the "
             "annotators' labels; these annotators' mistakes made it false against the truth."]
    for _, r in broken.iterrows():
        annot = r.get("error_annotator")
        tail = ""
        if annot is not None and isinstance(annot, (float, np.floating)) and math.isfinite(annot):
            tail = f" ({annot:.1%} against the annotators)"
        lines.append(f"{r['dataset']}, {r['noise']} noise at {r['rate']:.0%}, mitigation {r['mitigation']}: "
                     f"{int(r['violations'])} of {int(r['runs'])} runs ({r['violation_true']:.0%}) auto-labeled more "
                     f"than ε = {r['epsilon']:.0%} wrongly against the truth{tail}.")
    price = ""
    dv = summary[summary["mitigation"] == "double-validation"]
    if "answers_per_item" in dv and dv["answers_per_item"].notna().any():
        price = (f", for {dv['answers_per_item'].min():.2f}–{dv['answers_per_item'].max():.2f} answers per labeled "
                 "item here")
    lines.append("Mitigation: label every validation item twice and a third time on disagreement "
                 "(--mitigations double-validation; ConsensusOracle(oracle, items=validation items); "
                 f"docs/quality.md §4): it takes independent annotator mistakes out of the yardstick{price}.")
    mitigated = broken[broken["mitigation"] != "none"]
    if not mitigated.empty:
        where = "; ".join(f"{r['dataset']} {r['noise']} {r['rate']:.0%} ({r['mitigation']})"
                          for _, r in mitigated.head(4).iterrows())
        more = f" and {len(mitigated) - 4} more" if len(mitigated) > 4 else ""
        lines.append(f"Here the mitigated runs broke it too ({where}{more}): the annotators share these mistakes, so "
                     "a second or third opinion agrees with the first. Run an independent spot check of the "
                     "auto-labels with careful reviewers who do not see the label (surelabel spot-check), fix the "
                     "labeling guideline and relabel the affected classes.")
    elif not (summary["mitigation"] == "double-validation").any():
        lines.append("These runs had no mitigation to compare with: run them again with "
                     "--mitigations none,double-validation.")
    return lines


# ---------------------------------------------------------------------------------------
# the audit alone, on planted noise


def audit_run(dataset: str, noise: str, rate: float, seed: int, max_items: int = 5000) -> dict[str, Any]:
    """Plant annotator mistakes in (up to ``max_items`` of) a dataset's labels and audit them."""
    p = load_problem(dataset)
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(p.n, size=min(max_items, p.n), replace=False))
    answers = noise_oracle(p, noise, rate, seed).label(idx)
    row = {"dataset": dataset, "noise": noise, "rate": rate, "seed": seed, "items": int(idx.size),
           "planted": int(np.sum(answers != p.y[idx]))}
    row.update(_audit_scores(p.X[idx], answers, p.y[idx], seed))
    return row


def run_audit_bench(datasets: list[str], rates: list[float], noises: list[str], seeds: int, *, n_jobs: int = 2,
                    max_items: int = 5000):
    """Precision at k (k = planted mistakes) and precision/recall of the flagged set, per setting."""
    import pandas as pd

    for d in datasets:
        load_problem(d)
    tasks = [(d, nz, r, s, max_items) for d in datasets for nz in noises for r in rates for s in range(seeds)]
    runs = pd.DataFrame(_parallel(audit_run, tasks, n_jobs))
    summary = (runs.groupby(["dataset", "noise", "rate"], sort=False)
               .agg(runs=("seed", "count"), items=("items", "mean"), planted=("planted", "mean"),
                    precision_at_k=("audit_precision_at_k", "mean"),
                    precision_at_k_min=("audit_precision_at_k", "min"),
                    flag_precision=("audit_flag_precision", "mean"), flag_recall=("audit_flag_recall", "mean"))
               .reset_index())
    return runs, summary


# ---------------------------------------------------------------------------------------
# cost


def cost_run(dataset: str, method: str, seed: int, budget: int, cost_model: Any) -> dict[str, Any]:
    """One run of ``method`` at ``budget`` labels: what it cost, covered and got wrong."""
    from .cost import result_cost

    p = load_problem(dataset)
    if method not in METHODS:
        raise InputError(f"Unknown method {method!r}. Allowed: {', '.join(METHODS)}.")
    result = METHODS[method](p, seed, budget)
    labels = result.labels
    labeled = np.array([v is not None for v in labels.tolist()])
    correct = np.array([v == t for v, t in zip(labels.tolist(), p.y.tolist())])
    auto = result.auto_mask
    cost = result_cost(result, cost_model) if cost_model.mode != "per-class" else result_cost(
        _named(result, p), cost_model)
    return {
        "dataset": dataset,
        "method": method,
        "seed": seed,
        "budget": budget,
        "epsilon": result.epsilon,
        "human_labels": int(result.n_human["total"]),
        "cost": float(cost["total"]),
        "coverage": float(result.coverage),
        "labeled_share": float(labeled.mean()),
        "auto_error": float(np.mean(~correct[auto])) if auto.any() else math.nan,
        "accuracy": float(correct[labeled].mean()) if labeled.any() else math.nan,
        "violated": bool(auto.any() and np.mean(~correct[auto]) > result.epsilon),
    }


def _named(result: Any, p: Problem) -> Any:
    """The result with class names instead of indices (for per-class price tables)."""
    names = np.array(p.class_names, dtype=object)
    labels = np.array([None if v is None else names[int(v)] for v in result.labels.tolist()], dtype=object)
    return replace(result, labels=labels)


def run_cost_bench(datasets: list[str], methods: list[str], budgets: dict[str, list[int]], seeds: int,
                   cost_model: Any, *, n_jobs: int = 2):
    """One row per (dataset, method, budget, seed)."""
    import pandas as pd

    for d in datasets:
        p = load_problem(d)
        cost_model.check_classes(p.class_names)
    for m in methods:
        if m not in METHODS:
            raise InputError(f"Unknown method {m!r}. Allowed: {', '.join(METHODS)}.")
    tasks = [(d, m, s, b, cost_model) for d in datasets for m in methods for b in budgets[d] for s in range(seeds)]
    return pd.DataFrame(_parallel(cost_run, tasks, n_jobs))


def summarize_cost(runs: Any):
    """Means (and spread) per dataset, method and budget."""
    return (
        runs.groupby(["dataset", "method", "budget"], sort=False)
        .agg(runs=("seed", "count"), cost=("cost", "mean"), coverage=("coverage", "mean"),
             coverage_std=("coverage", "std"), labeled_share=("labeled_share", "mean"),
             labeled_share_std=("labeled_share", "std"), auto_error=("auto_error", "mean"),
             accuracy=("accuracy", "mean"), violation_rate=("violated", "mean"))
        .reset_index()
    )


def passive_cost(problem: Problem, cost_model: Any, share: float) -> float:
    """Expected cost of labeling a uniformly random ``share`` of the items by hand."""
    counts = np.bincount(problem.y, minlength=problem.n_classes)
    if cost_model.mode == "per-class":
        price = cost_model.expected_price({problem.class_names[c]: counts[c] for c in range(problem.n_classes)})
    else:
        price = cost_model.expected_price()
    return share * problem.n * price


def _too_many_breaks(violations: Any, runs: Any, *, delta: float = DELTA, alpha: float = 0.01) -> np.ndarray:
    """True where ``violations`` of ``runs`` breaking ε is improbable for a method that keeps ε with 1 − δ.

    One-sided binomial tail ``P(X >= k | runs, δ) < alpha``: a certified method may break ε
    by chance in a δ share of runs, so one violation in 8 runs is not evidence against it.
    """
    from scipy.stats import binom

    k = np.rint(np.asarray(violations, dtype=float))
    n = np.asarray(runs, dtype=float)
    return (k > 0) & (binom.sf(k - 1, n, delta) < alpha)


def _kept(g: Any) -> np.ndarray:
    """Budgets of one method whose runs kept ε (mean auto-label error ≤ ε, violations within chance)."""
    eps = g["epsilon"].to_numpy(dtype=float) if "epsilon" in g else np.full(len(g), np.nan)
    err = g["auto_error"].to_numpy(dtype=float)
    mean_ok = ~(err > eps + 1e-12)  # nan (nothing auto-labeled) keeps it
    return mean_ok & ~_too_many_breaks(g["violation_rate"].to_numpy(dtype=float) * g["runs"], g["runs"])


def answer_money(summary: Any, problem: Problem, cost_model: Any, money: float) -> list[dict[str, Any]]:
    """For ``money``: the labeled share each method reaches with auto-labels at ≤ ε, and by hand.

    Only budgets whose runs kept ε count (:func:`_kept`: mean auto-label error at most ε and
    no more violating runs than δ explains); a method that breaks ε at every affordable
    budget gets ``labeled_share = None`` and says so.
    """
    out = []
    for method, g in summary[summary["dataset"] == problem.name].groupby("method", sort=False):
        ok = g[g["cost"] <= money * (1 + 1e-9) + 1e-9]
        base = {"method": method, "money": money, "labeled_share": None, "coverage": None, "budget": None,
                "auto_error": None, "violation_rate": None}
        if ok.empty:
            out.append({**base, "labeled_share": 0.0, "coverage": 0.0, "note": "below the smallest budget run"})
            continue
        kept = ok[_kept(ok)]
        if kept.empty:
            worst = ok.loc[ok["labeled_share"].idxmax()]
            out.append({**base, "note": f"no budget within {cost_model.format(money)} kept ε (budget "
                                        f"{int(worst['budget'])}: mean auto-label error {worst['auto_error']:.1%}, "
                                        f"ε broken in {worst['violation_rate']:.0%} of runs)"})
            continue
        best = kept.loc[kept["labeled_share"].idxmax()]
        left = f"; {len(ok) - len(kept)} budget(s) that broke ε left out" if len(kept) < len(ok) else ""
        out.append({**base, "labeled_share": float(best["labeled_share"]), "coverage": float(best["coverage"]),
                    "budget": int(best["budget"]), "auto_error": float(best["auto_error"]),
                    "violation_rate": float(best["violation_rate"]),
                    "note": f"budget {int(best['budget'])} labels, mean cost {cost_model.format(best['cost'])}{left}"})
    per_item = passive_cost(problem, cost_model, 1.0) / problem.n
    share = min(money / per_item / problem.n, 1.0) if per_item > 0 else 1.0
    out.append({"method": "by hand (passive)", "money": money, "labeled_share": share, "coverage": 0.0,
                "budget": int(share * problem.n), "auto_error": None, "violation_rate": None,
                "note": "every label from a person"})
    return out


def answer_coverage(summary: Any, problem: Problem, cost_model: Any, target: float) -> list[dict[str, Any]]:
    """What reaching ``target`` labeled share costs, per method (interpolated between budgets).

    As :func:`answer_money`, only budgets that kept ε count. When the smallest budget run
    already reaches the target, its cost is an upper bound (``at_most``).
    """
    out = []
    for method, g in summary[summary["dataset"] == problem.name].groupby("method", sort=False):
        g = g.sort_values("cost")
        n_all = len(g)
        g = g[_kept(g)]
        left = f"; {n_all - len(g)} budget(s) that broke ε left out" if len(g) < n_all else ""
        reach = g[g["labeled_share"] >= target]
        if reach.empty:
            best = f"best {g['labeled_share'].max():.1%}" if len(g) else "no budget kept ε"
            out.append({"method": method, "target": target, "cost": None, "at_most": False,
                        "note": f"not reached ({best}{left})"})
            continue
        j = reach.index[0]
        pos = g.index.get_loc(j)
        cost = float(g.loc[j, "cost"])
        runs = int(g.loc[j, "runs"])
        note = f"between budgets (mean of {runs} runs){left}"
        at_most = pos == 0
        if at_most:
            note = (f"at most: the smallest budget kept ({int(g.loc[j, 'budget'])} labels) already labels "
                    f"{g.loc[j, 'labeled_share']:.1%}{left}")
        else:
            prev = g.iloc[pos - 1]
            lo_s, hi_s = float(prev["labeled_share"]), float(g.loc[j, "labeled_share"])
            if hi_s > lo_s and prev["labeled_share"] < target:
                cost = float(prev["cost"] + (target - lo_s) / (hi_s - lo_s) * (g.loc[j, "cost"] - prev["cost"]))
        vr = float(g.loc[j, "violation_rate"])
        if vr > 0:
            note += f"; ε broken in {vr:.0%} of its runs"
        out.append({"method": method, "target": target, "cost": cost, "at_most": bool(at_most), "note": note})
    out.append({"method": "by hand (passive)", "target": target, "cost": passive_cost(problem, cost_model, target),
                "at_most": False, "note": "every label from a person"})
    return out


def class_report_for(dataset: str, budget: int, cost_model: Any, seed: int = 0):
    """Per-class report of one TBAL run on ``dataset`` at ``budget`` labels."""
    from .class_report import per_class_report_from_run

    p = load_problem(dataset)
    result = _run_tbal(p, seed, budget)
    names = np.array(p.class_names, dtype=object)
    report = per_class_report_from_run(result, p.X, p.model(), cost_model=None, y_true=p.y)
    report["class"] = [names[int(c)] for c in report["class"]]
    prices = cost_model.prices(report["class"].tolist()) if cost_model.mode == "per-class" else np.full(
        len(report), cost_model.expected_price())
    report["price"] = prices
    report["cost_per_auto_label"] = np.where(report["auto_labeled"] > 0,
                                             report["human_labels"] * prices / np.maximum(report["auto_labeled"], 1),
                                             np.inf)
    report["extra_cost"] = report["extra_validation"] * prices
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(report["uncovered"] > 0, report["uncovered"] / report["extra_cost"], 0.0)
    report["value"] = np.where(np.isfinite(report["extra_cost"]), value, 0.0)
    return result, report


# ---------------------------------------------------------------------------------------
# spot checks of real runs


def spot_check_run(dataset: str, seed: int, n: int, confidence: float, budget: int | None = None) -> dict[str, Any]:
    """One TBAL run, one spot check of ``n`` of its auto-labels: does the interval cover the truth?"""
    from .spotcheck import draw_spot_check, spot_check_report

    p = load_problem(dataset)
    result = _run_tbal(p, seed, budget or p.budgets[len(p.budgets) // 2])
    auto = result.auto_mask
    row: dict[str, Any] = {"dataset": dataset, "seed": seed, "n_auto": int(auto.sum()), "n": n}
    if auto.sum() < n:
        return {**row, "checked": False}
    idx = draw_spot_check(auto, n, random_state=seed + 7)
    rep = spot_check_report(result.labels[idx].astype(np.int64), p.y[idx], confidence=confidence)
    labels = result.labels.astype(object)
    truth = float(np.mean(labels[auto] != p.y[auto]))
    row.update({"checked": True, "true_error": truth, "error": rep.error, "ci_low": rep.ci_low, "ci_high": rep.ci_high,
                "covered": bool(rep.ci_low <= truth <= rep.ci_high)})
    hits = total = 0
    for c in rep.per_class:
        if c["n"]:
            m = auto & (labels == c["class"])
            t = float(np.mean(p.y[m] != c["class"]))
            total += 1
            hits += c["ci_low"] <= t <= c["ci_high"]
    row.update({"classes_checked": total, "classes_covered": hits})
    return row


def run_spot_check_bench(datasets: list[str], runs: int, n: int, confidence: float, *, n_jobs: int = 2):
    """Coverage of the spot-check interval over many seeded runs (overall and per class)."""
    import pandas as pd

    for d in datasets:
        load_problem(d)
    tasks = [(d, s, n, confidence) for d in datasets for s in range(runs)]
    frame = pd.DataFrame(_parallel(spot_check_run, tasks, n_jobs))
    checked = frame[frame["checked"]]
    summary = (checked.groupby("dataset", sort=False)
               .agg(runs=("seed", "count"), mean_true_error=("true_error", "mean"), coverage=("covered", "mean"),
                    classes_checked=("classes_checked", "sum"), classes_covered=("classes_covered", "sum"))
               .reset_index())
    summary["class_coverage"] = summary["classes_covered"] / summary["classes_checked"]
    summary["confidence"] = confidence
    summary["n"] = n
    return frame, summary


# ---------------------------------------------------------------------------------------
# the planner against simulation


def planner_table(epsilons: list[float], ratios: list[float], *, delta: float = 0.05, power: float = 0.9,
                  check_runs: int = 0, seed: int = 0):
    """Validation points needed to certify a region whose error is ``ratio * epsilon``.

    One direct test at ``delta`` (as :func:`~surelabel.thresholds.estimate_thresholds`);
    with ``check_runs``, each planned size is run through the real search that many times
    and the share of runs certifying is reported next to the promise.
    """
    import pandas as pd

    from .planner import labels_needed, single_test_needed
    from .thresholds import estimate_thresholds

    rows = []
    for eps in epsilons:
        for ratio in ratios:
            e = ratio * eps
            n_any = labels_needed(e, epsilon=eps, delta=delta, power=power)
            one = single_test_needed(e, epsilon=eps, delta=delta, power=power)
            row = {"epsilon": eps, "error": e, "ratio": ratio, "needed": n_any, "needed_times_eps": n_any * eps,
                   "single_test": one, "single_test_times_eps": one * eps}
            if check_runs and math.isfinite(n_any):
                n = int(n_any)
                hits = 0
                for r in range(check_runs):
                    rng = np.random.default_rng([seed, int(1e6 * eps), int(1e3 * ratio), r])
                    sc = rng.random(n)
                    wrong = (rng.random(n) < e).astype(int)
                    est = estimate_thresholds(sc, np.zeros(n, int), wrong, n_classes=2, epsilon=eps, delta=delta)
                    hits += bool(np.isfinite(est.thresholds[0]))
                row["simulated_share"] = hits / check_runs
            rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------
# plots


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError("Plots need matplotlib: python3 -m pip install 'surelabel[plot]' (or matplotlib).") from None
    return plt


def plot_noise(summary: Any, out_dir: str | Path, noise: str) -> Path:
    """Coverage, realised error (truth) and violation rate against the noise rate."""
    plt = _pyplot()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    s = summary[summary["noise"] == noise]
    datasets = list(dict.fromkeys(s["dataset"]))
    fig, axes = plt.subplots(3, len(datasets), figsize=(3.6 * len(datasets), 7.2), squeeze=False, sharex=True)
    styles = {"none": ("tab:red", "o"), "double-validation": ("tab:blue", "s"), "audit-validation": ("tab:green", "^")}
    for j, d in enumerate(datasets):
        sd = s[s["dataset"] == d]
        eps = float(sd["epsilon"].iloc[0]) if len(sd) else math.nan
        for m, g in sd.groupby("mitigation", sort=False):
            g = g.sort_values("rate")
            color, marker = styles.get(m, ("gray", "x"))
            x = 100 * g["rate"]
            axes[0, j].plot(x, 100 * g["coverage"], color=color, marker=marker, label=m)
            axes[1, j].plot(x, 100 * g["error_true"], color=color, marker=marker, label=f"{m} (truth)")
            axes[1, j].plot(x, 100 * g["error_annotator"], color=color, marker=marker, ls=":", alpha=0.6)
            axes[2, j].plot(x, 100 * g["violation_true"], color=color, marker=marker, label=m)
        if math.isfinite(eps):
            axes[1, j].axhline(100 * eps, color="k", lw=0.8, ls="--")
            axes[1, j].text(0, 100 * eps, " ε", va="bottom", fontsize=8)
        axes[2, j].axhline(5, color="k", lw=0.8, ls="--")
        axes[2, j].text(0, 5, " δ", va="bottom", fontsize=8)
        axes[0, j].set_title(d, fontsize=10)
        axes[2, j].set_xlabel("annotator noise rate (%)")
    axes[0, 0].set_ylabel("coverage (%)")
    axes[1, 0].set_ylabel("auto-label error (%)\nsolid: truth, dotted: annotator")
    axes[2, 0].set_ylabel("runs breaking ε vs truth (%)")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"TBAL with noisy annotators ({noise} noise)", fontsize=11)
    fig.tight_layout()
    path = out_dir / f"noise_{noise}.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def plot_cost(summary: Any, problem: Problem, cost_model: Any, out_dir: str | Path) -> Path:
    """Cost–coverage and cost–accuracy curves of every method, with the by-hand line.

    Four panels, one line per method in each (so five methods stay readable): labeled share
    (human + auto) and auto-labeled share against cost, with ± 1 sd over seeds; accuracy of
    all labels and of the auto-labels against cost, with the 1 − ε line.
    """
    plt = _pyplot()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    s = summary[summary["dataset"] == problem.name]
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.4), sharex=True)
    (a_lab, a_cov), (a_acc, a_auto) = axes
    top = float(s["cost"].max()) * 1.05
    xs = np.linspace(0, top, 50)
    per_item = passive_cost(problem, cost_model, 1.0) / problem.n
    share = np.minimum(xs / per_item / problem.n, 1.0)
    a_lab.plot(xs, 100 * share, color="gray", ls="--", label="by hand (passive)")
    a_acc.plot(xs, np.full_like(xs, 100.0), color="gray", ls="--", label="by hand (passive)")
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink"]
    markers = ["o", "s", "^", "D", "v", "P", "X"]
    for i, (method, g) in enumerate(s.groupby("method", sort=False)):
        g = g.sort_values("cost")
        c, mk = colors[i % len(colors)], markers[i % len(markers)]
        lw = 2.2 if method == TBAL else 1.3
        for ax, col in ((a_lab, "labeled_share"), (a_cov, "coverage")):
            ax.plot(g["cost"], 100 * g[col], marker=mk, ms=4, lw=lw, color=c, label=method)
            sd = g[f"{col}_std"].fillna(0) if f"{col}_std" in g else 0
            ax.fill_between(g["cost"], 100 * np.clip(g[col] - sd, 0, 1), 100 * np.clip(g[col] + sd, 0, 1), color=c,
                            alpha=0.12, lw=0)
        a_acc.plot(g["cost"], 100 * g["accuracy"], marker=mk, ms=4, lw=lw, color=c, label=method)
        a_auto.plot(g["cost"], 100 * (1 - g["auto_error"]), marker=mk, ms=4, lw=lw, color=c, label=method)
    eps = float(s["epsilon"].iloc[0]) if "epsilon" in s and len(s) else problem.epsilon
    for ax in (a_acc, a_auto):
        ax.axhline(100 * (1 - eps), color="k", lw=0.8, ls="--")
        ax.text(0, 100 * (1 - eps), " 1 − ε", va="bottom", fontsize=8)
        ax.set_xlabel(f"cost ({cost_model.currency}, mean over seeds)")
    a_lab.set_ylabel("labeled, human + auto (% of items)")
    a_cov.set_ylabel("auto-labeled (% of pool)")
    a_acc.set_ylabel("accuracy of all labels vs truth (%)")
    a_auto.set_ylabel("accuracy of auto-labels vs truth (%)")
    a_lab.set_title("cost–coverage: everything labeled", fontsize=10)
    a_cov.set_title("cost–coverage: auto-labels (band: ± 1 sd over seeds)", fontsize=10)
    a_acc.set_title("cost–accuracy: all labels", fontsize=10)
    a_auto.set_title("cost–accuracy: auto-labels (no point: none made)", fontsize=10)
    for ax in axes.ravel():
        ax.grid(alpha=0.3)
        ax.set_xlim(0, top)
    for ax, ok in ((a_acc, s["accuracy"]), (a_auto, 1 - s["auto_error"])):
        lo = float(np.nanmin(100 * ok)) if ok.notna().any() else 100 * (1 - eps)
        ax.set_ylim(min(100 * (1 - 2 * eps), lo - 1), 100.5)
    a_lab.set_ylim(0, 102)
    a_cov.set_ylim(0, 102)
    handles, labels = a_lab.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.955), ncol=min(len(labels), 6),
               fontsize=8.5, frameon=False)
    n_seeds = int(s["runs"].max()) if "runs" in s and len(s) else 0
    fig.suptitle(f"{problem.name} ({problem.n:,} items): {cost_model.format(per_item)} a label (mean), "
                 f"ε = {eps:.0%}, δ = {DELTA:.0%}, {n_seeds} seeds", fontsize=11, y=0.99)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    path = out_dir / f"cost_{problem.name}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_planner(table: Any, plan: Any, out_dir: str | Path) -> Path:
    """Left: labels needed against the error/ε ratio for several ε (log scale); right: a plan's coverage curve."""
    plt = _pyplot()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]
    for i, (eps, g) in enumerate(table.groupby("epsilon")):
        c = colors[i % len(colors)]
        ok = g[np.isfinite(g["needed"])]
        a1.plot(100 * ok["ratio"], ok["needed"], marker="o", color=c, label=f"ε = {eps:g}: the search")
        one = g[np.isfinite(g["single_test"])]
        a1.plot(100 * one["ratio"], one["single_test"], ls=":", marker="x", color=c, label=f"ε = {eps:g}: one test")
    a1.set_yscale("log")
    a1.set_xlabel("model error in the region, as % of ε")
    a1.set_ylabel("validation points needed (90 % of runs)")
    a1.set_title("certifying a region: labels needed", fontsize=10)
    a1.legend(fontsize=6, ncol=2)
    c = plan.curve
    for grp, g in c.groupby("group", sort=False):
        a2.plot(g["validation_size"], 100 * g["expected_coverage"], marker=".",
                lw=2.2 if grp in ("(all)", "(union)") else 1.0, label=str(grp))
    a2.set_xscale("log")
    a2.set_xlabel("validation labels")
    a2.set_ylabel("expected certified coverage (%)")
    a2.set_title(f"coverage vs validation size (ε = {plan.epsilon:g}, {plan.search})", fontsize=10)
    a2.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    path = out_dir / "planner.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
