"""One self-contained HTML page about a project or a run: what was certified, at what price.

:func:`write_report` takes a project folder (made by ``surelabel init``), an open
:class:`~surelabel.project.Project`, or the :class:`~surelabel.result.AutoLabelResult` of a
run, and writes one HTML file with

* coverage and the overall certified bound (on *all* auto-labels together) against the human
  labels spent, round by round: a figure and a table;
* per class: the threshold, the validation error *estimate* with its 90 % interval (an
  estimate, not a bound) and the auto-label counts; under the per-class promise also each
  class's own certified bound;
* histograms of the auto-labeled items' scores with each class's threshold;
* the spot-check intervals (projects with answered spot checks) and the cost (when prices
  were set).

The page needs nothing else: figures are PNG images inlined as base64, styles are inline, there
is no script and no external URL. Figures need matplotlib (the ``plot`` extra); without it the
page still has every table and says how to get the figures. Every string from the data (class
names, the title, paths) is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import base64
import html
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .exceptions import InputError, SurelabelError

__all__ = ["write_report", "report_html"]

#: Most classes drawn as score histograms (the ones with the most auto-labels).
MAX_HISTOGRAMS = 12


@dataclass
class _Data:
    """What the page shows, the same for a project and for a run."""

    title: str
    kind: str  # "project" or "run"
    epsilon: float
    delta: float
    bound: str
    guarantee: str
    budget: int | None
    n_items: int
    n_pool: int
    human: dict[str, int]
    stop_reason: str | None
    history: list[dict[str, Any]]
    classes: list[str]
    labels: np.ndarray  # str or None per item
    source: np.ndarray  # "auto", "human", "validation", "unlabeled"
    scores: np.ndarray
    realised: list[float] | None = None  # simulation only: true share of wrong auto-labels so far
    spot: dict[str, Any] | None = None
    cost: dict[str, Any] | None = None
    pending: int = 0  # project items waiting for an answer
    notes: list[str] = field(default_factory=list)

    @property
    def auto(self) -> np.ndarray:
        return self.source == "auto"

    @property
    def n_auto(self) -> int:
        return int(self.auto.sum())

    @property
    def coverage(self) -> float:
        return self.n_auto / self.n_pool if self.n_pool else 0.0

    def round_bounds(self) -> list[float | None]:
        """Per round, the certified bound on all auto-labels so far (``None`` where the round has none).

        Overall promise: the round's certified union bound. Per-class promise: the largest of the
        classes' latest certified bounds up to the round. The class bounds hold jointly, so every
        class's auto-labels, and so all auto-labels together, err at most that much; the pooled
        union figure such a round also records comes from a region the class tests chose, and is
        not shown as certified.
        """
        if self.guarantee != "per-class":
            return [h.get("union_upper_bound") for h in self.history]
        latest: dict[str, float] = {}
        out: list[float | None] = []
        for h in self.history:
            for c, u in (h.get("upper_bounds") or {}).items():
                if u is not None and (h.get("thresholds") or {}).get(c) is not None:
                    latest[c] = u
            out.append(max(latest.values()) if latest else None)
        return out

    @property
    def overall_bound(self) -> float | None:
        """The latest certified bound on all auto-labels together (see :meth:`round_bounds`)."""
        return next((b for b in reversed(self.round_bounds()) if b is not None), None)


# ------------------------------------------------------------------ reading a source


def _from_project(project: Any) -> _Data:
    import pandas as pd

    from .project_quality import spot_check_summary

    s = project.status()
    lab = project.labels()
    spot = None
    try:
        spot = spot_check_summary(project).to_dict()
    except InputError:  # no answered spot checks: no section
        pass
    return _Data(
        title=f"Project {Path(s['project']).name}", kind="project", epsilon=s["epsilon"], delta=s["delta"],
        bound=s["bound"], guarantee=s.get("guarantee") or "overall", budget=s["budget"], n_items=s["n_items"],
        n_pool=s["n_items"], human=s["human_labels"], stop_reason=s["stop_reason"], history=list(s["history"]),
        classes=[str(c) for c in s["classes"]],
        labels=np.array([None if v is None or v is pd.NA else str(v) for v in lab["label"].tolist()], dtype=object),
        source=lab["source"].astype(str).to_numpy(),
        scores=np.asarray(lab["score"], dtype=float), spot=spot, cost=s.get("cost"), pending=int(s["pending"]),
    )


def _from_result(result: Any, *, y_true: Any = None, cost: dict[str, Any] | None = None,
                 title: str | None = None) -> _Data:
    config = (result.extra or {}).get("config")
    history = [h.to_dict() if hasattr(h, "to_dict") else dict(h) for h in result.history]
    realised = None
    if y_true is not None:
        realised = [None if math.isnan(v) else v for v in result.auto_error_by_round(y_true)]
    return _Data(
        title=title or "Run", kind="run", epsilon=float(result.epsilon), delta=float(result.delta),
        bound=str(result.bound), guarantee=getattr(config, "guarantee", None) or "overall",
        budget=int(result.budget), n_items=int(result.labels.shape[0]), n_pool=int(np.sum(result.in_pool)),
        human=result.n_human, stop_reason=result.stop_reason, history=history,
        classes=[str(c) for c in result.classes],
        labels=np.array([None if v is None else str(v) for v in result.labels], dtype=object),
        source=np.asarray(result.source).astype(str), scores=np.asarray(result.scores, dtype=float),
        realised=realised, cost=cost,
    )


def _collect(source: Any, *, db: str | None, y_true: Any, cost: dict[str, Any] | None, title: str | None) -> _Data:
    from .result import AutoLabelResult

    if isinstance(source, AutoLabelResult):
        return _from_result(source, y_true=y_true, cost=cost, title=title)
    if isinstance(source, (str, Path)):
        from .project import Project, is_project

        path = Path(source)
        if not is_project(path):
            if path.is_file():
                raise InputError(f"{path} is a labels file: it holds no round history. Write a run's report with the "
                                 "run: surelabel run ... --report report.html")
            raise InputError(f"{path} is not a surelabel project folder (made by surelabel init).")
        with Project.open(path, db=db) as project:
            data = _from_project(project)
    elif hasattr(source, "status") and hasattr(source, "labels"):
        data = _from_project(source)
    else:
        raise InputError(f"Cannot report on a {type(source).__name__}: give a project folder, a Project or an "
                         "AutoLabelResult.")
    if title:
        data.title = title
    if cost is not None:
        data.cost = cost
    return data


def _per_class(d: _Data) -> list[dict[str, Any]]:
    """Per class, from the latest round that certified it (as ``Project.status`` does)."""
    rows = []
    for c in d.classes:
        cert = next((h for h in reversed(d.history) if (h.get("thresholds") or {}).get(c) is not None), None)
        ce = {} if cert is None else (cert.get("class_estimates") or {}).get(c, {})
        last = (d.history[-1].get("class_estimates") or {}).get(c, {}) if d.history else {}
        rows.append({
            "class": c,
            "threshold": None if cert is None else cert["thresholds"][c],
            "round": None if cert is None else cert["round"],
            # a class's own certified bound exists only under the per-class promise
            "certified_bound": (cert.get("upper_bounds") or {}).get(c)
            if cert is not None and d.guarantee == "per-class" else None,
            "estimate": ce.get("estimate"),
            "interval": ce.get("interval") or [None, None],
            "n": ce.get("n"),
            "guarded": bool(last.get("guarded")),
            "auto_labeled": int((d.auto & (d.labels == c)).sum()),
        })
    return rows


# ------------------------------------------------------------------ figures


def _pyplot() -> Any:
    """matplotlib.pyplot (Agg) through the benchmarks' helper, or None without matplotlib."""
    from .bench.plots import require_matplotlib

    try:
        return require_matplotlib()
    except SurelabelError:
        return None


