"""The unit-ball numbers published with TBAL (Vishwakarma et al., NeurIPS 2023), as data.

Source: the output cells of ``scripts/unit-ball/tables_unit_ball.ipynb`` in the reference
repository (``harit7/TBAL-NeurIPS-23``), which generate the paper's tables; transcribed in
``shared/research/tbal-reference.md`` §4.2 (and §6.3 for the N_v = 1200 and 1600 cells at
C1 = 0). Mean and standard deviation over 10 seeds, **in percent**; ``None`` where the
notebook printed no standard deviation. ε = 1 %, the σ-heuristic bound (``bound="paper"``).

Reading them against ours:

* The reference code counts every AL query twice, so its AL and AL+SC bought about
  ``N_q / 2`` training labels (its "AL" coverage is 1 − 250 / 16,000 = 98.44 % at
  N_q = 500). Ours count once; ``--al-double-count`` emulates the reference.
* AL (all) and PL (all) do not depend on C1; the notebook printed them only for some
  cells, which are copied to both C1 values here.
* At N_v = 100 the C1 = 0.25 row is identical to the C1 = 0 row (no admissible region has
  an error, so the σ term is 0); its standard deviations are taken from the C1 = 0 row.
"""

from __future__ import annotations

from typing import Any

__all__ = ["NV_SWEEP", "NQ_SWEEP", "paper_cell", "PAPER_SEEDS"]

PAPER_SEEDS = 10

# (c1, N_v) -> method -> (err mean, err std, cov mean, cov std); N_q = 500
NV_SWEEP: dict[tuple[float, int], dict[str, tuple[float, float | None, float | None, float | None]]] = {
    (0.0, 100): {"tbal": (3.10, 1.80, 71.43, 8.86), "al+sc": (0.68, 0.81, 96.95, 1.01),
                 "pl+sc": (1.45, 0.73, 92.29, 3.27), "al": (1.23, None, 98.52, None), "pl": (2.87, None, 96.88, None)},
    (0.0, 400): {"tbal": (1.97, 0.76, 93.99, 2.39), "al+sc": (0.59, 0.18, 97.89, 0.50),
                 "pl+sc": (1.19, 0.53, 91.73, 2.86), "al": (0.81, None, 98.44, None), "pl": (2.87, None, 96.88, None)},
    (0.0, 800): {"tbal": (1.64, 0.50, 96.26, 1.33), "al+sc": (0.66, 0.19, 98.06, 0.53),
                 "pl+sc": (1.21, 0.41, 92.25, 2.31)},
    (0.0, 1200): {"tbal": (1.39, None, 96.67, None), "al+sc": (0.67, None, 98.10, None),
                  "pl+sc": (1.11, None, 91.98, None)},
    (0.0, 1600): {"tbal": (1.33, None, 97.13, None), "al+sc": (0.70, None, 98.16, None),
                  "pl+sc": (1.11, None, 92.01, None)},
    (0.0, 2000): {"tbal": (1.28, 0.34, 97.15, 0.54), "al+sc": (0.71, 0.21, 98.20, 0.34),
                  "pl+sc": (1.07, 0.25, 91.86, 2.17), "al": (0.81, None, 98.44, None), "pl": (2.87, None, 96.88, None)},
    (0.25, 100): {"tbal": (3.10, 1.80, 71.43, 8.86), "al+sc": (0.68, 0.81, 96.95, 1.01),
                  "pl+sc": (1.45, 0.73, 92.29, 3.27), "al": (1.23, None, 98.52, None),
                  "pl": (2.87, None, 96.88, None)},
    (0.25, 400): {"tbal": (1.65, 0.65, 93.27, 2.50), "al+sc": (0.32, 0.15, 96.91, 0.99),
                  "pl+sc": (0.52, 0.32, 87.86, 3.73), "al": (0.81, None, 98.44, None),
                  "pl": (2.87, None, 96.88, None)},
    (0.25, 800): {"tbal": (1.08, 0.47, 96.01, 1.16), "al+sc": (0.24, 0.16, 96.31, 1.36),
                  "pl+sc": (0.31, 0.17, 86.21, 3.55)},
    (0.25, 1200): {"tbal": (0.78, 0.27, 96.82, 0.84), "al+sc": (0.17, 0.11, 95.96, 1.40),
                   "pl+sc": (0.18, 0.14, 84.65, 4.14)},
    (0.25, 1600): {"tbal": (0.65, 0.20, 96.93, 0.57), "al+sc": (0.13, 0.08, 95.70, 1.38),
                   "pl+sc": (0.12, 0.09, 83.76, 3.93)},
    (0.25, 2000): {"tbal": (0.54, 0.16, 97.23, 0.42), "al+sc": (0.21, 0.11, 96.36, 1.13),
                   "pl+sc": (0.21, 0.10, 85.72, 3.47), "al": (0.81, None, 98.44, None),
                   "pl": (2.87, None, 96.88, None)},
}

