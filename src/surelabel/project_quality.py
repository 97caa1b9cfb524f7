"""Quality checks on a project folder: audit, spot check and review, stored as batches and events.

* :func:`audit` — out-of-fold probabilities on the project's current human labels (validation
  and training) fed to confident learning (:func:`surelabel.audit.find_label_issues`), with
  the project's model family and seed; :func:`queue_audit` turns the flagged labels into a
  ``review`` batch.
* :func:`queue_spot_check` — a uniform sample of the auto-labeled items as a ``spot-check``
  batch; its answers go to the ``spot_check`` table, never to the label events, so they are
  never used to train or validate. :func:`spot_check_summary` judges them.
* :func:`queue_review` — the least-certain labels (auto-labels closest to the threshold stored
  with their event, human labels flagged by the audit) as a ``review`` batch.

Answers to a ``review`` batch are new label events; the old events stay in the history and an
item's current label is its latest event.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .engine import AUTO, HUMAN, VALIDATION
from .exceptions import InputError
from .project import Project

__all__ = ["audit", "queue_audit", "queue_spot_check", "spot_check_summary", "queue_review"]


def _busy_items(project: Project, snap: Any) -> set[int]:
    """Items a new check leaves out: those still waiting for an answer, and those in an open check batch.

    An answered item of an open round batch may be queued (a re-review before the round runs).
    """
    q = snap.quality_batch_ids()
    return {p.index for p in project._pending(snap)} | {item for b, item, _ in snap.open_items if b in q}


def audit(project: Project, *, folds: int = 5) -> tuple[pd.DataFrame, Any]:
    """Rank the project's current human labels by how likely they are wrong.

    Returns ``(issues, summary)``: the table of :func:`~surelabel.audit.find_label_issues`
    with ``item`` (row), ``id`` and ``source`` (``validation`` / ``human``) in front, and the
    :class:`~surelabel.audit.IssueSummary` of the validation labels at the project's epsilon.
    """
    from .audit import find_label_issues, summarize_issues
    from .models import make_model

    with project.store.read() as conn:
        snap = project._snapshot(conn)
    state = project._state(snap)
    human = np.flatnonzero((state.source == HUMAN) | (state.source == VALIDATION))
    if human.size == 0:
        raise InputError(f"Project {project.path} has no human labels to audit yet; import some answers first.")
    classes = np.asarray(project.classes, dtype=object)
    y = classes[state.codes[human]]
    seed = int(project.config["seed"])
    issues = find_label_issues(project.X[human], y, model=make_model(project.config["model"], seed),
                               classes=project.classes, n_folds=folds, random_state=seed)
    rows = human[issues["index"].to_numpy()]
    issues.insert(0, "item", rows)
    issues.insert(1, "id", [project.item_ids[i] for i in rows])
    issues.insert(2, "source", np.where(state.source[rows] == VALIDATION, "validation", "human"))
    val = issues[issues["source"] == "validation"]
    val.attrs["n_issues_estimate"] = int(val["is_issue"].sum())
    summary = summarize_issues(val, epsilon=project.tbal_config.epsilon)
    return issues, summary


def queue_audit(project: Project, issues: pd.DataFrame) -> tuple[int | None, list[int]]:
    """A ``review`` batch of the flagged labels (most suspect first); ``(batch id or None, items)``."""
    with project.store.write() as conn:
        snap = project._light_snapshot(conn)
        busy = _busy_items(project, snap)
        items = [int(i) for i in issues.loc[issues["is_issue"], "item"] if int(i) not in busy]
        if not items:
            return None, []
        return project.store.create_quality_batch(conn, snap.round, "review", items), items


def queue_spot_check(project: Project, n: int, *, seed: int | None = None) -> tuple[int, np.ndarray, int]:
    """A ``spot-check`` batch of ``n`` auto-labeled items drawn uniformly; ``(batch id, items, n_auto)``."""
    from .spotcheck import draw_spot_check

    with project.store.write() as conn:
        snap = project._snapshot(conn)
        state = project._state(snap)
        auto = state.source == AUTO
        busy = _busy_items(project, snap)
        held = sorted(i for i in busy if auto[i])
        if held:  # leaving them out would tilt the sample towards the surest auto-labels
            raise InputError(f"{len(held)} auto-label(s) of {project.path} wait in an open review or check batch "
                             f"(e.g. {project.item_ids[held[0]]!r}); a spot check drawn now would not be uniform. "
                             "Answer those batches first (surelabel next / import).")
        rs = np.random.default_rng([int(project.config["seed"]) if seed is None else int(seed), len(snap.batches)])
        idx = draw_spot_check(auto, n, random_state=rs)
        batch = project.store.create_quality_batch(conn, snap.round, "spot-check", idx.tolist())
        return batch, idx, int(auto.sum())


def spot_check_summary(project: Project, *, confidence: float = 0.95, epsilon: float | None = None) -> Any:
    """The realised auto-label error of the answered spot checks (latest answer per item)."""
    from .spotcheck import spot_check_report

    with project.store.read() as conn:
        rows = project.store.spot_checks(conn)
    latest: dict[int, dict[str, Any]] = {}
    for r in rows:
        latest[r["item"]] = r
    if not latest:
        raise InputError(f"Project {project.path} has no answered spot checks yet; "
                         "draw one with surelabel spot-check DIR --n N and label its batch first.")
    answered = list(latest.values())
    return spot_check_report([r["auto_label"] for r in answered], [r["label"] for r in answered],
                             classes=project.classes, confidence=confidence,
                             epsilon=project.tbal_config.epsilon if epsilon is None else epsilon)


def queue_review(project: Project, n: int, *, by: str = "confidence") -> tuple[int, pd.DataFrame]:
    """A ``review`` batch of the ``n`` least-certain labels; ``(batch id, queue)``.

    Auto-labels are ordered by their score minus the exact threshold stored with their event;
    human labels come from :func:`audit` (only the flagged ones).
    """
    from .review import REVIEW_ORDERS, rank_review

    if by not in REVIEW_ORDERS:
        raise InputError(f"Unknown review order {by!r}. Allowed: {', '.join(REVIEW_ORDERS)}.")
    with project.store.read() as conn:
        snap = project._snapshot(conn)
    state = project._state(snap)
    auto = [a for a in snap.auto if state.source[a["item"]] == AUTO and a["threshold"] is not None
            and a["score"] is not None]
    human_kw: dict[str, Any] = {}
    if ((state.source == HUMAN) | (state.source == VALIDATION)).sum() >= 4:
        try:
            issues, _ = audit(project)
        except InputError:
            issues = None
        if issues is not None:
            human_kw = dict(human_indices=issues["item"].to_numpy(), human_labels=issues["given"].to_numpy(),
                            issue_scores=issues["score"].to_numpy(), suggested=issues["suggested"].to_numpy(),
                            is_issue=issues["is_issue"].to_numpy())
    busy = sorted(_busy_items(project, snap))
    queue = rank_review(auto_indices=[a["item"] for a in auto], auto_labels=[a["label"] for a in auto],
                        auto_scores=[a["score"] for a in auto], auto_thresholds=[a["threshold"] for a in auto],
                        by=by, n=n, exclude=busy, **human_kw)
    queue.insert(1, "id", [project.item_ids[int(i)] for i in queue["index"]])
    with project.store.write() as conn:
        st = project.store
        if st.last_event_id(conn) != snap.last_event or len(st.batches(conn)) != len(snap.batches):
            raise InputError(f"Project {project.path} changed while the review was ranked; run the command again.")
        batch = project.store.create_quality_batch(conn, snap.round, "review", [int(i) for i in queue["index"]])
    return batch, queue
