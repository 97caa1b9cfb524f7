"""``surelabel audit|spot-check|review DIR``: the quality checks on a project folder.

Called by the commands of :mod:`surelabel.cli_quality` when their path is a folder; the
work itself is in :mod:`surelabel.project_quality`.
"""

from __future__ import annotations

from pathlib import Path

import click

from .cli_quality import _check_out, _clean, _console, _pct, _table, _write, emit_json
from .exceptions import InputError
from .project import Project


def _open(directory: Path) -> Project:
    from .cli_project import _open as open_asking  # asks for a database password that nothing supplied

    return open_asking(directory)


def audit_project(directory: Path, *, folds: int, top: int, out: Path | None, queue: bool, as_json: bool) -> None:
    from .project_quality import audit, queue_audit

    _check_out(out)
    with _open(directory) as project:
        issues, summary = audit(project, folds=folds)
        batch, queued = (None, [])
        if queue:
            batch, queued = queue_audit(project, issues)
    table = issues.drop(columns=["index"])
    if out is not None:
        _write(table, out)
    ranked = table[["id", "source", "given", "suggested", "score", "is_issue"]]
    if as_json:
        emit_json(_clean({"project": str(directory), "summary": summary.to_dict(),
                          "warning": summary.message or None, "warnings": issues.attrs.get("warnings", []),
                          "n_items": int(len(issues)), "n_flagged": int(issues["is_issue"].sum()),
                          "issues": ranked.head(max(top, 0)).to_dict("records"),
                          "queued": {"batch": batch, "n": len(queued)} if queue else None,
                          "out": None if out is None else str(out)}))
        return
    console = _console()
    console.print(_table(f"most suspect human labels of {directory} ({int(issues['is_issue'].sum())} flagged "
                         f"of {len(issues)})", ranked.head(top), ["id", "source", "given", "suggested", "score"]))
    console.print(f"estimated share of wrong validation labels: {_pct(summary.noise_estimate, 1)}")
    if summary.message:
        console.print(f"[bold yellow]warning[/bold yellow]: {summary.message} "
                      f"Queue them with surelabel audit {directory} --queue.")
    for w in issues.attrs.get("warnings", []):
        console.print(f"note: {w}")
    if queue:
        console.print(f"Queued {len(queued)} flagged label(s) for re-review as batch {batch}; hand it out with "
                      f"surelabel next {directory}." if batch is not None
                      else "Nothing to queue: no flagged label is outside an open batch.")
    if out is not None:
        console.print(f"Ranked table written to {out}")


def spot_check_project(directory: Path, *, n: int, seed: int | None, out: Path | None, report: bool,
                       epsilon: float | None, confidence: float, as_json: bool) -> None:
    from .project_quality import queue_spot_check, spot_check_summary

    if report:
        with _open(directory) as project:
            r = spot_check_summary(project, confidence=confidence, epsilon=epsilon)
        if out is not None:
            _check_out(out)
            _write(r.to_frame(), out)
        if as_json:
            emit_json(_clean({"project": str(directory), **r.to_dict()}))
            return
        console = _console()
        console.print(_table(f"spot check of {directory}: {r.n} auto-labels checked", r.to_frame(),
                             ["class", "n", "n_errors", "error", "ci_low", "ci_high"],
                             {"error": lambda v: _pct(v), "ci_low": lambda v: _pct(v), "ci_high": lambda v: _pct(v)}))
        console.print(f"auto-label error {_pct(r.error)} [{_pct(r.ci_low)}, {_pct(r.ci_high)}] "
                      f"at {r.confidence:.0%}" + (f": {r.verdict}" if r.verdict else ""))
        return
    if out is not None:
        raise InputError("--out: on a project the spot-check batch is handed out with surelabel next DIR --out FILE.")
    with _open(directory) as project:
        batch, idx, n_auto = queue_spot_check(project, n, seed=seed)
        ids = [project.item_ids[int(i)] for i in idx]
    if as_json:
        emit_json(_clean({"project": str(directory), "batch": batch, "kind": "spot-check", "n": len(ids),
                          "n_auto": n_auto, "ids": ids}))
        return
    click.echo(f"Drew {len(ids)} of {n_auto} auto-labeled items as spot-check batch {batch}; hand it out with "
               f"surelabel next {directory} (the auto-labels are not shown), then surelabel spot-check "
               f"{directory} --report.")


def review_project(directory: Path, *, n: int, by: str, out: Path | None, as_json: bool) -> None:
    from .project_quality import queue_review

    _check_out(out)
    with _open(directory) as project:
        batch, queue = queue_review(project, n, by=by)
    table = queue.rename(columns={"index": "item"})
    if out is not None:
        _write(table, out)
    if as_json:
        emit_json(_clean({"project": str(directory), "batch": batch, "kind": "review", "n": len(table), "by": by,
                          "queue": table.to_dict("records"), "out": None if out is None else str(out)}))
        return
    console = _console()
    console.print(_table(f"review batch {batch} ({len(table)} labels, by {by})", table.head(25),
                         ["id", "source", "label", "reason"]))
    console.print(f"Hand it out with surelabel next {directory}; answers become new label events.")
