"""Benchmark figures (matplotlib PNG; ``pip install 'surelabel[plot]'``).

* :func:`plot_sweep` — auto-label error and coverage against the swept budget (N_v, N_q or
  the training budget), mean ± one standard deviation over seeds, ε as a line, the
  paper's numbers as crosses where they exist;
* :func:`plot_coverage_vs_labels` — coverage after each round against the human labels spent
  so far, one setting, every method;
* :func:`plot_rounds` — TBAL's coverage round by round, one line per setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import SurelabelError
from .runner import METHODS, RunRecord, rounds_curve

__all__ = ["require_matplotlib", "plot_sweep", "plot_coverage_vs_labels", "plot_rounds", "PLOT_INSTALL"]

PLOT_INSTALL = "python3 -m pip install 'surelabel[plot]'"
_COLORS = {"tbal": "#1f77b4", "al+sc": "#d62728", "pl+sc": "#2ca02c", "al": "#ff9896", "pl": "#98df8a",
           "self-training": "#9467bd", "label-spreading": "#8c564b"}
_STYLES = {"al": "--", "pl": "--"}
_LABELS = {"tbal": "TBAL", "al+sc": "AL+SC", "pl+sc": "PL+SC", "al": "AL (all)", "pl": "PL (all)",
           "self-training": "self-training", "label-spreading": "label spreading"}
_AXIS = {"n_validation": "validation labels N_v", "n_train": "training labels N_q", "budget": "training labels N_q"}


def require_matplotlib() -> Any:
    """``matplotlib.pyplot`` with the Agg backend, or a one-line error saying how to install it."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SurelabelError(f"Plots need matplotlib; install it with: {PLOT_INSTALL} (or pass --no-plots)") from None
    return plt


def _x(row_or_rec: Any, sweep: str) -> int:
    get = row_or_rec.get if isinstance(row_or_rec, dict) else lambda k: getattr(row_or_rec, k)
    return int(get("n_validation") if sweep == "n_validation" else get("n_train"))


def plot_sweep(rows: list[dict[str, Any]], sweep: str, epsilon: float, path: Path, title: str) -> Path:
    """Error and coverage (%) against the swept budget, ± one standard deviation."""
    plt = require_matplotlib()
    fig, (ax_e, ax_c) = plt.subplots(1, 2, figsize=(10, 3.8), dpi=90)
    rows = [r for r in rows if r["sweep"] == sweep and abs(r["epsilon"] - epsilon) < 1e-12]
    for method in METHODS:
        rs = sorted((r for r in rows if r["method"] == method), key=lambda r: _x(r, sweep))
        if not rs:
            continue
        x = np.array([_x(r, sweep) for r in rs], dtype=float)
        for ax, key in ((ax_e, "error"), (ax_c, "coverage")):
            m = np.array([np.nan if r[f"{key}_mean"] is None else 100 * r[f"{key}_mean"] for r in rs])
            s = np.array([0.0 if r[f"{key}_std"] is None else 100 * r[f"{key}_std"] for r in rs])
            ax.plot(x, m, marker="o", ms=3, color=_COLORS[method], label=_LABELS[method],
                    linestyle=_STYLES.get(method, "-"))
            ax.fill_between(x, np.clip(m - s, 0, 100), np.clip(m + s, 0, 100), color=_COLORS[method], alpha=0.15,
                            linewidth=0)
            pm = np.array([np.nan if r.get(f"paper_{key}_mean") is None else 100 * r[f"paper_{key}_mean"]
                           for r in rs])
            if np.isfinite(pm).any():
                ax.plot(x, pm, linestyle="none", marker="x", ms=6, color=_COLORS[method])
    ax_e.axhline(100 * epsilon, color="black", linestyle="--", linewidth=1, label=f"ε = {100 * epsilon:g} %")
    ax_e.set_ylabel("auto-label error (%)")
    ax_c.set_ylabel("coverage (%)")
    for ax in (ax_e, ax_c):
        ax.set_xlabel(_AXIS.get(sweep, sweep))
        ax.grid(alpha=0.3)
    ax_e.legend(fontsize=7, loc="upper right")
    fig.suptitle(title + ("   (x = paper)" if any(r.get("paper_coverage_mean") is not None for r in rows) else ""),
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_coverage_vs_labels(records: list[RunRecord], path: Path, title: str) -> Path:
    """Coverage after each round against human labels spent, for every method of one setting."""
    plt = require_matplotlib()
    fig, ax = plt.subplots(figsize=(5.5, 3.8), dpi=90)
    for method in METHODS:
        rs = [r for r in records if r.method == method]
        if not rs:
            continue
        lab, cov, sd = rounds_curve(rs)
        ax.plot(lab, 100 * cov, marker="o", ms=2.5 if lab.size > 2 else 6, color=_COLORS[method],
                label=_LABELS[method], linestyle=_STYLES.get(method, "-"),
                drawstyle="steps-post" if method != "tbal" else "default")
        ax.fill_between(lab, np.clip(100 * (cov - sd), 0, 100), np.clip(100 * (cov + sd), 0, 100),
                        color=_COLORS[method], alpha=0.15, linewidth=0)
    ax.set_xlabel("human labels spent (validation + training)")
    ax.set_ylabel("coverage (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_rounds(records: list[RunRecord], sweep: str, path: Path, title: str, method: str = "tbal") -> Path:
    """``method``'s coverage round by round, one line per setting (mean ± sd over seeds)."""
    plt = require_matplotlib()
    fig, ax = plt.subplots(figsize=(5.5, 3.8), dpi=90)
    rs = [r for r in records if r.method == method]
    xs = sorted({_x(r, sweep) for r in rs})
    cmap = plt.get_cmap("viridis")
    for i, xv in enumerate(xs):
        sub = [r for r in rs if _x(r, sweep) == xv]
        _, cov, sd = rounds_curve(sub, per_round=True)
        k = np.arange(cov.size)
        color = cmap(i / max(len(xs) - 1, 1))
        ax.plot(k, 100 * cov, marker="o", ms=2.5, color=color, label=f"{_AXIS.get(sweep, sweep).split()[-1]} = {xv}")
        ax.fill_between(k, np.clip(100 * (cov - sd), 0, 100), np.clip(100 * (cov + sd), 0, 100), color=color,
                        alpha=0.12, linewidth=0)
    ax.set_xlabel("round")
    ax.set_ylabel("coverage (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
