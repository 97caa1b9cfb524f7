"""The project store: every SQL statement of surelabel, on SQLite or PostgreSQL (SQLAlchemy Core).

One code path for both databases. SQLite is the default, a file inside the project folder,
opened with WAL, foreign keys, ``synchronous=FULL`` and a busy timeout; every write runs in
``BEGIN IMMEDIATE``. On PostgreSQL every write transaction first takes a transaction-level
advisory lock of the project, so writes are serialised exactly as on SQLite; reads use
snapshots (WAL on SQLite, ``REPEATABLE READ`` on PostgreSQL) and never wait for a writer.

The schema is versioned: :data:`MIGRATIONS` is an ordered list, each applied in the same
transaction as the new version number; a database whose version is newer than this code is
refused. Values are always bound parameters; nothing is pickled.

Tables (see ``docs/project.md``)::

    meta          key → value (schema_version, project uuid, configuration as JSON, …)
    item          idx (0..n-1, the row of items.parquet) → item_id
    batch         a numbered ticket of work: round, kind (validation | training), status
    batch_item    the items of a batch, in order
    label_event   append-only: every label (validation | human | auto) and every undo
    round_report  one row per round run: report, stop reason, retired validation counts
    retirement    validation points retired into auto-labeled regions, with their round
    item_lease    (v2) who is labeling an item in the web page, until when
    item_skip     (v2) items an annotator skipped in an open batch
    quality_batch (v3) batches of quality checks: batch id → kind (review | spot-check);
                  their ``batch`` row says ``training`` and they never block or join a round
    spot_check    (v3) answers to spot-check batches: never label events, never used to train
                  or validate
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from filelock import FileLock
from filelock import Timeout as LockTimeout
from sqlalchemy import (
    CheckConstraint,
    Column,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from .crash import crash_point
from .exceptions import SurelabelError

__all__ = [
    "Store",
    "StoreError",
    "ProjectBusyError",
    "SchemaVersionError",
    "PasswordNeededError",
    "SCHEMA_VERSION",
    "MIGRATIONS",
    "now_iso",
]


class StoreError(SurelabelError):
    """The project's database cannot be used (missing, corrupt, unreachable)."""


class ProjectBusyError(StoreError):
    """Another process holds the project's write lock for longer than the busy timeout."""


class SchemaVersionError(StoreError):
    """The database was written by a newer surelabel than this one."""


class PasswordNeededError(StoreError):
    """The PostgreSQL server asks for a password and none was given (``url``: the URL, without one)."""

    def __init__(self, message: str, url: str) -> None:
        super().__init__(message)
        self.url = url


SOURCES = ("validation", "human", "auto")
CHANNELS = ("file", "labelstudio", "web", "simulate", "engine", "python")
BATCH_KINDS = ("validation", "training")
BATCH_STATUS = ("open", "done", "closed")


