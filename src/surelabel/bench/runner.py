"""Run TBAL and the baselines over settings and seeds, in parallel, and summarise the runs.

One *task* is one (setting, seed): it draws (or loads) the data once and runs every
requested method on it with the same simulated oracle, so the methods see the same data;
AL+SC and AL (and PL+SC and PL) come from one training run each, with two final passes.
Tasks run in parallel with joblib. Every run is judged against the ground truth: coverage,
auto-label error, violation (error > epsilon), human labels, the oracle-threshold coverage
of the run's final model (:mod:`surelabel.bench.oracle`) and the coverage reached after
each round.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from sklearn.base import clone

from .. import loop as _loop
from ..baselines import (
    ActiveLearningLabeler,
    LabelSpreadingLabeler,
    PassiveLearningLabeler,
    SelfTrainingLabeler,
    knn_graph,
)
from ..loop import AutoLabeler
from ..models import make_model
from ..oracles import SimulatedOracle
from ..result import AutoLabelResult
from .datasets import Problem
from .oracle import oracle_max_selected

__all__ = ["METHODS", "Setting", "BenchConfig", "RunRecord", "run_task", "run_bench", "summarize", "SUMMARY_KEYS"]

#: Every method the bench knows, in table order.
METHODS = ("tbal", "al+sc", "pl+sc", "al", "pl", "self-training", "label-spreading")

#: Keys every summary row has (``--json`` rows, CSV columns).
SUMMARY_KEYS = (
    "bench", "sweep", "method", "bound", "c1", "epsilon", "delta", "n_validation", "n_train", "seeds",
    "error_mean", "error_std", "coverage_mean", "coverage_std", "violation_rate", "violations",
    "runs_without_auto_labels", "oracle_coverage_mean", "coverage_of_oracle_mean", "human_labels_mean",
    "training_labels_mean", "seconds_mean",
)


@dataclass(frozen=True)
class Setting:
    """One cell of a table: the validation and training budgets and the error target."""

    sweep: str  # which quantity the table varies: "n_validation", "n_train" or "budget"
    n_validation: int
    n_train: int
    epsilon: float

    @property
    def budget(self) -> int:
        return self.n_validation + self.n_train


@dataclass(frozen=True)
class BenchConfig:
    """What every run of a bench shares."""

    bench: str
    methods: tuple[str, ...]
    bound: str = "clopper-pearson"
    c1: float = 0.25
    delta: float = 0.05
    score: str = "max_proba"
    query: str = "margin_random"
    query_factor: int = 2
    seed_fraction: float = 0.2
    batch_fraction: float = 0.05
    al_double_count: bool = False
    # self-training re-fits its model on a growing set every iteration: the bench keeps its
    # k-fold search small (4 thresholds, 3 folds, 2,000 unlabeled items per search fit, 5 iterations)
    self_training_thresholds: tuple[float, ...] = (0.8, 0.9, 0.95, 0.99)
    self_training_splits: int = 3
    self_training_search_pool: int | None = 2000
    self_training_max_iter: int = 5
    spreading_splits: int = 5


@dataclass
class RunRecord:
    """One method on one seed of one setting, judged against the ground truth."""

    bench: str
    sweep: str
    method: str
    bound: str
    c1: float
    epsilon: float
    delta: float
    n_validation: int
    n_train: int
    seed: int
    coverage: float
    error: float  # nan when nothing was auto-labeled
    n_auto: int
    violated: bool
    human_labels: int
    training_labels: int
    validation_labels: int
    oracle_coverage: float
    stop_reason: str
    seconds: float
    rounds: list[tuple[int, float]] = field(default_factory=list)  # (human labels spent, coverage) per round

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["rounds"] = [list(r) for r in self.rounds]
        return d


def _sizes(setting: Setting, config: BenchConfig) -> tuple[int, int]:
    """Seed and batch sizes: the paper's 20 % and 5 % of the training budget."""
    seed = max(2, int(config.seed_fraction * setting.n_train))
    batch = max(1, int(config.batch_fraction * setting.n_train))
    return seed, batch


