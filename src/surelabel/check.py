"""``surelabel check DIR``: verify a project's store without changing it, and name every problem.

Checks, in order (a problem that makes the rest meaningless stops there):

* the folder is a project (``surelabel-project.json`` readable);
* the database exists, is not empty and passes SQLite's ``PRAGMA integrity_check``;
* the schema is the version this surelabel writes, with every table (none ahead of its version);
* the stored metadata: the project id matches the folder's, the configuration is complete, the
  item count is a number;
* ``items.parquet`` is readable, has the id column and as many rows as the store has items, and
  its ids are the stored ids in the same order;
* every label event and spot check names a class of the project, and every batch item and
  event an item of it.

Nothing is created, migrated or written: a missing database file stays missing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["check_project"]


def check_project(path: str | Path, *, db: str | None = None) -> list[str]:
    """The problems of the project in ``path`` (an empty list when it is sound), reading only."""
    from sqlalchemy import func, select

    from .exceptions import SurelabelError
    from .project import DB_FILE, FORMAT, ITEMS_FILE, PROJECT_FILE, ProjectError, _check_sqlite_file, _config_problem
    from .store import T_BATCH_ITEM, T_EVENT, T_ITEM, T_SPOT, Store

    path = Path(path)
    if not path.is_dir():
        return [f"{path} is not a folder"]
    marker_path = path / PROJECT_FILE
    if not marker_path.is_file():
        return [f"{path} has no {PROJECT_FILE}: it is not a surelabel project"]
    try:
        marker = json.loads(marker_path.read_text(encoding="utf-8"))
        if not isinstance(marker, dict) or marker.get("format") != FORMAT:
            raise ValueError
    except (ValueError, UnicodeDecodeError):
        return [f"{marker_path} is damaged (not a surelabel project file)"]
    url = db or os.environ.get("SURELABEL_DB") or marker.get("db") or f"sqlite:///{(path / DB_FILE).resolve()}"
    try:
        _check_sqlite_file(url, path)
    except ProjectError as exc:
        return [str(exc).rstrip(".")]
    problems: list[str] = []
    try:
        store = Store(url, label=str(path))
    except SurelabelError as exc:
        return [str(exc).rstrip(".")]
    try:
        try:
            integrity = store.integrity_check() if store.dialect == "sqlite" else "ok"
        except SurelabelError as exc:
            return [str(exc).rstrip(".")]
        if integrity != "ok":
            return [f"SQLite integrity_check failed: {integrity.splitlines()[0]}"]
        schema = store.schema_problems()
        if schema:
            return schema
        with store.read() as conn:
            meta = store.get_meta(conn)
            n_table = store.item_count(conn)
            stored_ids = [r[0] for r in conn.execute(select(T_ITEM.c.item_id).order_by(T_ITEM.c.idx))]
            labels = [r[0] for r in conn.execute(select(T_EVENT.c.label).where(T_EVENT.c.label.isnot(None))
                                                 .distinct())]
            spot_labels = [r[0] for r in conn.execute(select(T_SPOT.c.label).distinct())]
            max_item = max(int(conn.execute(select(func.coalesce(func.max(t.c.item), -1))).scalar())
                           for t in (T_EVENT, T_BATCH_ITEM, T_SPOT))
        if meta.get("project_uuid") != marker.get("uuid"):
            problems.append(f"the database does not belong to this project (project id {meta.get('project_uuid')!r}"
                            f" in the database, {marker.get('uuid')!r} in {PROJECT_FILE})")
        config_problem = _config_problem(meta.get("config"))
        if config_problem:
            problems.append(config_problem)
        n_meta = meta.get("n_items", "")
        if not str(n_meta).isdigit():
            problems.append("the item count (meta 'n_items') is missing or malformed")
        elif int(n_meta) != n_table:
            problems.append(f"the store says {n_meta} items but its item table has {n_table} rows")
        problems.extend(_items_problems(path / ITEMS_FILE, stored_ids, None if config_problem else
                                        json.loads(meta["config"])))
        if max_item >= n_table:
            problems.append(f"events or batches name item {max_item}, beyond the {n_table} items of the store")
        if not config_problem:
            classes = set(json.loads(meta["config"])["classes"])
            odd = sorted({str(v) for v in labels + spot_labels if v not in classes})
            if odd:
                shown = ", ".join(repr(v[:40]) for v in odd[:5])
                problems.append(f"{len(odd)} label(s) in the events are not classes of the project: {shown}")
    finally:
        store.close()
    return problems


def _items_problems(file: Path, stored_ids: list[str], config: dict[str, Any] | None) -> list[str]:
    import pandas as pd

    if not file.is_file():
        return [f"{file.name} is missing"]
    try:
        frame = pd.read_parquet(file)
    except Exception as exc:  # pyarrow raises its own error types for a damaged file
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [f"{file.name} cannot be read ({reason})"]
    if len(frame) != len(stored_ids):
        return [f"{file.name} has {len(frame)} rows but the store has {len(stored_ids)} items"]
    if config is None:
        return []
    id_column = config["id_column"]
    if id_column not in frame.columns:
        return [f"{file.name} lacks its id column {id_column!r}"]
    ids = [v if isinstance(v, str) else str(v) for v in frame[id_column]]
    differ = next((i for i, (a, b) in enumerate(zip(ids, stored_ids)) if a != b), None)
    if differ is not None:
        return [f"{file.name}, row {differ + 1}: id {ids[differ][:40]!r} differs from the stored id "
                f"{stored_ids[differ][:40]!r}"]
    missing = [c for c in config.get("feature_columns") or [] if c not in frame.columns]
    if missing:
        return [f"{file.name} lacks feature column(s) {', '.join(map(repr, missing[:5]))}"]
    return []