def now_iso() -> str:
    """The current UTC time as ISO 8601 with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------- schema and migrations


def _schema_v1(md: MetaData) -> list[Table]:
    meta = Table(
        "meta", md,
        Column("key", String(100), primary_key=True),
        Column("value", Text, nullable=False),
    )
    item = Table(
        "item", md,
        Column("idx", Integer, primary_key=True, autoincrement=False),
        Column("item_id", Text, nullable=False, unique=True),
    )
    batch = Table(
        "batch", md,
        Column("id", Integer, primary_key=True),
        Column("round", Integer, nullable=False),
        Column("kind", String(20), nullable=False),
        Column("status", String(20), nullable=False),
        Column("created_at", Text, nullable=False),
        Column("closed_at", Text),
        CheckConstraint("kind IN ('validation', 'training')", name="batch_kind"),
        CheckConstraint("status IN ('open', 'done', 'closed')", name="batch_status"),
    )
    batch_item = Table(
        "batch_item", md,
        Column("batch_id", Integer, ForeignKey("batch.id"), primary_key=True),
        Column("item", Integer, ForeignKey("item.idx"), primary_key=True),
        Column("position", Integer, nullable=False),
    )
    label_event = Table(
        "label_event", md,
        Column("id", Integer, primary_key=True),
        Column("item", Integer, ForeignKey("item.idx"), nullable=False),
        Column("label", Text),  # the class name; NULL only for an undo (``retracts`` set)
        Column("source", String(20), nullable=False),
        Column("round", Integer, nullable=False),
        Column("batch_id", Integer, ForeignKey("batch.id")),
        Column("annotator", Text),
        Column("channel", String(20), nullable=False),
        Column("seconds", Float),
        Column("created_at", Text, nullable=False),
        Column("model_version", Text),
        Column("score", Float),
        Column("threshold", Float),
        Column("bound", Float),
        Column("retracts", Integer, ForeignKey("label_event.id")),
        CheckConstraint("source IN ('validation', 'human', 'auto')", name="event_source"),
        CheckConstraint("(label IS NULL) = (retracts IS NOT NULL)", name="event_label_or_undo"),
    )
    round_report = Table(
        "round_report", md,
        Column("round", Integer, primary_key=True, autoincrement=False),
        Column("created_at", Text, nullable=False),
        Column("model_version", Text),
        Column("n_train", Integer, nullable=False),
        Column("stop_reason", Text),
        Column("report", Text, nullable=False),
        Column("retired_n", Text, nullable=False),
        Column("retired_k", Text, nullable=False),
        Column("partial", Integer, nullable=False, default=0),
    )
    retirement = Table(
        "retirement", md,
        Column("item", Integer, ForeignKey("item.idx"), primary_key=True),
        Column("round", Integer, nullable=False),
    )
    return [meta, item, batch, batch_item, label_event, round_report, retirement]


def _schema_v2(md: MetaData) -> list[Table]:
    lease = Table(
        "item_lease", md,
        Column("item", Integer, ForeignKey("item.idx"), primary_key=True),
        Column("annotator", Text, nullable=False),
        Column("expires", Float, nullable=False),
    )
    skip = Table(
        "item_skip", md,
        Column("batch_id", Integer, ForeignKey("batch.id"), primary_key=True),
        Column("item", Integer, ForeignKey("item.idx"), primary_key=True),
        Column("annotator", Text, primary_key=True),
    )
    Index("ix_label_event_item", md.tables["label_event"].c.item)
    Index("ix_label_event_source", md.tables["label_event"].c.source)
    return [lease, skip]


def _schema_v3(md: MetaData) -> list[Table]:
    quality = Table(
        "quality_batch", md,
        Column("batch_id", Integer, ForeignKey("batch.id"), primary_key=True),
        Column("kind", String(20), nullable=False),
        CheckConstraint("kind IN ('review', 'spot-check')", name="quality_kind"),
    )
    spot = Table(
        "spot_check", md,
        Column("id", Integer, primary_key=True),
        Column("batch_id", Integer, ForeignKey("batch.id"), nullable=False),
        Column("item", Integer, ForeignKey("item.idx"), nullable=False),
        Column("label", Text, nullable=False),
        Column("auto_label", Text),
        Column("annotator", Text),
        Column("channel", String(20), nullable=False),
        Column("seconds", Float),
        Column("created_at", Text, nullable=False),
    )
    return [quality, spot]


def _migration(schema: Callable[[MetaData], list[Table]], previous: list[Callable[[MetaData], list[Table]]]):
    def migrate(conn: Connection) -> None:
        md = MetaData()
        for s in previous:
            s(md)
        before = set(md.tables)
        before_ix = {ix.name for t in md.tables.values() for ix in t.indexes}
        schema(md)
        for name, table in md.tables.items():
            if name not in before:
                table.create(conn)
        for table in md.tables.values():
            for ix in table.indexes:
                if ix.name not in before_ix and table.name in before:
                    ix.create(conn)

    migrate.__doc__ = schema.__doc__
    return migrate


#: Ordered migrations: ``MIGRATIONS[i]`` takes a database from version ``i`` to ``i + 1``.
MIGRATIONS: list[Callable[[Connection], None]] = [
    _migration(_schema_v1, []),
    _migration(_schema_v2, [_schema_v1]),
    _migration(_schema_v3, [_schema_v1, _schema_v2]),
]
SCHEMA_VERSION = len(MIGRATIONS)


def _tables_by_version() -> list[set[str]]:
    """``[i]``: the tables version ``i + 1`` of the schema adds (so a damaged version can be named)."""
    out, md = [], MetaData()
    for schema in (_schema_v1, _schema_v2, _schema_v3):
        before = set(md.tables)
        schema(md)
        out.append(set(md.tables) - before)
    return out


TABLES_BY_VERSION = _tables_by_version()

_MD = MetaData()
_schema_v1(_MD)
_schema_v2(_MD)
_schema_v3(_MD)
T_META, T_ITEM, T_BATCH, T_BATCH_ITEM = (_MD.tables[n] for n in ("meta", "item", "batch", "batch_item"))
T_EVENT, T_ROUND, T_RETIRE = (_MD.tables[n] for n in ("label_event", "round_report", "retirement"))
T_LEASE, T_SKIP = _MD.tables["item_lease"], _MD.tables["item_skip"]
T_QUALITY, T_SPOT = _MD.tables["quality_batch"], _MD.tables["spot_check"]
QUALITY_KINDS = ("review", "spot-check")

_CHUNK = 200  # rows per INSERT; crash points sit between chunks


def _advisory_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class Store:
    """A connection to one project's database; use :meth:`read` and :meth:`write` for transactions.

    Parameters
    ----------
    url : str
        ``sqlite:///path/project.db`` or ``postgresql://user@host/db`` (``postgresql+psycopg://``
        is used underneath; ``?options=-csearch_path%3Dschema`` selects a schema).
    lock_path : Path, optional
        SQLite: the file whose ``flock`` serialises rounds (default: next to the database).
    busy_timeout : float
        Seconds a write waits for another writer before :class:`ProjectBusyError`.
    label : str
        How the project is named in messages.
    """

    def __init__(self, url: str, *, lock_path: Path | None = None, busy_timeout: float = 10.0,
                 label: str = "the project") -> None:
        self.label = label
        self.busy_timeout = float(busy_timeout)
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise StoreError(
                f"{url!r} is not a database URL; use sqlite:///FILE or postgresql://USER@HOST/DB."
            ) from None
        backend = parsed.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise StoreError(f"Unsupported database {backend!r}: use SQLite (the default) or a postgresql:// URL.")
        self.dialect = backend
        if backend == "postgresql":
            if parsed.drivername in ("postgresql", "postgres"):
                parsed = parsed.set(drivername="postgresql+psycopg")
            try:
                self.engine: Engine = create_engine(parsed, poolclass=NullPool)
            except ModuleNotFoundError:
                raise StoreError("PostgreSQL needs psycopg: pip install 'surelabel[postgres]'.") from None
            self.lock_path = None
        else:
            self.engine = create_engine(parsed, poolclass=NullPool)
            db = Path(parsed.database or "")
            self.lock_path = lock_path or db.with_name(db.name + ".steplock")
            ms = int(self.busy_timeout * 1000)

            @event.listens_for(self.engine, "connect")
            def _on_connect(dbapi_conn: Any, _record: Any) -> None:
                dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
                cur = dbapi_conn.cursor()
                cur.execute(f"PRAGMA busy_timeout = {ms}")
                cur.execute("PRAGMA journal_mode = WAL")
                cur.execute("PRAGMA synchronous = FULL")
                cur.execute("PRAGMA foreign_keys = ON")
                cur.close()

            @event.listens_for(self.engine, "begin")
            def _on_begin(conn: Connection) -> None:
                write = conn.get_execution_options().get("surelabel_write", False)
                conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        self._lock_key = _advisory_key("surelabel")

    # ------------------------------------------------------------ lifecycle

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def set_project_key(self, uuid: str) -> None:
        """Serialise writes per project (PostgreSQL advisory locks are per database)."""
        self._lock_key = _advisory_key(f"surelabel:{uuid}")

    def _busy(self) -> ProjectBusyError:
        return ProjectBusyError(
            f"Project {self.label} is busy: another surelabel process is writing to it; try again when it finishes."
        )

    def _wrap(self, exc: Exception) -> Exception:
        orig = getattr(exc, "orig", None)
        msg = str(orig or exc).strip().splitlines()[0] if str(orig or exc).strip() else type(exc).__name__
        if self.dialect == "sqlite" and ("database is locked" in msg or "database is busy" in msg):
            return self._busy()
        if getattr(orig, "sqlstate", None) in ("55P03", "57014"):  # lock_not_available, query_canceled
            return self._busy()
        if self.dialect == "postgresql" and "no password supplied" in msg:
            # libpq found none in the URL, PGPASSWORD or ~/.pgpass: say where one can come from
            url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=True)
            return PasswordNeededError(
                f"The database {url} of {self.label} needs a password and none was given: set PGPASSWORD, add it "
                "to ~/.pgpass, or set SURELABEL_DB to the full URL.", url)
        return StoreError(f"The database of {self.label} cannot be used: {msg}.")

    @contextlib.contextmanager
    def _transaction(self, write: bool) -> Iterator[Connection]:
        try:
            conn = self.engine.connect()
        except (OperationalError, DBAPIError) as exc:
            raise self._wrap(exc) from None
        try:
            if write:
                conn = conn.execution_options(surelabel_write=True)
            elif self.dialect == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            try:
                tx = conn.begin()
                if write and self.dialect == "postgresql":
                    conn.execute(select(func.set_config("lock_timeout", f"{int(self.busy_timeout * 1000)}ms", True)))
                    conn.execute(select(func.pg_advisory_xact_lock(self._lock_key)))
            except (OperationalError, DBAPIError) as exc:
                raise self._wrap(exc) from None
            try:
                yield conn
            except BaseException:
                tx.rollback()
                raise
            try:
                tx.commit()
            except (OperationalError, DBAPIError) as exc:
                raise self._wrap(exc) from None
        finally:
            conn.close()

    def read(self) -> contextlib.AbstractContextManager[Connection]:
        """A read transaction on one consistent snapshot."""
        return self._transaction(False)

    def write(self) -> contextlib.AbstractContextManager[Connection]:
        """The one write transaction of a step: serialised with every other writer, all or nothing."""
        return self._transaction(True)

    @contextlib.contextmanager
    def step_lock(self, timeout: float | None = None) -> Iterator[None]:
        """Held while a round is computed and written, so two processes never run the same round."""
        timeout = self.busy_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        if self.dialect == "sqlite":
            assert self.lock_path is not None
            # a portable file lock (fcntl on POSIX, msvcrt on Windows), released if the process dies
            lock = FileLock(str(self.lock_path), timeout=max(timeout, 0.0), thread_local=False)
            try:
                lock.acquire(poll_interval=0.05)
            except LockTimeout:
                raise self._busy() from None
            try:
                yield
            finally:
                lock.release()
            return
        key = _advisory_key(f"step:{self._lock_key}")
        try:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except (OperationalError, DBAPIError) as exc:
            raise self._wrap(exc) from None
        try:
            while not conn.execute(select(func.pg_try_advisory_lock(key))).scalar():
                if time.monotonic() >= deadline:
                    raise self._busy()
                time.sleep(0.05)
            try:
                yield
            finally:
                conn.execute(select(func.pg_advisory_unlock(key)))
        finally:
            conn.close()

    # ------------------------------------------------------------ schema

    def schema_version(self) -> int:
        with self.read() as conn:
            return self._version(conn)

    def _version(self, conn: Connection) -> int:
        if not inspect(conn).has_table("meta"):
            return 0
        value = conn.execute(select(T_META.c.value).where(T_META.c.key == "schema_version")).scalar()
        try:
            return int(value) if value is not None else 0
        except ValueError:
            raise StoreError(f"The database of {self.label} has a malformed schema version {value!r}.") from None

    def _check_not_newer(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"The database of {self.label} was written by a newer surelabel "
                f"(schema {version} > {SCHEMA_VERSION}); upgrade surelabel."
            )

    def migrate(self, *, target: int = SCHEMA_VERSION) -> int:
        """Bring the schema to ``target`` (default: this code's), each step in the version's transaction."""
        with self.read() as conn:
            version = self._version(conn)
        self._check_not_newer(version)
        if version >= target:
            return version
        with self.write() as conn:
            version = self._version(conn)  # another process may have migrated meanwhile
            self._check_not_newer(version)
            self._check_not_ahead(conn, version)
            for v in range(version, target):
                MIGRATIONS[v](conn)
                _set_meta(conn, "schema_version", str(v + 1))
            return max(version, target)

    def _check_not_ahead(self, conn: Connection, version: int) -> None:
        """Refuse to migrate a database whose tables are newer than its recorded version (it was altered)."""
        present = set(inspect(conn).get_table_names())
        ahead = sorted(present & set().union(*TABLES_BY_VERSION[version:]))
        if ahead:
            raise StoreError(
                f"The database of {self.label} is damaged: its schema_version says {version} but it already "
                f"holds table(s) {', '.join(ahead)} of a later version; restore it from a backup "
                "(surelabel check names every problem)."
            )

    def schema_problems(self) -> list[str]:
        """What is wrong with the schema (a version other than this code's, missing tables); empty if none.

        Reads only: a database is never created or migrated here.
        """
        with self.read() as conn:
            present = set(inspect(conn).get_table_names())
            if "meta" not in present:
                return ["the database holds no surelabel schema (no 'meta' table)"]
            try:
                version = self._version(conn)
            except StoreError as exc:
                return [str(exc)]
        problems = []
        if version != SCHEMA_VERSION:
            problems.append(f"schema_version is {version}, this surelabel writes {SCHEMA_VERSION}")
        expected = set().union(*TABLES_BY_VERSION[:max(0, min(version, SCHEMA_VERSION))])
        ahead = sorted(present & set().union(*TABLES_BY_VERSION[max(0, version):]))
        missing = sorted(expected - present)
        if missing:
            problems.append(f"table(s) {', '.join(missing)} are missing")
        if ahead and version < SCHEMA_VERSION:
            problems.append(f"table(s) {', '.join(ahead)} of a later schema exist although schema_version "
                            f"says {version}")
        return problems

    # ------------------------------------------------------------ meta

    @staticmethod
    def get_meta(conn: Connection) -> dict[str, str]:
        return {k: v for k, v in conn.execute(select(T_META.c.key, T_META.c.value))}

    @staticmethod
    def set_meta(conn: Connection, key: str, value: str) -> None:
        _set_meta(conn, key, value)

    # ------------------------------------------------------------ items and batches

    @staticmethod
    def insert_items(conn: Connection, item_ids: Sequence[str]) -> None:
        rows = [{"idx": i, "item_id": str(v)} for i, v in enumerate(item_ids)]
        for start in range(0, len(rows), 5000):
            conn.execute(insert(T_ITEM), rows[start:start + 5000])
            crash_point("init.write")

    @staticmethod
    def item_count(conn: Connection) -> int:
        return int(conn.execute(select(func.count()).select_from(T_ITEM)).scalar() or 0)

    @staticmethod
    def create_batch(conn: Connection, round_: int, kind: str, items: Iterable[int]) -> int:
        batch_id = conn.execute(
            insert(T_BATCH).values(round=int(round_), kind=kind, status="open", created_at=now_iso())
        ).inserted_primary_key[0]
        rows = [{"batch_id": batch_id, "item": int(i), "position": p} for p, i in enumerate(items)]
        for start in range(0, len(rows), _CHUNK):
            conn.execute(insert(T_BATCH_ITEM), rows[start:start + _CHUNK])
            crash_point("step.write")
        return int(batch_id)

    @staticmethod
    def create_quality_batch(conn: Connection, round_: int, kind: str, items: Iterable[int]) -> int:
        """A batch of quality checks (``review`` or ``spot-check``): a numbered ticket outside the rounds."""
        batch_id = Store.create_batch(conn, round_, "training", items)
        conn.execute(insert(T_QUALITY).values(batch_id=batch_id, kind=kind))
        return batch_id

    @staticmethod
    def quality_kinds(conn: Connection) -> dict[int, str]:
        return {int(b): k for b, k in conn.execute(select(T_QUALITY.c.batch_id, T_QUALITY.c.kind))}

    @staticmethod
    def insert_spot_checks(conn: Connection, rows: list[dict[str, Any]]) -> None:
        stamp = now_iso()
        full = [{"annotator": None, "seconds": None, "auto_label": None, "created_at": stamp, **r} for r in rows]
        for start in range(0, len(full), _CHUNK):
            conn.execute(insert(T_SPOT), full[start:start + _CHUNK])
            crash_point("answers.write")

    @staticmethod
    def spot_checks(conn: Connection) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in conn.execute(select(T_SPOT).order_by(T_SPOT.c.id))]

    @staticmethod
    def batches(conn: Connection, status: str | None = None) -> list[dict[str, Any]]:
        q = select(T_BATCH).order_by(T_BATCH.c.id)
        if status is not None:
            q = q.where(T_BATCH.c.status == status)
        return [dict(r._mapping) for r in conn.execute(q)]

    @staticmethod
    def batch_items(conn: Connection, batch_ids: Sequence[int]) -> list[tuple[int, int, int]]:
        """``(batch_id, item, position)`` of the given batches, in batch and position order."""
        if not batch_ids:
            return []
        q = (select(T_BATCH_ITEM.c.batch_id, T_BATCH_ITEM.c.item, T_BATCH_ITEM.c.position)
             .where(T_BATCH_ITEM.c.batch_id.in_([int(b) for b in batch_ids]))
             .order_by(T_BATCH_ITEM.c.batch_id, T_BATCH_ITEM.c.position))
        return [tuple(r) for r in conn.execute(q)]

    @staticmethod
    def close_batches(conn: Connection, batch_ids: Sequence[int], status: str) -> None:
        if batch_ids:
            conn.execute(update(T_BATCH).where(T_BATCH.c.id.in_([int(b) for b in batch_ids]))
                         .values(status=status, closed_at=now_iso()))

    # ------------------------------------------------------------ label events

    @staticmethod
    def insert_events(conn: Connection, rows: list[dict[str, Any]], crash: str = "answers.write") -> None:
        """Append label events (each a dict of :data:`T_EVENT` columns; ``created_at`` filled in)."""
        stamp = now_iso()
        full = [{"batch_id": None, "annotator": None, "seconds": None, "model_version": None, "score": None,
                 "threshold": None, "bound": None, "retracts": None, "created_at": stamp, **r} for r in rows]
        for start in range(0, len(full), _CHUNK):
            conn.execute(insert(T_EVENT), full[start:start + _CHUNK])
            crash_point(crash)

    @staticmethod
    def human_events(conn: Connection) -> list[dict[str, Any]]:
        """Every validation / human event and every undo, oldest first."""
        q = (select(T_EVENT.c.id, T_EVENT.c.item, T_EVENT.c.label, T_EVENT.c.source, T_EVENT.c.round,
                    T_EVENT.c.batch_id, T_EVENT.c.annotator, T_EVENT.c.channel, T_EVENT.c.seconds,
                    T_EVENT.c.created_at, T_EVENT.c.retracts)
             .where(T_EVENT.c.source != "auto").order_by(T_EVENT.c.id))
        return [dict(r._mapping) for r in conn.execute(q)]

    @staticmethod
    def auto_events(conn: Connection) -> list[dict[str, Any]]:
        q = (select(T_EVENT.c.id, T_EVENT.c.item, T_EVENT.c.label, T_EVENT.c.round, T_EVENT.c.score,
                    T_EVENT.c.threshold, T_EVENT.c.bound, T_EVENT.c.model_version, T_EVENT.c.created_at)
             .where(T_EVENT.c.source == "auto").order_by(T_EVENT.c.id))
        return [dict(r._mapping) for r in conn.execute(q)]

    @staticmethod
    def last_event_id(conn: Connection) -> int:
        return int(conn.execute(select(func.coalesce(func.max(T_EVENT.c.id), 0))).scalar() or 0)

    # ------------------------------------------------------------ rounds

    @staticmethod
    def insert_round(conn: Connection, row: dict[str, Any]) -> None:
        row = dict(row)
        for key in ("report", "retired_n", "retired_k"):
            row[key] = json.dumps(row[key], allow_nan=False)
        conn.execute(insert(T_ROUND).values(created_at=now_iso(), **row))

    @staticmethod
    def rounds(conn: Connection) -> list[dict[str, Any]]:
        out = []
        for r in conn.execute(select(T_ROUND).order_by(T_ROUND.c.round)):
            d = dict(r._mapping)
            for key in ("report", "retired_n", "retired_k"):
                d[key] = json.loads(d[key])
            out.append(d)
        return out

    @staticmethod
    def insert_retirements(conn: Connection, items: Sequence[int], round_: int) -> None:
        rows = [{"item": int(i), "round": int(round_)} for i in items]
        for start in range(0, len(rows), _CHUNK):
            conn.execute(insert(T_RETIRE), rows[start:start + _CHUNK])
            crash_point("step.write")

    @staticmethod
    def retirements(conn: Connection) -> list[int]:
        return [int(r[0]) for r in conn.execute(select(T_RETIRE.c.item))]

    # ------------------------------------------------------------ leases and skips (web page)

    @staticmethod
    def leases(conn: Connection, now: float) -> dict[int, str]:
        """Live leases: item → annotator (expired ones are ignored)."""
        q = select(T_LEASE.c.item, T_LEASE.c.annotator).where(T_LEASE.c.expires > now)
        return {int(i): a for i, a in conn.execute(q)}

    @staticmethod
    def set_lease(conn: Connection, item: int, annotator: str, expires: float) -> None:
        conn.execute(delete(T_LEASE).where(T_LEASE.c.item == int(item)))
        conn.execute(insert(T_LEASE).values(item=int(item), annotator=annotator, expires=float(expires)))

    @staticmethod
    def drop_leases(conn: Connection, *, item: int | None = None, annotator: str | None = None,
                    expired_before: float | None = None) -> None:
        q = delete(T_LEASE)
        if item is not None:
            q = q.where(T_LEASE.c.item == int(item))
        if annotator is not None:
            q = q.where(T_LEASE.c.annotator == annotator)
        if expired_before is not None:
            q = q.where(T_LEASE.c.expires <= expired_before)
        conn.execute(q)

    @staticmethod
    def add_skip(conn: Connection, batch_id: int, item: int, annotator: str) -> None:
        exists = conn.execute(select(func.count()).select_from(T_SKIP).where(
            T_SKIP.c.batch_id == int(batch_id), T_SKIP.c.item == int(item), T_SKIP.c.annotator == annotator)).scalar()
        if not exists:
            conn.execute(insert(T_SKIP).values(batch_id=int(batch_id), item=int(item), annotator=annotator))

    @staticmethod
    def skips(conn: Connection, annotator: str) -> set[int]:
        q = (select(T_SKIP.c.item).join(T_BATCH, T_BATCH.c.id == T_SKIP.c.batch_id)
             .where(T_SKIP.c.annotator == annotator, T_BATCH.c.status == "open"))
        return {int(r[0]) for r in conn.execute(q)}

    @staticmethod
    def clear_skips(conn: Connection, annotator: str) -> None:
        conn.execute(delete(T_SKIP).where(T_SKIP.c.annotator == annotator))

    # ------------------------------------------------------------ checks

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` (``"ok"``); PostgreSQL: ``"ok"`` if readable."""
        with self.read() as conn:
            if self.dialect == "sqlite":
                return str(conn.exec_driver_sql("PRAGMA integrity_check").scalar())
            conn.execute(select(func.count()).select_from(T_EVENT)).scalar()
            return "ok"


def _set_meta(conn: Connection, key: str, value: str) -> None:
    done = conn.execute(update(T_META).where(T_META.c.key == key).values(value=value)).rowcount
    if not done:
        conn.execute(insert(T_META).values(key=key, value=value))