def _final_model_scores(result: AutoLabelResult, model: Any, X: np.ndarray, score: str):
    """Scores and predictions of a model re-fit on the run's training labels, over the pool items
    without a human label (what a last pass could auto-label)."""
    codes = _codes(result)
    train = np.flatnonzero(result.source == "human")
    cand = np.flatnonzero(result.in_pool & (result.source != "human") & (result.source != "validation"))
    if np.unique(codes[train]).size < 2 or cand.size == 0:
        return cand, None, None
    fitted = clone(model).fit(X[train], codes[train])
    proba, logits = _loop.predict_proba_logits(fitted, X[cand], result.classes.size)
    from ..scores import energy, get_score

    fn = get_score(score)
    s = energy(logits) if fn is energy else np.asarray(fn(proba), dtype=float)
    return cand, s, proba.argmax(axis=1)


def _codes(result: AutoLabelResult) -> np.ndarray:
    lookup = {c: i for i, c in enumerate(result.classes.tolist())}
    return np.array([-1 if v is None else lookup[v] for v in result.labels.tolist()], dtype=np.intp)


def _true_codes(result: AutoLabelResult, y: np.ndarray) -> np.ndarray:
    lookup = {c: i for i, c in enumerate(result.classes.tolist())}
    return np.array([lookup.get(v, -1) for v in y.tolist()], dtype=np.intp)


def _record(result: AutoLabelResult, *, method: str, setting: Setting, config: BenchConfig, seed: int,
            y: np.ndarray, oracle_cov: float, seconds: float) -> RunRecord:
    err = result.auto_error(y)
    n_pool = int(result.in_pool.sum())
    rounds = [(int(h.human_labels_total - h.n_queried), float(h.coverage)) for h in result.history]
    if result.history:  # the labels bought in the last round count too
        rounds.append((int(result.n_human["total"]), float(result.coverage)))
    return RunRecord(
        bench=config.bench, sweep=setting.sweep, method=method,
        bound=config.bound if method in ("tbal", "al+sc", "pl+sc") else "none",
        c1=config.c1 if config.bound == "paper" and method in ("tbal", "al+sc", "pl+sc") else math.nan,
        epsilon=setting.epsilon, delta=config.delta, n_validation=setting.n_validation, n_train=setting.n_train,
        seed=int(seed), coverage=float(result.coverage), error=float(err), n_auto=result.n_auto,
        violated=bool(not math.isnan(err) and err > setting.epsilon), human_labels=result.n_human["total"],
        training_labels=result.n_human["training"], validation_labels=result.n_human["validation"],
        oracle_coverage=float(oracle_cov) if n_pool else math.nan, stop_reason=result.stop_reason,
        seconds=float(seconds), rounds=rounds,
    )


def _oracle_cov(result: AutoLabelResult, y: np.ndarray, epsilon: float, cand, scores, pred) -> float:
    n_pool = int(result.in_pool.sum())
    if scores is None or not n_pool:
        return 0.0
    true = _true_codes(result, y)[cand]
    return oracle_max_selected(scores, pred, true, epsilon) / n_pool