def _png(fig: Any, plt: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _pct_array(values: list[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else 100 * float(v) for v in values], dtype=float)


def _rounds_figure(d: _Data, plt: Any) -> str | None:
    """Coverage and the overall certified bound against human labels spent (the benchmarks' style)."""
    from .bench.plots import _COLORS

    if not d.history:
        return None
    x = np.array([h["human_labels_total"] for h in d.history], dtype=float)
    fig, (ax_c, ax_b) = plt.subplots(1, 2, figsize=(10, 3.6), dpi=90)
    ax_c.plot(x, _pct_array([h["coverage"] for h in d.history]), marker="o", ms=4, color=_COLORS["tbal"])
    ax_c.set_ylabel("coverage (%)")
    ax_c.set_ylim(0, 100)
    ax_c.set_title("coverage", fontsize=9)
    bounds = _pct_array(d.round_bounds())
    ax_b.plot(x, bounds, marker="o", ms=4, color=_COLORS["al+sc"],
              label="certified bound, all auto-labels together" if d.guarantee != "per-class" else
              "largest certified class bound (all auto-labels together too)")
    if d.realised is not None:
        ax_b.plot(x, _pct_array(d.realised), marker="x", ms=5, linestyle=":", color="#555555",
                  label="realised error (known labels)")
    ax_b.axhline(100 * d.epsilon, color="black", linestyle="--", linewidth=1, label=f"ε = {100 * d.epsilon:g} %")
    ax_b.set_ylabel("share of wrong auto-labels (%)")
    top = np.nanmax(np.r_[bounds, 100 * d.epsilon])
    ax_b.set_ylim(0, 1.25 * top)
    ax_b.set_title("overall certified bound", fontsize=9)
    ax_b.legend(fontsize=7, loc="upper right")
    pad = max(1.0, 0.04 * (x.max() - x.min()))
    for ax in (ax_c, ax_b):
        ax.set_xlim(x.min() - pad, x.max() + pad)  # the same axis on both panels, rounds without a bound too
        ax.set_xlabel("human labels spent (validation + training)")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return _png(fig, plt)


def _histogram_figure(d: _Data, rows: list[dict[str, Any]], plt: Any) -> str | None:
    """Scores of each class's auto-labels, with the class's threshold as a line."""
    from .bench.plots import _COLORS

    biggest = sorted((r for r in rows if r["auto_labeled"]), key=lambda r: -r["auto_labeled"])[:MAX_HISTOGRAMS]
    shown = [r for r in rows if any(r is b for b in biggest)]  # in the classes' order
    if not shown:
        return None
    cols = min(3, len(shown))
    nrows = math.ceil(len(shown) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(3.6 * cols, 2.6 * nrows), dpi=90, squeeze=False)
    for ax in axes.ravel()[len(shown):]:
        ax.set_visible(False)
    for ax, r in zip(axes.ravel(), shown):
        s = d.scores[d.auto & (d.labels == r["class"])]
        s = s[np.isfinite(s)]
        ax.hist(s, bins=30, color=_COLORS["tbal"], alpha=0.8)
        if r["threshold"] is not None and math.isfinite(r["threshold"]) and s.size:
            lo, hi = min(float(s.min()), r["threshold"]), max(float(s.max()), r["threshold"])
            ax.set_xlim(lo - 0.05 * (hi - lo or 1), hi + 0.02 * (hi - lo or 1))  # the line stays in view
            ax.axvline(r["threshold"], color=_COLORS["al+sc"], linestyle="--", linewidth=1.2,
                       label=f"threshold {r['threshold']:.3g}")
            ax.legend(fontsize=7, loc="upper right", framealpha=0.9)
        name = r["class"] if len(r["class"]) <= 30 else r["class"][:29] + "…"
        ax.set_title(f"{name} ({r['auto_labeled']} auto-labels)", fontsize=9)
        ax.set_xlabel("score", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return _png(fig, plt)


# ------------------------------------------------------------------ HTML

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:1100px;
padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:right;vertical-align:top}
th{background:#f4f4f4}td.l,th.l{text-align:left}
.note{color:#555;font-size:.9rem}.big{font-size:1.1rem}.warn{color:#8a4b00}
img{max-width:100%;height:auto;display:block;margin:.5rem 0}.scroll{overflow-x:auto}
"""


def _e(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _pct(v: Any, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{100 * float(v):.{digits}f} %"


def _num(v: Any, fmt: str = ".3g") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return format(float(v), fmt)


def _table(head: list[str], body: list[list[str]], left: int = 1, last_left: bool = False) -> str:
    """A table; cells are HTML already escaped by the caller; the first ``left`` columns (and the last
    with ``last_left``) align left."""
    def cls(i: int) -> str:
        return ' class="l"' if i < left or (last_left and i == len(head) - 1) else ""

    th = "".join(f"<th{cls(i)}>{h}</th>" for i, h in enumerate(head))
    trs = "".join("<tr>" + "".join(f"<td{cls(i)}>{c}</td>" for i, c in enumerate(row)) + "</tr>" for row in body)
    return f'<div class="scroll"><table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table></div>'


def _img(b64: str | None, alt: str) -> str:
    return "" if b64 is None else f'<img src="data:image/png;base64,{b64}" alt="{_e(alt)}">'


def _money(cost: dict[str, Any], v: Any) -> str:
    return "—" if v is None else _e(f"{cost.get('currency', '$')}{float(v):,.2f}")


def _summary(d: _Data) -> str:
    from .result import STOP_REASONS

    promise = (f"the share of wrong labels among <b>all auto-labels together</b> is at most {_pct(d.epsilon, 1)}, "
               f"with probability at least {_pct(1 - d.delta, 0)}" if d.guarantee != "per-class" else
               f"<b>every class's</b> share of wrong auto-labels is at most {_pct(d.epsilon, 1)}, jointly with "
               f"probability at least {_pct(1 - d.delta, 0)}")
    if d.bound == "paper":
        promise = "none: bound <code>paper</code> is the reference heuristic and certifies nothing"
    ob = d.overall_bound
    lines = [
        f"<p class=\"big\">Coverage <b>{_pct(d.coverage, 1)}</b> ({d.n_auto:,} of {d.n_pool:,} items auto-labeled). "
        f"Overall {_certified(d)} bound on the share of wrong labels among <b>all auto-labels together</b>: "
        f"<b>{_pct(ob)}</b>{'' if ob is not None else ' (nothing certified yet)'}"
        + (" (the largest of the classes' certified bounds, which hold jointly)" if d.guarantee == "per-class"
           else "") + ".</p>",
        f"<p>Promise: {promise} (bound {_e(d.bound)}).</p>",
        f"<p>Human labels spent: {d.human['total']:,}"
        + (f" of {d.budget:,}" if d.budget is not None else "")
        + f" (validation {d.human['validation']:,}, training {d.human['training']:,}). "
        f"Rounds: {len(d.history)}."
        + (f" Stopped: {_e(STOP_REASONS.get(d.stop_reason, d.stop_reason.replace('_', ' ')))}."
           if d.stop_reason else "")
        + (f" {d.pending:,} item(s) wait for answers." if d.pending else "") + "</p>",
    ]
    if d.cost:
        per = d.cost.get("per_auto_label")
        lines.append(f"<p>Cost: <b>{_money(d.cost, d.cost.get('total'))}</b> (validation "
                     f"{_money(d.cost, d.cost.get('validation'))}, training {_money(d.cost, d.cost.get('training'))}"
                     f"; {_money(d.cost, per)} per auto-label).</p>")
    return "\n".join(lines)


def _certified(d: _Data) -> str:
    return "heuristic (not certified)" if d.bound == "paper" else "certified"


def _thresholds_text(thresholds: dict[str, Any]) -> str:
    """Classes grouped by their threshold: "all ≥ 0.7", or "a, b ≥ 0.7; c ≥ 0.5" (escaped)."""
    groups: dict[float, list[str]] = {}
    for c, t in thresholds.items():
        if t is not None and math.isfinite(t):
            groups.setdefault(float(t), []).append(c)
    if len(groups) == 1 and len(next(iter(groups.values()))) == len(thresholds) > 1:
        return f"all ≥ {_num(next(iter(groups)))}"
    return "; ".join(f"{_e(', '.join(cs))} ≥ {_num(t)}" for t, cs in sorted(groups.items(), reverse=True))


def _rounds_note(d: _Data) -> str:
    if d.guarantee == "per-class":
        return ("Per-class promise: each round's figure is the largest of the classes' latest certified bounds, so "
                "it bounds every class's auto-labels up to that round, and all of them together.")
    return (f"The bound of each round is {_certified(d)} for the share of wrong labels among all auto-labels up to "
            "that round, every class together (not for any class on its own).")


def _rounds_section(d: _Data, figure: str | None) -> str:
    head = ["round", "human labels spent (incl. the next batch)", "training labels", "auto-labeled (round)",
            "auto-labeled (total)", "coverage", f"{_certified(d)} bound, all auto-labels together", "δ used"]
    if d.realised is not None:
        head.append("realised error so far (known labels)")
    head.append("thresholds")
    body = []
    bounds = d.round_bounds()
    for k, h in enumerate(d.history):
        thr = _thresholds_text(h.get("thresholds") or {})
        row = [str(h["round"]), f"{h['human_labels_total']:,}", f"{h['n_train']:,}", f"{h['n_auto_labeled']:,}",
               f"{h['n_auto_labeled_total']:,}", _pct(h["coverage"], 1), _pct(bounds[k]),
               _num(h.get("delta"), ".2g")]
        if d.realised is not None:
            row.append(_pct(d.realised[k]))
        row.append(thr or "none certified")
        body.append(row)
    table = _table(head, body, left=0, last_left=True) if body else "<p>No round has run yet.</p>"
    return ("<h2>Round by round</h2>"
            "<p class=\"note\">" + _rounds_note(d) + " \"δ used\" is the part of the failure probability that "
            "round's tests spent.</p>"
            + _img(figure, "coverage and overall certified bound against human labels spent") + table)


def _class_section(d: _Data, rows: list[dict[str, Any]]) -> str:
    per_class = d.guarantee == "per-class"
    head = ["class", "threshold", "validation error estimate (not a bound)", "90 % interval of the estimate"]
    if per_class:
        head.append("certified bound for the class")
    head += ["auto-labels", "share of auto-labels"]
    body = []
    n_auto = d.n_auto
    for r in rows:
        lo, hi = (r["interval"] + [None, None])[:2]
        if r["threshold"] is None:
            thr = "kept out by the guard" if r["guarded"] and not per_class else "not certified"
        else:
            thr = f"{_num(r['threshold'])} (round {r['round']})"
        row = [_e(r["class"]), thr, _pct(r["estimate"]),
               "—" if lo is None and hi is None else f"[{_pct(lo)}, {_pct(hi)}]"]
        if per_class:
            row.append(_pct(r["certified_bound"]))
        row += [f"{r['auto_labeled']:,}", _pct(r["auto_labeled"] / n_auto if n_auto else None, 1)]
        body.append(row)
    if per_class:
        note = ("Per-class promise: each class's certified bound covers that class's auto-labels, all classes "
                "jointly with probability at least " + _pct(1 - d.delta, 0) + ". The validation error figures are "
                "estimates with a 90 % interval, not bounds.")
    else:
        note = ("Overall promise: only the bound on all auto-labels together is certified ("
                + _pct(d.overall_bound) + "). The per-class validation error figures are estimates with a 90 % "
                "interval, not bounds: no class has a certified bound of its own.")
    return f"<h2>Per class</h2><p class=\"note\">{note}</p>" + _table(head, body, left=2)


def _scores_section(figure: str | None, rows: list[dict[str, Any]], plt: Any) -> str:
    if not any(r["auto_labeled"] for r in rows):
        return "<h2>Scores of the auto-labels</h2><p>Nothing is auto-labeled yet.</p>"
    extra = (f" Only the {MAX_HISTOGRAMS} classes with the most auto-labels are drawn."
             if sum(1 for r in rows if r["auto_labeled"]) > MAX_HISTOGRAMS else "")
    return ("<h2>Scores of the auto-labels</h2><p class=\"note\">The confidence score that admitted each auto-label, "
            "per class; the dashed line is the class's latest certified threshold (items admitted in earlier "
            "rounds passed that round's model and threshold)." + extra + "</p>"
            + (_img(figure, "score histograms of the auto-labels with each class's threshold") if plt else ""))


def _spot_section(d: _Data) -> str:
    s = d.spot
    if not s:
        return ""
    conf = _pct(s["confidence"], 0)
    verdict = {"kept": "the promise looks kept (the whole interval is at most ε)",
               "broken": "the promise looks broken (the whole interval is above ε)",
               "unclear": "unclear (the interval contains ε); check more items"}.get(s.get("verdict") or "", "")
    body = [[_e(r["class"]), f"{r['n']:,}", f"{r['n_errors']:,}", _pct(r["error"]),
             "—" if r["ci_low"] is None else f"[{_pct(r['ci_low'])}, {_pct(r['ci_high'])}]"]
            for r in s["per_class"]]
    body.append(["<b>all</b>", f"{s['n']:,}", f"{s['n_errors']:,}", _pct(s["error"]),
                 f"[{_pct(s['ci_low'])}, {_pct(s['ci_high'])}]"])
    return ("<h2>Spot checks</h2><p class=\"note\">A uniform random sample of the auto-labels checked by people: "
            f"the realised error with its exact {conf} Clopper–Pearson interval, by auto-label class."
            + (f" Verdict: {verdict}." if verdict else "") + "</p>"
            + _table(["class", "checked", "corrected", "error", f"{conf} interval"], body))


def _cost_section(d: _Data) -> str:
    c = d.cost
    if not c:
        return ""
    body = [[part, _money(c, c.get(key))] for part, key in
            (("validation labels", "validation"), ("training labels", "training"), ("total", "total"),
             ("per auto-label", "per_auto_label"))]
    return "<h2>Cost</h2>" + _table(["", "amount"], body)


def report_html(source: Any, *, db: str | None = None, y_true: Any = None, cost: dict[str, Any] | None = None,
                title: str | None = None) -> str:
    """The report page as a string (see :func:`write_report`)."""
    from . import __version__

    d = _collect(source, db=db, y_true=y_true, cost=cost, title=title)
    rows = _per_class(d)
    plt = _pyplot()
    rounds_png = hist_png = None
    if plt is not None:
        rounds_png = _rounds_figure(d, plt)
        hist_png = _histogram_figure(d, rows, plt)
    else:
        d.notes.append("Figures need matplotlib: python3 -m pip install 'surelabel[plot]'. "
                       "The tables below hold the same figures.")
    notes = "".join(f'<p class="note warn">{_e(n)}</p>' for n in d.notes)
    body = "\n".join([
        f"<h1>{_e(d.title)}</h1>",
        f"<p class=\"note\">surelabel {_e(__version__)} report of a {_e(d.kind)}: {d.n_items:,} items, "
        f"classes {_e(', '.join(d.classes))}.</p>",
        notes,
        _summary(d),
        _rounds_section(d, rounds_png),
        _class_section(d, rows),
        _scores_section(hist_png, rows, plt),
        _spot_section(d),
        _cost_section(d),
    ])
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_e(d.title)} — surelabel report</title><style>{_CSS}</style></head>\n"
            f"<body>\n{body}\n</body></html>\n")


def write_report(source: Any, out: str | Path, *, db: str | None = None, y_true: Any = None,
                 cost: dict[str, Any] | None = None, title: str | None = None) -> Path:
    """Write a self-contained HTML report of a project or a run; returns the path written.

    Parameters
    ----------
    source : path of a project folder, a :class:`~surelabel.project.Project`, or an
        :class:`~surelabel.result.AutoLabelResult`.
    out : path of the ``.html`` file to write (its folder must exist).
    db : database URL of a project folder whose database is not its own SQLite file.
    y_true : the known labels of a simulated run: adds the realised error round by round.
    cost : the run's cost (:func:`surelabel.cost.result_cost`); a project's own prices are used
        without it.
    title : heading of the page (default: the project's name, or "Run").
    """
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"Cannot write {out}: a report is an .html file.")
    if not out.resolve().parent.is_dir():
        raise InputError(f"Cannot write {out}: folder {out.parent} does not exist; create it first.")
    page = report_html(source, db=db, y_true=y_true, cost=cost, title=title)
    out.write_text(page, encoding="utf-8")
    return out