# (c1, N_q) -> method -> (err mean, None, cov mean, None); N_v = 4000. AL/PL (all): error only.
_NQ = {
    # N_q: (C1=0 TBAL, AL+SC, PL+SC), (C1=.25 TBAL, AL+SC, PL+SC), AL(all) err, PL(all) err
    100: (((1.53, 75.31), (1.16, 31.69), (1.14, 51.47)), ((0.78, 71.40), (0.29, 19.31), (0.24, 35.90)), 16.93, 12.53),
    200: (((1.25, 96.24), (1.04, 73.27), (0.98, 76.05)), ((0.49, 95.28), (0.16, 59.41), (0.17, 63.77)), 7.85, 7.08),
    400: (((1.20, 97.70), (0.94, 96.48), (1.03, 91.08)), ((0.40, 97.63), (0.15, 92.06), (0.15, 83.64)), 1.81, 3.25),
    600: (((1.21, 97.56), (0.44, 98.11), (1.09, 93.19)), ((0.34, 97.36), (0.12, 97.07), (0.17, 87.92)), 0.44, 2.25),
    800: (((1.13, 97.25), (0.12, 97.49), (1.02, 93.23)), ((0.28, 97.10), (0.07, 97.36), (0.15, 88.96)), 0.12, 1.76),
    1000: (((1.08, 97.02), (0.04, 96.87), (1.00, 92.90)), ((0.25, 96.90), (0.03, 96.84), (0.19, 89.61)), 0.04, 1.37),
}
NQ_SWEEP: dict[tuple[float, int], dict[str, tuple[float, float | None, float | None, float | None]]] = {}
for _nq, (_c0, _c25, _al, _pl) in _NQ.items():
    for _c1, _cells in ((0.0, _c0), (0.25, _c25)):
        NQ_SWEEP[(_c1, _nq)] = {
            m: (e, None, c, None) for m, (e, c) in zip(("tbal", "al+sc", "pl+sc"), _cells)
        }
        NQ_SWEEP[(_c1, _nq)]["al"] = (_al, None, None, None)
        NQ_SWEEP[(_c1, _nq)]["pl"] = (_pl, None, None, None)


def paper_cell(row: dict[str, Any], fallback_c1: float | None = None) -> dict[str, Any] | None:
    """The paper's numbers (as fractions) for a summary row of the unit-ball bench, or ``None``.

    Rows with ``bound == "paper"`` match the cell of their C1 (AL and PL, which have no
    bound, match C1 = 0.25); ε must be 1 % and the cell published. With ``fallback_c1``,
    rows of another bound (the certified ones) are shown the paper's cell at that C1, to
    read side by side; they are not expected to agree.

    Examples
    --------
    >>> paper_cell({"sweep": "n_validation", "method": "tbal", "bound": "paper", "c1": 0.25,
    ...             "epsilon": 0.01, "n_validation": 800, "n_train": 500})["coverage_mean"]
    0.9601
    """
    if abs(float(row.get("epsilon", 0)) - 0.01) > 1e-12:
        return None
    method = row["method"]
    if method in ("tbal", "al+sc", "pl+sc"):
        if row.get("bound") == "paper" and row.get("c1") is not None:
            c1 = float(row["c1"])
        elif fallback_c1 is not None and row.get("bound") != "paper":
            c1 = float(fallback_c1)
        else:
            return None
    elif method in ("al", "pl"):
        c1 = 0.25  # AL and PL do not depend on C1
    else:
        return None
    if c1 not in (0.0, 0.25):
        return None
    if row["sweep"] == "n_validation" and row["n_train"] == 500:
        cell = NV_SWEEP.get((c1, int(row["n_validation"])), {}).get(method)
        if cell is None and method in ("al", "pl"):
            cell = NV_SWEEP.get((0.0, int(row["n_validation"])), {}).get(method)
    elif row["sweep"] == "n_train" and row["n_validation"] == 4000:
        cell = NQ_SWEEP.get((c1, int(row["n_train"])), {}).get(method)
    else:
        return None
    if cell is None:
        return None

    def frac(v: float | None) -> float | None:
        return None if v is None else round(v / 100.0, 6)

    e, es, c, cs = cell
    comparable = method in ("al", "pl") or row.get("bound") == "paper"
    return {"error_mean": frac(e), "error_std": frac(es), "coverage_mean": frac(c), "coverage_std": frac(cs),
            "seeds": PAPER_SEEDS, "comparable": comparable}
