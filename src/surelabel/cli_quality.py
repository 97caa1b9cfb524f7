"""Commands for label quality and cost: ``plan``, ``audit``, ``spot-check``, ``review``, ``quality-bench``.

Thin wrappers, like the rest of the CLI: parse, call :mod:`surelabel.planner`,
:mod:`surelabel.audit`, :mod:`surelabel.spotcheck`, :mod:`surelabel.review`,
:mod:`surelabel.quality_bench`, print. ``audit``, ``spot-check`` and ``review`` work on
files today (an items table; the labels file ``surelabel run --out`` writes: ``id``,
``label``, ``source``, ``round``, ``score``); a labeling project gives them the same
arrays.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import click

from .exceptions import InputError

# The helpers live in surelabel.cli, which imports this module to register the commands;
# they are looked up when a command runs, so ``python -m surelabel.cli`` has no import cycle.


def friendly_errors(func: Any) -> Any:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .cli import friendly_errors as wrap

        return wrap(func)(*args, **kwargs)

    return wrapper


def emit_json(obj: Any) -> None:
    from .cli import emit_json as emit

    emit(obj)


def _clean(obj: Any) -> Any:
    from .cli import _clean as clean

    return clean(obj)


def _pct(v: Any, digits: int = 2) -> str:
    from .cli import _pct as pct

    return pct(v, digits)

__all__ = ["plan", "audit", "spot_check", "review", "quality_bench", "cost_model_from_options", "register"]


def _console():
    """The terminal's width in a terminal; no width limit in a pipe (tables are never cut)."""
    from .cli import make_console

    return make_console()


def _table(title: str, frame: Any, columns: list[str], formats: dict[str, Any] | None = None) -> Any:
    from rich.table import Table

    formats = formats or {}
    t = Table(title=title, title_justify="left")
    for c in columns:
        t.add_column(c, justify="left" if c in ("class", "group", "reason", "given", "suggested", "status",
                                                  "method", "note", "label", "id", "source") else "right")
    for _, r in frame.iterrows():
        cells = []
        for c in columns:
            v = r[c]
            f = formats.get(c)
            if v is None or (isinstance(v, float) and not math.isfinite(v)):
                cells.append("—" if not (isinstance(v, float) and math.isinf(v)) else "∞")
            elif f is not None:
                cells.append(f(v))
            elif isinstance(v, float):
                cells.append(f"{v:.3g}")
            else:
                cells.append(str(v))
        t.add_row(*cells)
    return t


def _floats(text: str | None, name: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"--{name} must be a number or comma-separated numbers. Got {text!r}.") from None


def cost_model_from_options(price: float | None, prices: Path | None, classes: Any = None, *,
                            default: float | None = None) -> Any:
    """A :class:`~surelabel.cost.CostModel` from ``--price`` / ``--prices FILE`` (None if neither)."""
    from .cost import CostModel, read_price_table

    if price is not None and prices is not None:
        raise InputError("Give one of --price (one price per label) or --prices FILE (a price per class), not both.")
    if price is not None:
        return CostModel.flat(price)
    if prices is not None:
        return CostModel.per_class(read_price_table(prices), classes=classes, default=default)
    return None


# ---------------------------------------------------------------------------------------
# plan


@click.command()
@click.option("--epsilon", type=float, required=True, help="Largest share of wrong auto-labels.")
@click.option("--delta", type=float, default=0.05, show_default=True, help="Allowed failure probability.")
@click.option("--classes", "n_classes", type=int, default=2, show_default=True, help="Number of classes K.")
@click.option("--class-names", help="Comma-separated class names (instead of --classes).")
@click.option("--expected-error", help="Expected share of wrong predictions: one value, or one per class.")
@click.option("--shares", help="Share of items predicted as each class (comma-separated; default equal).")
@click.option("--pilot", type=click.Path(path_type=Path),
              help="Pilot round: a CSV/Parquet/JSONL with columns score, predicted, label.")
@click.option("--rounds", type=int, default=1, show_default=True, help="Rounds the loop may run (delta is split).")
@click.option("--no-loop", is_flag=True, help="Plan one direct estimate_thresholds call at the full delta.")
@click.option("--guarantee", "search", type=click.Choice(["overall", "per-class"]), default="overall",
              show_default=True, help="The promise to plan for: all auto-labels together, or every class on its own.")