def run_task(problem: Problem, setting: Setting, seed: int, config: BenchConfig, kernel: Any = None) -> list[RunRecord]:
    """Every requested method on one seed of one setting."""
    from sklearn.exceptions import ConvergenceWarning

    X, y, reserve = problem.data(seed)
    methods = set(config.methods)
    model = make_model(problem.model, seed)
    n_seed, batch = _sizes(setting, config)
    common = dict(epsilon=setting.epsilon, delta=config.delta, bound=config.bound, c1=config.c1, score=config.score,
                  query=config.query, validation_size=setting.n_validation, seed_size=n_seed, batch_size=batch,
                  query_kwargs={"factor": config.query_factor} if config.query == "margin_random" else None,
                  random_state=seed)
    records: list[RunRecord] = []

    def oracle() -> SimulatedOracle:
        return SimulatedOracle(y, random_state=seed)

    with warnings.catch_warnings():
        # a base model short of convergence is part of what is measured, not an error of the bench
        warnings.simplefilter("ignore", ConvergenceWarning)
        if "tbal" in methods:
            t0 = time.perf_counter()
            res = AutoLabeler(model, budget=setting.budget, **common).run(X, oracle(), validation_candidates=reserve)
            secs = time.perf_counter() - t0
            cand, s, p = _final_model_scores(res, model, X, config.score)
            records.append(_record(res, method="tbal", setting=setting, config=config, seed=seed, y=y,
                                   oracle_cov=_oracle_cov(res, y, setting.epsilon, cand, s, p), seconds=secs))
        for cls, names in ((ActiveLearningLabeler, ("al+sc", "al")), (PassiveLearningLabeler, ("pl+sc", "pl"))):
            if not methods & set(names):
                continue
            n_train = setting.n_train
            if cls is ActiveLearningLabeler and config.al_double_count:
                n_train = setting.n_train // 2  # what the reference code's AL really bought
            t0 = time.perf_counter()
            both = cls(model, budget=setting.n_validation + n_train, **common).run_passes(
                X, oracle(), validation_candidates=reserve)
            secs = time.perf_counter() - t0
            for name, key in zip(names, ("selective", "all")):
                if name in methods:
                    res = both[key]
                    oi = res.extra.get("oracle_inputs")
                    ocov = 0.0 if oi is None else _oracle_cov(res, y, setting.epsilon, oi["indices"], oi["scores"],
                                                              oi["pred"])
                    records.append(_record(res, method=name, setting=setting, config=config, seed=seed, y=y,
                                           oracle_cov=ocov, seconds=secs))
        if "self-training" in methods:
            t0 = time.perf_counter()
            res = SelfTrainingLabeler(model, epsilon=setting.epsilon, budget=setting.budget,
                                      validation_size=setting.n_validation,
                                      thresholds=config.self_training_thresholds,
                                      n_splits=config.self_training_splits,
                                      search_pool_size=config.self_training_search_pool,
                                      max_iter=config.self_training_max_iter,
                                      random_state=seed).run(X, oracle(), validation_candidates=reserve)
            secs = time.perf_counter() - t0
            oi = res.extra["oracle_inputs"]
            records.append(_record(res, method="self-training", setting=setting, config=config, seed=seed, y=y,
                                   oracle_cov=_oracle_cov(res, y, setting.epsilon, oi["indices"], oi["scores"],
                                                          oi["pred"]), seconds=secs))
        if "label-spreading" in methods:
            t0 = time.perf_counter()
            res = LabelSpreadingLabeler(epsilon=setting.epsilon, budget=setting.budget,
                                        validation_size=setting.n_validation,
                                        kernel=kernel if kernel is not None else "knn",
                                        n_splits=config.spreading_splits,
                                        random_state=seed).run(X, oracle(), validation_candidates=reserve)
            secs = time.perf_counter() - t0
            oi = res.extra["oracle_inputs"]
            records.append(_record(res, method="label-spreading", setting=setting, config=config, seed=seed, y=y,
                                   oracle_cov=_oracle_cov(res, y, setting.epsilon, oi["indices"], oi["scores"],
                                                          oi["pred"]), seconds=secs))
    return records


def _run_task_args(args: tuple) -> list[RunRecord]:
    return run_task(*args)


def run_bench(
    problem: Problem,
    settings: Iterable[Setting],
    seeds: Iterable[int],
    config: BenchConfig,
    *,
    n_jobs: int = -1,
    progress: Callable[[int, int], None] | None = None,
) -> list[RunRecord]:
    """All (setting, seed) tasks, in parallel over ``n_jobs`` processes; ``progress(done, total)`` after each."""
    problem.prepare()
    kernel = None
    if "label-spreading" in config.methods and problem.fixed:
        X, _, _ = problem.data(0)
        kernel = knn_graph(X, 7, n_jobs=n_jobs)
    tasks = [(problem, s, int(seed), config, kernel) for s in settings for seed in seeds]
    out: list[RunRecord] = []
    if progress:
        progress(0, len(tasks))
    if n_jobs == 1:
        results: Iterator = map(_run_task_args, tasks)
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(delayed(_run_task_args)(t) for t in tasks)
    for i, recs in enumerate(results, 1):
        out.extend(recs)
        if progress:
            progress(i, len(tasks))
    order = {m: i for i, m in enumerate(METHODS)}
    out.sort(key=lambda r: (r.sweep, r.epsilon, r.n_validation, r.n_train, order.get(r.method, 99), r.seed))
    return out


