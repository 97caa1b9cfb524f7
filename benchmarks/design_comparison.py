"""Compare designs of the certified threshold search: coverage kept vs promise kept.

Run: ``python3 benchmarks/design_comparison.py [--seeds 100]``. Prints a Markdown table
(mean coverage, mean realised error, violation rate over seeds) for:

* ``paper``: the reference heuristic (no guarantee), ``c1 = 0.25``;
* ``per-class``: each class certified on its own at delta/K, each round on its own;
* ``union``: one threshold for the union of classes, each round on its own;
* ``union+cumulative``: the union, each round certifying the whole auto-labeled set so far
  (validation points retired earlier stay evidence) — the default;
* ``... start=0``: the same with the first test requiring zero errors (no adaptive start);
* ``... share=0.5``: half of delta for the validation tests instead of three quarters.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from joblib import Parallel, delayed

DESIGNS = {
    "paper (c1=0.25)": dict(bound="paper"),
    "per-class": dict(search="per-class", cumulative=False),
    "union": dict(cumulative=False),
    "union+cumulative start=0": dict(start_errors=0),
    "union+cumulative share=0.5": dict(share=0.5),
    "union+cumulative (default)": dict(),
}


def one(problem: str, design: str, seed: int) -> tuple[float, float, float]:
    from sklearn.linear_model import LogisticRegression

    import surelabel.engine as engine
    from surelabel import AutoLabeler, SimulatedOracle, datasets
    from surelabel.models import make_model

    opts = dict(DESIGNS[design])
    engine.CUMULATIVE_EVIDENCE = opts.pop("cumulative", True)
    engine.VALIDATION_SHARE = opts.pop("share", 0.75)
    kind, nv = problem.split(":")
    nv = int(nv)
    if kind == "unit-ball":
        X, y = datasets.unit_ball(20_000, d=30, random_state=seed)
        lab = AutoLabeler(make_model("paper-svm"), epsilon=0.01, validation_size=nv, seed_size=100, batch_size=25,
                          budget=nv + 500, random_state=seed, **opts)
        r = lab.run(X, SimulatedOracle(y), validation_candidates=np.arange(16_000, 20_000))
        eps = 0.01
    elif kind == "blobs":
        X, y = datasets.noisy_blobs(3000, n_classes=4, d=8, spread=0.6, label_noise=0.03, random_state=seed)
        lab = AutoLabeler(LogisticRegression(), epsilon=0.1, validation_size=nv, seed_size=30, batch_size=30,
                          budget=nv + 300, random_state=seed, **opts)
        r = lab.run(X, SimulatedOracle(y))
        eps = 0.1
    else:  # digits
        X, y = datasets.digits()
        perm = np.random.default_rng(seed).permutation(len(y))
        X, y = X[perm], y[perm]
        lab = AutoLabeler(LogisticRegression(max_iter=2000), epsilon=0.05, validation_size=nv, seed_size=50,
                          batch_size=25, budget=nv + 300, random_state=seed, **opts)
        r = lab.run(X, SimulatedOracle(y))
        eps = 0.05
    e = r.auto_error(y)
    e = 0.0 if np.isnan(e) else e
    return r.coverage, e, float(e > eps)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--problems", default="unit-ball:800,unit-ball:1200,unit-ball:2000,digits:400,blobs:600")
    args = ap.parse_args()
    problems = args.problems.split(",")
    print("| design | " + " | ".join(problems) + " |")
    print("|---|" + "---|" * len(problems))
    t0 = time.time()
    for design in DESIGNS:
        cells = []
        for problem in problems:
            out = np.array(Parallel(n_jobs=-1)(delayed(one)(problem, design, s) for s in range(args.seeds)))
            cells.append(f"{100 * out[:, 0].mean():.1f} / {100 * out[:, 1].mean():.2f} / {out[:, 2].mean():.2f}")
        print(f"| {design} | " + " | ".join(cells) + " |", flush=True)
    print(f"\ncells: coverage % / realised error % / violation rate over {args.seeds} seeds; "
          f"{time.time() - t0:.0f} s in all")


if __name__ == "__main__":
    main()