@click.option("--power", type=float, default=0.9, show_default=True, help="Promised share of runs that certify.")
@click.option("--expected-auto", type=int, help="Items you expect to auto-label (finite-pool correction).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@friendly_errors
def plan(epsilon: float, delta: float, n_classes: int, class_names: str | None, expected_error: str | None,
         shares: str | None, pilot: Path | None, rounds: int, no_loop: bool, search: str, power: float,
         expected_auto: int | None, as_json: bool) -> None:
    """How many validation labels each class needs before it can be certified, and what more buys."""
    from .io import read_table
    from .planner import plan_validation

    names = [c.strip() for c in class_names.split(",") if c.strip()] if class_names else None
    errors = _floats(expected_error, "expected-error")
    share_values = _floats(shares, "shares")
    k = len(names) if names else n_classes
    if k < 1:
        raise InputError(f"--classes must be >= 1. Got {k}.")
    if errors is not None and len(errors) not in (1, k):
        raise InputError(f"--expected-error needs one value or {k} (one per class). Got {len(errors)}.")
    if share_values is not None and len(share_values) != k:
        raise InputError(f"--shares needs {k} values (one per class). Got {len(share_values)}.")
    if share_values is not None and (min(share_values) < 0 or abs(sum(share_values) - 1.0) > 1e-6):
        raise InputError(f"--shares are shares of the items: non-negative and summing to 1. "
                         f"Got {shares} (sum {sum(share_values):g}).")
    if names and len(set(names)) != len(names):
        raise InputError(f"--class-names must be unique. Got {class_names}.")
    pilot_frame = read_table(pilot) if pilot is not None else None
    search = "union" if search == "overall" else search
    result = plan_validation(
        epsilon, delta, n_classes=k, classes=names, expected_error=0.0 if errors is None else
        (errors[0] if len(errors) == 1 else errors), class_shares=share_values, pilot=pilot_frame,
        rounds=rounds, loop=not no_loop, search=search, power=power, expected_auto_labels=expected_auto,
    )
    if as_json:
        emit_json(_clean(result.to_dict()))
        return
    import pandas as pd

    console = _console()
    rows = pd.DataFrame(result.to_dict()["groups"])
    how = ("one direct test" if no_loop else
           "loop: the round that spends the budget, at least 75 % × 75 % of δ" if rounds > 1 else "loop: 75 % of δ")
    console.print(
        f"Plan for ε = {_pct(epsilon, 1)}, δ = {_pct(delta, 1)}: each test runs at δ' = {result.delta_test:.3g} "
        f"({how}{', / K per class' if search == 'per-class' else ''}); certified in ≥ {power:.0%} of runs."
    )
    console.print(_table("validation points needed (predicted as the group)", rows,
                         ["group", "expected_error", "share", "min_labels", "needed_any", "needed_full", "best_p_any"],
                         {"expected_error": lambda v: _pct(v), "share": lambda v: _pct(v, 1),
                          "best_p_any": lambda v: f"{v:.0%}"}))
    total = result.total_any
    reach = "not reachable" if not math.isfinite(total) else int(total)
    console.print(f"Validation labels in all (uniform sample): {reach}")
    curve = result.curve[result.curve["group"].isin(["(all)", "(union)"])]
    console.print(_table("expected certified coverage of the predicted classes", curve,
                         ["validation_size", "expected_coverage"], {"expected_coverage": lambda v: _pct(v, 1)}))
    for note in result.notes:
        console.print(f"note: {note}")


# ---------------------------------------------------------------------------------------
# audit


@click.command()
@click.argument("items", type=click.Path(path_type=Path))
@click.option("--features", help="Comma-separated feature columns.")
@click.option("--feature-prefix", help="Use every column whose name starts with this prefix.")
@click.option("--label-column", help="Column with the human labels to audit (empty: skipped); files only.")
@click.option("--id-column", help="Column with item ids (default: row number).")
@click.option("--model", default="logreg", show_default=True, help="Model family for the out-of-fold probabilities.")
@click.option("--folds", type=int, default=5, show_default=True, help="Cross-validation folds.")
@click.option("--epsilon", type=float, help="Warn when the labels look too noisy for this epsilon.")
@click.option("--top", type=int, default=20, show_default=True, help="Rows to print.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), help="Write the ranked table (.csv, .parquet or .jsonl).")
@click.option("--queue", is_flag=True, help="Project folder: queue the flagged labels as a review batch.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@friendly_errors
def audit(items: Path, features: str | None, feature_prefix: str | None, label_column: str | None,
          id_column: str | None, model: str, folds: int, epsilon: float | None, top: int, seed: int,
          out: Path | None, queue: bool, as_json: bool) -> None:
    """Rank the human labels of ITEMS by how likely they are wrong (confident learning, cleanlab).

    ITEMS is an items file (give --label-column) or a project folder: then its current human
    labels are audited with the project's model and seed, and --queue hands the flagged ones
    out again as a review batch (surelabel next).
    """
    from .audit import find_label_issues, summarize_issues
    from .io import check_unique_ids, read_table, select_column, select_features
    from .models import make_model

    if epsilon is not None and not 0.0 < epsilon < 1.0:
        raise InputError(f"The 'epsilon' parameter must be in the open interval (0, 1). Got {epsilon}.")
    if folds < 2:
        raise InputError(f"--folds must be at least 2 for out-of-fold probabilities. Got {folds}.")
    if _is_folder(items):
        _file_only(items, **{"--features": features, "--feature-prefix": feature_prefix,
                             "--label-column": label_column, "--id-column": id_column,
                             "--model": None if model == "logreg" else model, "--seed": seed or None,
                             "--epsilon": epsilon})
        from .cli_project_quality import audit_project

        audit_project(items, folds=folds, top=top, out=out, queue=queue, as_json=as_json)
        return
    if queue:
        raise InputError("--queue needs a project folder (surelabel audit DIR --queue).")
    if not label_column:
        raise click.UsageError("Missing option '--label-column'.")

    import numpy as np

    _check_out(out)
    frame = read_table(items)
    source = str(items)
    cols = [c.strip() for c in features.split(",") if c.strip()] if features else None
    labels = select_column(frame, label_column, source)
    has = labels.notna().to_numpy()
    if not has.any():
        raise InputError(f"Column {label_column!r} of {source} has no labels to audit.")
    X, _ = select_features(frame[has].reset_index(drop=True), source, features=cols, prefix=feature_prefix,
                           exclude={"label": label_column, "id": id_column})
    ids = np.flatnonzero(has)
    if id_column:
        id_series = select_column(frame, id_column, source)
        check_unique_ids(id_series, source, id_column)
        ids = id_series.to_numpy()[has]
    issues = find_label_issues(X, labels[has].to_numpy(), model=make_model(model, seed), n_folds=folds,
                               random_state=seed)
    issues.insert(0, "id", ids[issues["index"].to_numpy()])
    summary = summarize_issues(issues, epsilon=epsilon)
    if out is not None:
        _write(issues, out)
    if as_json:
        emit_json(_clean({"summary": summary.to_dict(), "warnings": issues.attrs.get("warnings", []),
                          "issues": issues[issues["is_issue"]].head(max(top, 0)).to_dict("records"),
                          "out": None if out is None else str(out)}))
        return
    console = _console()
    flagged = issues[issues["is_issue"]]
    console.print(_table(f"most suspect labels of {items} ({len(flagged)} flagged of {len(issues)})",
                         flagged.head(top), ["id", "given", "suggested", "score"]))
    console.print(f"estimated share of wrong labels: {_pct(summary.noise_estimate, 1)}")
    if summary.message:
        console.print(f"[bold yellow]warning[/bold yellow]: {summary.message}")
    for w in issues.attrs.get("warnings", []):
        console.print(f"note: {w}")
    if out is not None:
        console.print(f"Ranked table written to {out}")


# ---------------------------------------------------------------------------------------
# spot check and review, on a labels file


def _read_labels(path: Path) -> Any:
    from .io import read_table, select_column

    frame = read_table(path)
    for c in ("id", "label", "source"):
        select_column(frame, c, str(path))
    return frame


@click.command(name="spot-check")
@click.argument("labels", type=click.Path(path_type=Path))
@click.option("--n", "n", type=int, default=200, show_default=True, help="Auto-labeled items to check.")
@click.option("--seed", type=click.IntRange(min=0),
              help="Random seed (files: default 0; project: drawn from the project's seed).")
@click.option("--out", type=click.Path(path_type=Path),
              help="Write the batch of item ids for people (no labels shown).")
@click.option("--answers", type=click.Path(path_type=Path), help="People's answers (id + label): report the error.")
@click.option("--answer-column", default="label", show_default=True, help="Column of --answers with the answers.")
@click.option("--epsilon", type=float, help="The promise to check.")
@click.option("--confidence", type=float, default=0.95, show_default=True, help="Two-sided interval level.")
@click.option("--report", is_flag=True, help="Project folder: judge the answered spot checks.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@friendly_errors
def spot_check(labels: Path, n: int, seed: int | None, out: Path | None, answers: Path | None, answer_column: str,
               epsilon: float | None, confidence: float, report: bool, as_json: bool) -> None:
    """Draw a uniform sample of the auto-labels in LABELS for people, or judge their answers.

    Without --answers: draws --n auto-labeled items at random (the batch hides the
    auto-labels, so the check is independent). With --answers: compares the answers with
    the auto-labels, overall and per class, with exact (Clopper–Pearson) intervals.

    LABELS may be a project folder: then the sample becomes a spot-check batch handed out by
    surelabel next and the web page (its answers are never used to train or validate), and
    --report judges the answers received so far.
    """
    from .io import read_table, select_column
    from .spotcheck import draw_spot_check, spot_check_report

    if _is_folder(labels):
        _file_only(labels, **{"--answers": answers, "--answer-column": None if answer_column == "label" else 1})
        from .cli_project_quality import spot_check_project

        spot_check_project(labels, n=n, seed=seed, out=out, report=report, epsilon=epsilon,
                           confidence=confidence, as_json=as_json)
        return
    if report:
        raise InputError("--report needs a project folder; for a labels file give --answers FILE.")
    seed = 0 if seed is None else seed

    frame = _read_labels(labels)
    auto = (frame["source"].astype(str) == "auto").to_numpy()
    if answers is None:
        _check_out(out)
        idx = draw_spot_check(auto, n, random_state=seed)
        batch = frame.iloc[idx][["id"]].assign(label=None).reset_index(drop=True)
        if out is not None:
            _write(batch, out)
        if as_json:
            emit_json(_clean({"n": int(idx.size), "n_auto": int(auto.sum()), "ids": batch["id"].tolist(),
                              "out": None if out is None else str(out)}))
            return
        click.echo(f"Drew {idx.size} of {int(auto.sum())} auto-labeled items for a spot check"
                   + (f"; batch written to {out}" if out is not None else ""))
        return
    given = read_table(answers)
    ans_id = select_column(given, "id", str(answers))
    ans = select_column(given, answer_column, str(answers))
    given = given[ans.notna().to_numpy()]
    lookup = {str(i): k for k, i in enumerate(frame["id"].tolist())}
    known = {_text(v) for v in frame["label"].dropna().tolist()}
    first_row: dict[str, int] = {}
    rows = []
    for row, i, a in zip(given.index.tolist(), given["id"].tolist(), given[answer_column].tolist()):
        k = lookup.get(str(i))
        if k is None:
            raise InputError(f"{answers}: id {i!r} is not an item of {labels}.")
        if str(i) in first_row:
            raise InputError(f"{answers}, row {row + 1}: item {i!r} is answered twice (first in row "
                             f"{first_row[str(i)] + 1}); keep one answer per item.")
        first_row[str(i)] = row
        if _text(a) not in known:
            raise InputError(f"{answers}, row {row + 1}: unknown class {_text(a)!r} for item {i!r}; "
                             f"classes: {', '.join(sorted(known))}.")
        if not auto[k]:
            raise InputError(f"{answers}: item {i!r} is not auto-labeled in {labels}; spot checks judge auto-labels.")
        rows.append((frame["label"].iloc[k], a))
    if not rows:
        raise InputError(f"{answers} has no answers yet; label the spot-check batch first.")
    del ans_id
    auto_labels = [_text(r[0]) for r in rows]
    human = [_text(r[1]) for r in rows]
    report = spot_check_report(auto_labels, human, confidence=confidence, epsilon=epsilon)
    if as_json:
        emit_json(_clean(report.to_dict()))
        return
    console = _console()
    console.print(_table(f"spot check of {labels}: {report.n} auto-labels checked", report.to_frame(),
                         ["class", "n", "n_errors", "error", "ci_low", "ci_high"],
                         {"error": lambda v: _pct(v), "ci_low": lambda v: _pct(v), "ci_high": lambda v: _pct(v)}))
    verdict = {"kept": "the promise holds at this confidence", "broken": "the promise is broken",
               "unclear": "the check cannot tell yet (check more items)", "": ""}[report.verdict]
    console.print(f"auto-label error {_pct(report.error)} [{_pct(report.ci_low)}, {_pct(report.ci_high)}] "
                  f"at {report.confidence:.0%}" + (f" — ε = {_pct(epsilon, 1)}: {verdict}" if epsilon else ""))


def _text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v)


@click.command()
@click.argument("labels", type=click.Path(path_type=Path))
@click.option("--n", "n", type=int, default=500, show_default=True, help="Labels to queue.")
@click.option("--by", type=click.Choice(["confidence", "issue-score"]), default="confidence", show_default=True,
              help="confidence: auto-labels nearest their threshold first; "
                   "issue-score: audit-flagged human labels first.")
@click.option("--issues", type=click.Path(path_type=Path),
              help="The table 'surelabel audit --out' wrote (id, given, suggested, score, is_issue).")
@click.option("--out", type=click.Path(path_type=Path), help="Write the queue (.csv, .parquet or .jsonl).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@friendly_errors
def review(labels: Path, n: int, by: str, issues: Path | None, out: Path | None, as_json: bool) -> None:
    """Queue the least-certain labels of LABELS for people to review.

    An auto-label's threshold is taken as the lowest score admitted for its class in its
    round (the threshold is at most that); the slack is its score minus that.

    LABELS may be a project folder: then the exact threshold stored with each auto-label is
    used, human labels flagged by the audit join the queue, and the queue becomes a review
    batch handed out by surelabel next (answers are new label events; the old ones are kept).
    """
    from .io import read_table, select_column
    from .review import rank_review

    if _is_folder(labels):
        _file_only(labels, **{"--issues": issues})
        from .cli_project_quality import review_project

        review_project(labels, n=n, by=by, out=out, as_json=as_json)
        return

    import numpy as np

    _check_out(out)
    frame = _read_labels(labels)
    select_column(frame, "score", str(labels))
    auto = frame[frame["source"].astype(str) == "auto"]
    group = ["round", "label"] if "round" in frame.columns else ["label"]
    thresholds = auto.groupby(group)["score"].transform("min") if len(auto) else auto["score"]
    kwargs: dict[str, Any] = dict(auto_indices=auto["id"].to_numpy(), auto_labels=auto["label"].to_numpy(),
                                  auto_scores=auto["score"].to_numpy(dtype=float),
                                  auto_thresholds=np.asarray(thresholds, dtype=float))
    if issues is not None:
        table = read_table(issues)
        for c in ("id", "given", "suggested", "score", "is_issue"):
            select_column(table, c, str(issues))
        source_of = dict(zip(frame["id"].astype(str), frame["source"].astype(str)))
        for row, i in enumerate(table["id"].astype(str)):
            if i not in source_of:
                raise InputError(f"{issues}, row {row + 1}: id {i!r} is not an item of {labels}; give the audit of "
                                 "these items (surelabel audit ITEMS --id-column ID --out FILE).")
        # only labels people gave are reviewed as human labels; the audit may cover more items
        table = table[table["id"].astype(str).map(source_of).isin(["human", "validation"]).to_numpy()]
        if table.empty:
            raise InputError(f"None of the items in {issues} is labeled by people in {labels}; "
                             "nothing of the audit applies.")
        kwargs.update(human_indices=table["id"].to_numpy(), human_labels=table["given"].to_numpy(),
                      issue_scores=table["score"].to_numpy(dtype=float), suggested=table["suggested"].to_numpy(),
                      is_issue=table["is_issue"].astype(bool).to_numpy())
    if by == "issue-score" and issues is None:
        raise InputError("--by issue-score needs the audit of these labels: add --issues FILE "
                         "(written by surelabel audit --out).")
    queue = rank_review(by=by, n=n, **kwargs)
    if out is not None:
        _write(queue.rename(columns={"index": "id"}), out)
    if as_json:
        emit_json(_clean({"n": len(queue), "by": by, "queue": queue.rename(columns={"index": "id"}).to_dict("records"),
                          "out": None if out is None else str(out)}))
        return
    console = _console()
    console.print(_table(f"review queue ({len(queue)} labels, by {by})", queue.rename(columns={"index": "id"}).head(25),
                         ["id", "source", "label", "reason"]))
    if out is not None:
        console.print(f"Queue written to {out}")


def _is_folder(path: Path) -> bool:
    """Project mode: a project folder, or any folder (which then fails as "not a project")."""
    from .project import is_project

    return is_project(path) or Path(path).is_dir()


def _file_only(path: Path, **given: Any) -> None:
    clash = [k for k, v in given.items() if v not in (None, False)]
    if clash:
        raise InputError(f"{path} is a project folder: {', '.join(clash)} appl{'ies' if len(clash) == 1 else 'y'} "
                         "to files only; drop it.")


def _check_out(out: Path | None) -> None:
    if out is not None and out.suffix.lower() not in (".csv", ".parquet", ".jsonl"):
        raise InputError(f"Cannot write {out}: use a .csv, .parquet or .jsonl file name.")


def _write(frame: Any, out: Path) -> None:
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        frame.to_parquet(out, index=False)
    elif suffix == ".csv":
        frame.to_csv(out, index=False)
    else:
        frame.to_json(out, orient="records", lines=True)


# ---------------------------------------------------------------------------------------
# benchmarks


@click.group(name="quality-bench")
def quality_bench() -> None:
    """Benchmarks of label quality and cost (noisy annotators; cost curves)."""


def _names(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


@quality_bench.command(name="noise")
@click.option("--datasets", default="unit-ball,digits,fashion-mnist", show_default=True)
@click.option("--rates", default="0,0.05,0.1,0.2,0.3", show_default=True, help="Annotator noise rates.")
@click.option("--noise", "noises", default="uniform,confusion,systematic", show_default=True)
@click.option("--mitigations", default="none,double-validation,audit-validation", show_default=True)
@click.option("--seeds", type=int, default=20, show_default=True, help="Seeded runs per setting.")
@click.option("--jobs", type=int, default=2, show_default=True, help="Parallel processes.")
@click.option("--no-audit", is_flag=True, help="Skip measuring the audit on each run's human labels.")
@click.option("--out", type=click.Path(path_type=Path), help="Folder for runs.csv and summary.csv.")
@click.option("--plots", type=click.Path(path_type=Path), help="Folder for the PNG plots.")
@click.option("--replot", help="Comma-separated noise_summary.csv files: print and plot them instead of running.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@friendly_errors
def noise_cmd(datasets: str, rates: str, noises: str, mitigations: str, seeds: int, jobs: int, no_audit: bool,
              out: Path | None, plots: Path | None, replot: str | None, as_json: bool) -> None:
    """TBAL with noisy annotators: coverage, error against the truth, violations, the audit, mitigations."""
    from .quality_bench import noise_verdict, plot_noise, run_noise_bench, summarize_noise

    if seeds < 1:
        raise InputError(f"--seeds must be >= 1. Got {seeds}.")
    if replot:
        import pandas as pd

        from .io import read_table

        summary = pd.concat([read_table(Path(f)) for f in _names(replot)], ignore_index=True)
        runs = None
    else:
        rate_values = _floats(rates, "rates") or []
        runs = run_noise_bench(_names(datasets), rate_values, _names(noises), _names(mitigations), seeds,
                               n_jobs=jobs, audit=not no_audit)
        summary = summarize_noise(runs)
    paths = []
    if out is not None and runs is not None:
        out.mkdir(parents=True, exist_ok=True)
        runs.to_csv(out / "noise_runs.csv", index=False)
        summary.to_csv(out / "noise_summary.csv", index=False)
    if plots is not None:
        paths = [str(plot_noise(summary, plots, nz)) for nz in _names(noises) if (summary["noise"] == nz).any()]
    verdict = noise_verdict(summary)
    if as_json:
        emit_json(_clean({"summary": summary.to_dict("records"), "plots": paths, "guarantee_broken": bool(verdict),
                          "verdict": verdict}))
        return
    console = _console()
    cols = ["dataset", "noise", "rate", "mitigation", "runs", "coverage", "error_true", "error_annotator",
            "violation_true", "answers_per_item"] + [c for c in ("audit_precision_at_k", "audit_flag_recall")
                                                     if c in summary]
    pct = lambda v: _pct(v, 1)  # noqa: E731
    console.print(_table("noisy annotators", summary, cols,
                         {c: pct for c in ("rate", "coverage", "error_true", "error_annotator", "violation_true",
                                           "audit_precision_at_k", "audit_flag_recall")}
                         | {"answers_per_item": lambda v: f"{v:.2f}"}))
    if verdict:
        console.print(f"[bold red]{verdict[0]}[/bold red]", highlight=False)
        for line in verdict[1:]:
            console.print(f"  {line}", highlight=False)
    else:
        console.print("The guarantee held against the true labels: no setting broke ε in more runs than δ allows.")
    for p in paths:
        console.print(f"plot: {p}")


@quality_bench.command(name="audit")
@click.option("--datasets", default="unit-ball,digits,fashion-mnist", show_default=True)
@click.option("--rates", default="0.05,0.1,0.2", show_default=True, help="Shares of planted mistakes.")
@click.option("--noise", "noises", default="uniform,confusion,systematic", show_default=True)
@click.option("--seeds", type=int, default=5, show_default=True)
@click.option("--max-items", type=int, default=5000, show_default=True, help="Items audited per run (a random subset).")
@click.option("--jobs", type=int, default=2, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), help="Folder for audit_runs.csv and audit_summary.csv.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@friendly_errors
def audit_cmd(datasets: str, rates: str, noises: str, seeds: int, max_items: int, jobs: int, out: Path | None,
              as_json: bool) -> None:
    """How well the audit finds planted annotator mistakes (precision and recall)."""
    from .quality_bench import NOISE_TYPES, run_audit_bench

    rate_values = _floats(rates, "rates") or []
    if any(not 0.0 < r < 1.0 for r in rate_values):
        raise InputError("Planted mistake rates must be in (0, 1).")
    for nz in _names(noises):
        if nz not in NOISE_TYPES:
            raise InputError(f"Unknown noise {nz!r}. Allowed: {', '.join(NOISE_TYPES)}.")
    if seeds < 1:
        raise InputError(f"--seeds must be >= 1. Got {seeds}.")
    runs, summary = run_audit_bench(_names(datasets), rate_values, _names(noises), seeds, n_jobs=jobs,
                                    max_items=max_items)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        runs.to_csv(out / "audit_runs.csv", index=False)
        summary.to_csv(out / "audit_summary.csv", index=False)
    if as_json:
        emit_json(_clean({"summary": summary.to_dict("records")}))
        return
    pct = lambda v: _pct(v, 1)  # noqa: E731
    _console().print(_table("audit of planted annotator mistakes", summary,
                            ["dataset", "noise", "rate", "runs", "items", "planted", "precision_at_k",
                             "precision_at_k_min", "flag_precision", "flag_recall"],
                            {c: pct for c in ("rate", "precision_at_k", "precision_at_k_min", "flag_precision",
                                              "flag_recall")} | {"planted": lambda v: f"{v:.0f}"}))


@quality_bench.command(name="spot-check")
@click.option("--datasets", default="digits,fashion-mnist", show_default=True)
@click.option("--runs", type=int, default=200, show_default=True, help="Seeded TBAL runs per dataset.")
@click.option("--n", "n", type=int, default=100, show_default=True, help="Auto-labels checked per run.")
@click.option("--confidence", type=float, default=0.95, show_default=True)
@click.option("--jobs", type=int, default=2, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), help="Folder for spotcheck_runs.csv and spotcheck_summary.csv.")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def spot_check_cmd(datasets: str, runs: int, n: int, confidence: float, jobs: int, out: Path | None,
                   as_json: bool) -> None:
    """Does the spot-check interval cover the true auto-label error at its nominal rate?"""
    from .quality_bench import run_spot_check_bench

    if runs < 1 or n < 1:
        raise InputError("--runs and --n must be positive.")
    if not 0 < confidence < 1:
        raise InputError(f"--confidence must be in (0, 1). Got {confidence}.")
    frame, summary = run_spot_check_bench(_names(datasets), runs, n, confidence, n_jobs=jobs)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out / "spotcheck_runs.csv", index=False)
        summary.to_csv(out / "spotcheck_summary.csv", index=False)
    if as_json:
        emit_json(_clean({"summary": summary.to_dict("records")}))
        return
    _console().print(_table(f"spot checks of {n} auto-labels, {confidence:.0%} intervals", summary,
                            ["dataset", "runs", "mean_true_error", "coverage", "classes_checked", "class_coverage"],
                            {"mean_true_error": lambda v: _pct(v), "coverage": lambda v: _pct(v, 1),
                             "class_coverage": lambda v: _pct(v, 1)}))


@quality_bench.command(name="planner")
@click.option("--epsilons", default="0.01,0.02,0.05,0.1", show_default=True)
@click.option("--ratios", default="0,0.1,0.25,0.4,0.5,0.75,0.9", show_default=True,
              help="Model error as a share of epsilon.")
@click.option("--delta", type=float, default=0.05, show_default=True)
@click.option("--check-runs", type=int, default=0, show_default=True,
              help="Run each planned size through the real threshold search this many times.")
@click.option("--out", type=click.Path(path_type=Path), help="Folder for planner_table.csv.")
@click.option("--plots", type=click.Path(path_type=Path), help="Folder for planner.png.")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def planner_cmd(epsilons: str, ratios: str, delta: float, check_runs: int, out: Path | None, plots: Path | None,
                as_json: bool) -> None:
    """Validation labels needed against epsilon and the model's error, checked by simulation."""
    from .planner import plan_validation
    from .quality_bench import planner_table, plot_planner

    eps = _floats(epsilons, "epsilons") or []
    rat = _floats(ratios, "ratios") or []
    if any(not 0 < e < 1 for e in eps) or any(not 0 <= r < 1 for r in rat):
        raise InputError("Epsilons must be in (0, 1) and ratios in [0, 1).")
    table = planner_table(eps, rat, delta=delta, check_runs=check_runs)
    path = None
    if plots is not None:
        import numpy as np

        # an example per-class plan: ten classes with different errors, as a pilot might show
        example = plan_validation(0.05, delta, n_classes=10, expected_error=np.linspace(0.0, 0.035, 10),
                                  search="per-class", rounds=1)
        path = str(plot_planner(table, example, plots))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        table.to_csv(out / "planner_table.csv", index=False)
    if as_json:
        emit_json(_clean({"table": table.to_dict("records"), "plot": path}))
        return
    cols = ["epsilon", "error", "needed", "needed_times_eps", "single_test", "single_test_times_eps"] + (
        ["simulated_share"] if check_runs else [])
    _console().print(_table("validation points to certify a region (90 % of runs)", table, cols,
                            {"epsilon": lambda v: _pct(v, 0), "error": lambda v: _pct(v, 2),
                             "needed": lambda v: str(int(v)), "single_test": lambda v: str(int(v)),
                             "simulated_share": lambda v: _pct(v, 1)}))
    if path:
        _console().print(f"plot: {path}")


@quality_bench.command(name="cost")
@click.option("--datasets", default="digits,fashion-mnist", show_default=True)
@click.option("--budgets", help="Label budgets (comma-separated; default per dataset).")
@click.option("--methods", default="all", show_default=True,
              help="Comma-separated subset of: tbal, al+sc, pl+sc, self-training, label-spreading (or 'all').")
@click.option("--seeds", type=int, default=5, show_default=True)
@click.option("--price", type=float, help="Price of one label (default 0.05).")
@click.option("--prices", type=click.Path(path_type=Path), help="Price per class: CSV (class,price) or JSON.")
@click.option("--money",
              help="Answer: for this much money (comma-separated amounts), how much is labeled at <= epsilon?")
@click.option("--target-coverage", help="Answer: what does labeling this share of items cost? (0-1, comma-separated)")
@click.option("--report-budget", type=int, help="Budget of the per-class report run (default: the best-covering one).")
@click.option("--summary", "summary_file", type=click.Path(path_type=Path),
              help="A cost_summary.csv from an earlier run: answer and plot from it (no new runs, no class report).")
@click.option("--jobs", type=int, default=2, show_default=True)
@click.option("--out", type=click.Path(path_type=Path),
              help="Folder for cost_runs.csv, cost_summary.csv, class reports.")
@click.option("--plots", type=click.Path(path_type=Path), help="Folder for the PNG curves.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@friendly_errors
def cost_cmd(datasets: str, methods: str, budgets: str | None, seeds: int, price: float | None, prices: Path | None,
             money: str | None, target_coverage: str | None, report_budget: int | None, summary_file: Path | None,
             jobs: int, out: Path | None, plots: Path | None, as_json: bool) -> None:
    """Cost–coverage and cost–accuracy curves, the money questions, and a per-class report."""

    from .class_report import suggest_next_labels
    from .cost import CostModel
    from .quality_bench import (
        TBAL,
        answer_coverage,
        answer_money,
        class_report_for,
        load_problem,
        plot_cost,
        resolve_methods,
        run_cost_bench,
        summarize_cost,
    )

    chosen = resolve_methods(methods)
    if seeds < 1:
        raise InputError(f"--seeds must be >= 1. Got {seeds}.")
    amounts = _floats(money, "money") or []
    targets = _floats(target_coverage, "target-coverage") or []
    if any(m < 0 for m in amounts):
        raise InputError(f"--money must be >= 0. Got {money}.")
    if any(not 0.0 < t <= 1.0 for t in targets):
        raise InputError(f"--target-coverage is a share of items in (0, 1]. Got {target_coverage}.")
    names = _names(datasets)
    problems = {d: load_problem(d) for d in names}
    model = None
    for p in problems.values():  # every dataset's classes are checked against the price table
        model = cost_model_from_options(price, prices, p.class_names)
    cost_model = model or CostModel.flat(0.05)
    budget_values = [int(b) for b in (_floats(budgets, "budgets") or [])]
    if any(b < 1 for b in budget_values):
        raise InputError("--budgets must be positive numbers of labels.")
    runs = None
    if summary_file is not None:
        from .io import read_table

        summary = read_table(summary_file)
        missing = [d for d in names if not (summary["dataset"] == d).any()]
        if missing:
            raise InputError(f"{summary_file} has no runs of {missing[0]!r}.")
    else:
        plan_budgets = {d: budget_values or list(p.budgets) for d, p in problems.items()}
        runs = run_cost_bench(names, chosen, plan_budgets, seeds, cost_model, n_jobs=jobs)
        summary = summarize_cost(runs)
    out_json: dict[str, Any] = {"cost_model": cost_model.to_dict(), "summary": summary.to_dict("records"),
                                "datasets": {}}
    console = None if as_json else _console()
    for d, p in problems.items():
        entry: dict[str, Any] = {"money": [a for m in amounts for a in answer_money(summary, p, cost_model, m)],
                                 "target_coverage": [a for t in targets
                                                     for a in answer_coverage(summary, p, cost_model, t)]}
        report = None
        if summary_file is None or report_budget is not None:
            s_d = summary[summary["dataset"] == d]
            if (s_d["method"] == TBAL).any():  # the report is of a TBAL run
                s_d = s_d[s_d["method"] == TBAL]
            rb = report_budget or int(s_d.loc[s_d["coverage"].idxmax(), "budget"])  # the most informative run
            _, report = class_report_for(d, rb, cost_model)
            entry["class_report_budget"] = rb
            entry["class_report"] = report.to_dict("records")
            entry["suggestions"] = suggest_next_labels(report, currency=cost_model.currency)
            if out is not None:
                out.mkdir(parents=True, exist_ok=True)
                report.to_csv(out / f"class_report_{d}.csv", index=False)
        if plots is not None:
            entry["plot"] = str(plot_cost(summary, p, cost_model, plots))
        out_json["datasets"][d] = entry
        if console is None:
            continue
        s = summary[summary["dataset"] == d]
        n_seeds = int(s["runs"].max()) if len(s) else 0
        console.print(_table(f"{d}: cost curves (mean of {n_seeds} seeds, ε = {_pct(p.epsilon, 0)})", s,
                             ["method", "budget", "cost", "coverage", "labeled_share", "auto_error", "accuracy",
                              "violation_rate"],
                             {"cost": cost_model.format, "coverage": lambda v: _pct(v, 1),
                              "labeled_share": lambda v: _pct(v, 1), "auto_error": lambda v: _pct(v),
                              "accuracy": lambda v: _pct(v), "violation_rate": lambda v: _pct(v, 0)}))
        for a in entry["money"]:
            head = f"  for {cost_model.format(a['money'])}, {a['method']}: "
            if a["labeled_share"] is None:
                console.print(f"{head}nothing at ≤ ε — {a['note']}")
            elif a["method"] == "by hand (passive)":
                console.print(f"{head}{_pct(a['labeled_share'], 1)} labeled — {a['note']}")
            else:
                broke = f", ε broken in {_pct(a['violation_rate'], 0)} of runs" if a["violation_rate"] else ""
                console.print(f"{head}{_pct(a['labeled_share'], 1)} labeled ({_pct(a['coverage'], 1)} auto-labeled "
                              f"at ≤ ε{broke}) — {a['note']}")
        for a in entry["target_coverage"]:
            c = "—" if a["cost"] is None else ("≤ " if a.get("at_most") else "") + cost_model.format(a["cost"])
            console.print(f"  {_pct(a['target'], 0)} labeled with {a['method']}: {c} ({a['note']})")
        if report is not None:
            console.print(_table(f"{d}: per-class report (one run, budget {entry['class_report_budget']})", report,
                                 ["class", "items", "coverage", "val_error", "next_val", "next_error", "needed",
                                  "extra_cost", "cost_per_auto_label", "true_error", "status"],
                                 {"coverage": lambda v: _pct(v, 1), "val_error": lambda v: _pct(v, 1),
                                  "next_error": lambda v: _pct(v, 1), "true_error": lambda v: _pct(v, 1),
                                  "extra_cost": cost_model.format, "cost_per_auto_label": cost_model.format,
                                  "needed": lambda v: str(int(v))}))
            for line in entry["suggestions"]:
                console.print(f"  → {line}")
        if "plot" in entry:
            console.print(f"plot: {entry['plot']}")
    if out is not None and runs is not None:
        out.mkdir(parents=True, exist_ok=True)
        runs.to_csv(out / "cost_runs.csv", index=False)
        summary.to_csv(out / "cost_summary.csv", index=False)
    if as_json:
        emit_json(_clean(out_json))


def register(main: click.Group) -> None:
    """Add these commands to the ``surelabel`` group."""
    for cmd in (plan, audit, spot_check, review, quality_bench):
        main.add_command(cmd)
    bench = main.commands.get("bench")
    if isinstance(bench, click.Group):  # `surelabel bench noise|cost` = `surelabel quality-bench noise|cost`
        for name in ("noise", "cost"):
            bench.add_command(quality_bench.commands[name], name)