def _mean_std(values: list[float]) -> tuple[float | None, float | None]:
    v = np.array([x for x in values if not math.isnan(x)], dtype=float)
    if v.size == 0:
        return None, None
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def summarize(records: list[RunRecord]) -> list[dict[str, Any]]:
    """One row per (method, setting): means and standard deviations over seeds, violation rate, oracle limit.

    The error mean is over the runs that auto-labeled something (as in the paper); their
    number is ``seeds - runs_without_auto_labels``. A run that auto-labeled nothing does
    not violate.
    """
    groups: dict[tuple, list[RunRecord]] = {}
    for r in records:
        key = (r.bench, r.sweep, r.method, r.bound, r.epsilon, r.n_validation, r.n_train)
        groups.setdefault(key, []).append(r)
    rows = []
    for (bench, sweep, method, bound, eps, nv, nt), rs in groups.items():
        err_m, err_s = _mean_std([r.error for r in rs])
        cov_m, cov_s = _mean_std([r.coverage for r in rs])
        ratios = [r.coverage / r.oracle_coverage for r in rs if r.oracle_coverage and r.oracle_coverage > 0]
        c1 = rs[0].c1
        rows.append({
            "bench": bench,
            "sweep": sweep,
            "method": method,
            "bound": bound,
            "c1": None if c1 is None or math.isnan(c1) else c1,
            "epsilon": eps,
            "delta": rs[0].delta,
            "n_validation": nv,
            "n_train": nt,
            "seeds": len(rs),
            "error_mean": err_m,
            "error_std": err_s,
            "coverage_mean": cov_m,
            "coverage_std": cov_s,
            "violation_rate": float(np.mean([r.violated for r in rs])),
            "violations": int(sum(r.violated for r in rs)),
            "runs_without_auto_labels": int(sum(r.n_auto == 0 for r in rs)),
            "oracle_coverage_mean": _mean_std([r.oracle_coverage for r in rs])[0],
            "coverage_of_oracle_mean": float(np.mean(ratios)) if ratios else None,
            "human_labels_mean": float(np.mean([r.human_labels for r in rs])),
            "training_labels_mean": float(np.mean([r.training_labels for r in rs])),
            "seconds_mean": float(np.mean([r.seconds for r in rs])),
        })
    return rows


def rounds_curve(records: list[RunRecord], *, per_round: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean human labels, mean and std of coverage after each round, over seeds (short runs carried forward).

    Each run's last point is the labels it ended with; ``per_round=True`` leaves it out (one
    point per round).
    """
    curves = [r.rounds[:-1] if per_round else r.rounds for r in records if len(r.rounds) > int(per_round)]
    if not curves:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    n = max(len(c) for c in curves)
    lab = np.array([[c[min(i, len(c) - 1)][0] for i in range(n)] for c in curves], dtype=float)
    cov = np.array([[c[min(i, len(c) - 1)][1] for i in range(n)] for c in curves], dtype=float)
    return lab.mean(axis=0), cov.mean(axis=0), cov.std(axis=0, ddof=1) if len(curves) > 1 else np.zeros(n)


def with_paper(rows: list[dict[str, Any]], lookup: Callable[[dict[str, Any]], dict | None]) -> list[dict[str, Any]]:
    """Add the paper's numbers (``paper_*`` keys) and a within-noise check to every row it has numbers for.

    Within noise: ``|ours - paper| <= 2 sqrt(sd_ours^2 / n_ours + sd_paper^2 / 10)``.
    """
    out = []
    for row in rows:
        ref = lookup(row)
        row = dict(row)
        for k in ("error", "coverage"):
            p_mean = p_std = None
            ok = None
            if ref is not None:
                p_mean, p_std = ref.get(f"{k}_mean"), ref.get(f"{k}_std")
                ours, sd = row[f"{k}_mean"], row[f"{k}_std"]
                comparable = ref.get("comparable", True)
                if comparable and None not in (p_mean, p_std, ours, sd):
                    se = math.sqrt(sd**2 / max(row["seeds"], 1) + p_std**2 / ref.get("seeds", 10))
                    ok = bool(abs(ours - p_mean) <= 2 * se + 1e-12)
            row[f"paper_{k}_mean"] = p_mean
            row[f"paper_{k}_std"] = p_std
            row[f"{k}_within_noise"] = ok
        out.append(row)
    return out


def replace_settings(settings: list[Setting], **changes: Any) -> list[Setting]:
    return [replace(s, **changes) for s in settings]
