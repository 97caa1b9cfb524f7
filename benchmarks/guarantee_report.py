"""Print coverage, realised error and violation rate for the guarantee cases of the test suite.

Run: ``python3 benchmarks/guarantee_report.py --runs 200`` (the default suite's cases) and
``python3 benchmarks/guarantee_report.py --runs 1000 --slow`` (adds digits; the slow tests).
"""

from __future__ import annotations

import argparse
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from surelabel.simulation import simulate, summarize, violation_slack  # noqa: E402
from test_guarantee import CASES, DELTA, _digits_problem, labeler  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--slow", action="store_true", help="also run digits (as the slow tests do)")
    args = ap.parse_args()
    cases = dict(CASES)
    if args.slow:
        cases["digits eps=5%"] = (_digits_problem, dict(epsilon=0.05, validation_size=400, budget=700), 0.05)
    print("| case | runs | coverage | realised error (mean / max) | violation rate | allowed |")
    print("|---|---|---|---|---|---|")
    for name, (problem, kw, eps) in cases.items():
        t = time.time()
        for bound in ("clopper-pearson", "paper"):
            s = summarize(simulate(problem, partial(labeler, **{**kw, "bound": bound}), range(args.runs),
                                   epsilon=eps, n_jobs=-1))
            print(f"| {name}, {bound} | {s['runs']} | {100 * s['coverage_mean']:.1f} % | "
                  f"{100 * s['error_mean']:.2f} % / {100 * s['error_max']:.2f} % | {s['violation_rate']:.3f} | "
                  f"≤ {DELTA + violation_slack(DELTA, args.runs):.3f} |", flush=True)
        print(f"<!-- {name}: {time.time() - t:.0f} s -->", file=sys.stderr)


if __name__ == "__main__":
    main()
