"""A durable labeling project: items in a folder, people answering batches, rounds run from the store.

A :class:`Project` is a folder with

* ``surelabel-project.json`` — marks the folder as a project (its id, and the database URL
  when that is not the SQLite file beside it);
* ``items.parquet`` — the items as given at ``init`` (ids, features, display fields);
  never changed afterwards;
* ``project.db`` — the store (:mod:`surelabel.store`), unless a PostgreSQL URL was given.

Everything that happens is an event in the store: every answer (validation or training, with
annotator, time and channel), every undo, every auto-label (with the model version, score,
threshold and bound that admitted it), every round (its report and stop reason) and every
batch of work (a numbered ticket). The current state is derived from those events, so the
command line, the web page and a restarted process all see the same thing.

A round runs the engine steps exactly as :class:`~surelabel.AutoLabeler` does
(:func:`~surelabel.engine.run_round`, :meth:`~surelabel.engine.LabelState.apply_round`,
:func:`~surelabel.engine.decide_next`, :func:`~surelabel.engine.choose_queries`) on a
:class:`~surelabel.engine.LabelState` rebuilt from the events, and writes what it decided in
one transaction. A project driven by a simulated annotator therefore ends with exactly the
labels of ``AutoLabeler(...).run(X, SimulatedOracle(y))`` with the same settings and seed.

Examples
--------
>>> import tempfile, pathlib
>>> from surelabel import datasets
>>> from surelabel.project import Project
>>> X, y = datasets.unit_ball(600, d=3, random_state=0)
>>> items = example_frame(X, y)
>>> folder = pathlib.Path(tempfile.mkdtemp()) / "proj"
>>> with Project.create(folder, items, id_column="id", feature_prefix="f", classes=["0", "1"],
...                     epsilon=0.1, budget=200, validation_size=120, seed=0) as p:
...     first = p.pending()
...     len(first), first[0].kind
(136, 'validation')
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid as uuidlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .crash import crash_point
from .engine import (
    AUTO,
    HUMAN,
    SOURCE_NAMES,
    VALIDATION,
    LabelState,
    TBALConfig,
    choose_queries,
    decide_next,
    initial_draw,
    run_round,
)
from .exceptions import InputError, SurelabelError
from .limits import MAX_FIELD, MAX_NAME, fit_budget, short
from .store import QUALITY_KINDS, ProjectBusyError, SchemaVersionError, Store

__all__ = [
    "Project",
    "ProjectError",
    "ProjectBusyError",
    "SchemaVersionError",
    "StaleAnswerError",
    "Answer",
    "PendingItem",
    "AnswersSummary",
    "StepResult",
    "PROJECT_FILE",
    "ITEMS_FILE",
    "DB_FILE",
    "is_project",
    "example_frame",
]

PROJECT_FILE = "surelabel-project.json"
ITEMS_FILE = "items.parquet"
DB_FILE = "project.db"
FORMAT = "surelabel-project"
LEASE_SECONDS = 300.0


class ProjectError(SurelabelError):
    """A project folder or one of its operations cannot be used as asked."""


class StaleAnswerError(ProjectError):
    """An answer for an item that is no longer (or not yet) waiting for one."""


@dataclass(frozen=True)
class PendingItem:
    """An item waiting for a human answer: which batch, which round, validation or training."""

    batch_id: int
    round: int
    kind: str
    index: int
    item_id: str
    position: int


@dataclass(frozen=True)
class Answer:
    """One human answer, as read from a file or sent by the web page.

    ``where`` names its origin in error messages (``"answers.csv, row 4"``).
    """

    item_id: str
    label: str
    annotator: str | None = None
    seconds: float | None = None
    where: str = ""


@dataclass(frozen=True)
class AnswersSummary:
    """What recording a set of answers did."""

    recorded: int
    unchanged: int
    corrected: int
    pending_left: int
    round_complete: bool
    event_ids: list[int] = field(default_factory=list)
    #: Corrections of auto-labels recorded as answers to a new ``review`` batch (Label Studio exports).
    reviewed: int = 0
    #: Answers a Label Studio export holds for items no batch waits for, by kind (see :data:`NOT_RECORDED`).
    not_recorded: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {"recorded": self.recorded, "unchanged": self.unchanged, "corrected": self.corrected,
               "pending_left": self.pending_left, "round_complete": self.round_complete}
        if self.reviewed or self.not_recorded:
            out.update(reviewed=self.reviewed, not_recorded=dict(self.not_recorded))
        return out


#: What the answers left out of a Label Studio export re-import are, in words (``AnswersSummary.not_recorded``).
NOT_RECORDED = {
    "closed_edits": "edit(s) of answers in closed rounds (not recorded: that round has run; "
                    "queue a review with surelabel review to change them)",
    "auto_confirmed": "annotation(s) agreeing with the auto-label (nothing to record)",
    "not_handed_out": "answer(s) for items no batch asked for (not recorded; surelabel import --replay "
                      "answers later rounds as they are run)",
}


@dataclass(frozen=True)
class StepResult:
    """What one round did."""

    round: int
    n_auto_labeled: int
    n_auto_labeled_total: int
    n_queried: int
    next_batch: int | None
    stop_reason: str | None
    coverage: float
    report: dict[str, Any]
    already_done: bool = False
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"round": self.round, "n_auto_labeled": self.n_auto_labeled,
                "n_auto_labeled_total": self.n_auto_labeled_total, "n_queried": self.n_queried,
                "next_batch": self.next_batch, "stop_reason": self.stop_reason, "coverage": self.coverage,
                "already_done": self.already_done, "report": self.report, "warnings": list(self.warnings)}


@dataclass
class _Snapshot:
    """Everything read from the store in one transaction."""

    current: dict[int, dict[str, Any]]  # item -> its current human event
    human: list[dict[str, Any]]
    auto: list[dict[str, Any]]
    rounds: list[dict[str, Any]]
    batches: list[dict[str, Any]]
    open_items: list[tuple[int, int, int]]  # (batch_id, item, position) of open batches
    retired: list[int]
    last_event: int
    spot: list[dict[str, Any]] = field(default_factory=list)  # answers to spot-check batches
    validation_items: list[int] = field(default_factory=list)  # every item ever drawn for validation

    def quality_batch_ids(self) -> set[int]:
        return {b["id"] for b in self.batches if b["kind"] in QUALITY_KINDS}

    def round_open_items(self) -> list[tuple[int, int, int]]:
        """The open items of the round's own batches (quality-check batches left out)."""
        q = self.quality_batch_ids()
        return [x for x in self.open_items if x[0] not in q]

    @property
    def round(self) -> int:
        return len(self.rounds)

    @property
    def stop_reason(self) -> str | None:
        return self.rounds[-1]["stop_reason"] if self.rounds else None


#: Folder inside the project where computed embeddings are cached (kept if init is re-run).
EMBEDDINGS_DIR = "embeddings"


def is_project(path: str | Path) -> bool:
    """Whether ``path`` is a project folder (it holds ``surelabel-project.json``)."""
    return (Path(path) / PROJECT_FILE).is_file()


def _busy_timeout() -> float:
    try:
        return float(os.environ.get("SURELABEL_BUSY_TIMEOUT", "10"))
    except ValueError:
        return 10.0


def _atomic_write(path: Path, data: bytes, *, mode: int = 0o666) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), mode), "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX); Windows cannot open a folder, and needs no such step."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _checked_name(value: Any, what: str) -> str | None:
    """An annotator name: ``None`` or text of at most :data:`~surelabel.limits.MAX_NAME` characters."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"The {what} must be a name (text), not {type(value).__name__}.")
    if len(value) > MAX_NAME:
        raise InputError(f"The {what} name is {len(value)} characters long; at most {MAX_NAME} are allowed.")
    return value


def _checked_answer(a: Any, source_name: str) -> Answer:
    """An :class:`Answer` whose fields have the right types, or an :class:`InputError` saying which does not."""
    if not isinstance(a, Answer):
        raise InputError(f"{source_name}: each answer must be an Answer(item_id, label), not {type(a).__name__}.")
    where = a.where or source_name
    if isinstance(a.item_id, bool) or not isinstance(a.item_id, (str, int, np.integer)):
        raise InputError(f"{where}: the item id must be text, not {type(a.item_id).__name__}.")
    label = a.label
    if isinstance(label, (int, np.integer)) and not isinstance(label, bool):
        label = str(label)
    if not isinstance(label, str):
        raise InputError(f"{where}: the label must be a class name (text), not {type(label).__name__} "
                         f"{short(label)}.")
    if len(label) > MAX_FIELD:
        raise InputError(f"{where}: the label is {len(label)} characters long; at most {MAX_FIELD} are allowed.")
    secs = a.seconds
    if secs is not None:
        if isinstance(secs, bool) or not isinstance(secs, (int, float, np.integer, np.floating)):
            raise InputError(f"{where}: labeling time must be a number of seconds, not {type(secs).__name__} "
                             f"{short(secs)}.")
        try:
            secs = float(secs)
        except OverflowError:
            secs = float("inf")
        if not np.isfinite(secs) or secs < 0:
            raise InputError(f"{where}: labeling time must be a number of seconds >= 0. Got {short(a.seconds)}.")
    _checked_name(a.annotator, f"annotator of {where}" if a.where else "annotator")
    if label is a.label and secs is a.seconds:
        return a
    return replace(a, label=label, seconds=secs)


class _ClassIndex(dict):
    """class name → code; a name that is not a class (a label event altered in the store) is named, not a KeyError."""

    def __init__(self, mapping: dict[str, int], path: Path) -> None:
        super().__init__(mapping)
        self.path = path

    def __missing__(self, key: Any) -> int:
        raise ProjectError(f"The store of {self.path} is damaged: it holds the label {short(key)}, which is not one "
                           f"of the project's classes ({', '.join(self)}); run surelabel check {self.path}.")


def _check_sqlite_file(url: str, path: Path) -> None:
    """Refuse a SQLite database file that is missing or empty, before a connection would create or fill it."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return  # Store names the malformed URL
    if parsed.get_backend_name() != "sqlite":
        return
    name = parsed.database or ""
    if not name or name == ":memory:" or name.startswith("file:"):
        raise ProjectError(f"{_safe_url(url)} is not a database file; give sqlite:///PATH of the project's database.")
    file = Path(name)
    if not file.is_file():
        raise ProjectError(f"{path} is not a usable project: its database {file} does not exist.")
    if file.stat().st_size == 0:
        raise ProjectError(f"The database {file} of {path} is empty (0 bytes): it was truncated or replaced; "
                           "restore it from a backup.")


def _open_schema(store: Store, path: Path) -> None:
    """Upgrade an older schema; refuse a database without one, or one whose schema was damaged."""
    if store.schema_version() == 0:
        raise ProjectError(f"The database of {path} holds no surelabel project (no schema); "
                           "give the project's own database or restore it from a backup.")
    store.migrate()
    problems = store.schema_problems()
    if problems:
        raise ProjectError(f"The database of {path} is damaged: {problems[0]}; run surelabel check {path}.")


#: Keys every stored configuration has (written by :meth:`Project.create`).
_CONFIG_KEYS = ("classes", "epsilon", "delta", "bound", "model", "budget", "validation_size", "seed_size",
                "batch_size", "score", "query", "seed", "id_column", "feature_columns")


def _config_problem(raw: str | None) -> str | None:
    """What is wrong with the stored configuration (meta ``config``), or ``None``."""
    if raw is None:
        return "its configuration (meta 'config') is missing"
    try:
        config = json.loads(raw)
    except ValueError:
        return "its configuration (meta 'config') is not valid JSON"
    if not isinstance(config, dict):
        return "its configuration (meta 'config') is not a JSON object"
    missing = [k for k in _CONFIG_KEYS if k not in config]
    if missing:
        return f"its configuration (meta 'config') lacks {', '.join(missing)}"
    classes = config["classes"]
    if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) for c in classes):
        return "its configuration (meta 'config') lists no valid classes"
    return None


def _check_meta(meta: dict[str, str], path: Path) -> None:
    problem = _config_problem(meta.get("config"))
    if problem is None and not str(meta.get("n_items", "")).isdigit():
        problem = "its item count (meta 'n_items') is missing or malformed"
    if problem:
        raise ProjectError(f"The store of {path} is damaged: {problem}; run surelabel check {path}.")


def _read_items(path: Path, id_column: str, n_stored: int) -> pd.DataFrame:
    """``items.parquet``, refused (one sentence) when unreadable or not the rows the store was made with."""
    file = path / ITEMS_FILE
    try:
        frame = pd.read_parquet(file)
    except Exception as exc:  # pyarrow raises its own error types for a damaged file
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ProjectError(f"{file} is damaged ({reason}); restore it from a backup.") from None
    if len(frame) != n_stored:
        raise ProjectError(f"{file} is damaged: it has {len(frame)} rows but the project has {n_stored} items; "
                           "restore it from a backup.")
    if id_column not in frame.columns:
        raise ProjectError(f"{file} is damaged: its id column {id_column!r} is missing; restore it from a backup.")
    return frame


def _check_create_args(classes: Any, seed: Any, id_column: Any) -> Sequence[Any]:
    """Refuse arguments of the wrong type before any file is read (the Python API's misuse, in a sentence)."""
    if isinstance(classes, str):
        raise InputError(f"classes must be a list of class names such as {classes.split(',')!r}, not the "
                         f"string {short(classes)}.")
    if isinstance(classes, (bytes, dict)) or not hasattr(classes, "__iter__"):
        raise InputError(f"classes must be a list of class names, not {type(classes).__name__}.")
    classes = list(classes)
    bad = [c for c in classes if not isinstance(c, (str, int, np.integer)) or isinstance(c, bool)]
    if bad:
        raise InputError(f"Each class must be a name (text or a whole number); got {short(bad[0])}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"The seed (--seed) must be a whole number >= 0. Got {short(seed)}.")
    if not isinstance(id_column, str) or not id_column:
        raise InputError(f"id_column (--id) must name a column of the items. Got {short(id_column)}.")
    return classes


def _start_build(path: Path) -> Path:
    """A fresh temporary folder beside ``path`` to build a project in (its parent made if missing).

    Its name holds this process's id, so the build of an ``init`` that was killed (and can
    never finish) is recognised and removed by the next ``init`` of the same folder (POSIX).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.init-*-*"):
        pid = stale.name.rsplit("-", 2)[-2]
        if stale.is_dir() and pid.isdigit() and not _alive(int(pid)):
            _abandon_build(stale)
    build = path.parent / f".{path.name}.init-{os.getpid()}-{uuidlib.uuid4().hex[:12]}"
    build.mkdir(mode=0o700)  # the items, answers and annotators are the owner's alone (chmod to share)
    return build


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (always True where that cannot be asked safely, e.g. Windows)."""
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but belongs to someone else
        return True
    return True


def _abandon_build(build: Path) -> None:
    """Remove a failed build (every file in it was made by this init)."""
    import shutil

    shutil.rmtree(build, ignore_errors=True)


def _finish_build(build: Path, path: Path) -> None:
    """Rename the complete project into place; an empty ``path`` (or one holding only the cache) is replaced."""
    if path.exists():
        cache = path / EMBEDDINGS_DIR
        if cache.is_dir():
            os.replace(cache, build / EMBEDDINGS_DIR)
        path.rmdir()
    try:
        os.replace(build, path)
    except OSError:
        raise ProjectError(f"{path} was made by another process meanwhile; choose a new project folder.") from None
    _fsync_dir(path.parent)


def _features_from(frame: pd.DataFrame, source: str, features: Sequence[str] | None,
                   prefix: str | None, exclude: dict[str, str | None] | None = None,
                   ) -> tuple[np.ndarray, list[str], str | None]:
    """``(X, feature columns, embedding column)``: numeric columns, or one column of vectors."""
    from .io import select_features

    if features and len(features) == 1 and features[0] in frame.columns and frame[features[0]].dtype == object:
        col = features[0]
        try:
            X = np.vstack([np.asarray(v, dtype=float).ravel() for v in frame[col]])
        except (TypeError, ValueError):
            X = None
        if X is not None and X.ndim == 2 and X.shape[0] == len(frame):
            bad = ~np.isfinite(X)
            if bad.any():
                row = int(np.argwhere(bad)[0][0])
                raise InputError(f"{source}, row {row + 1}, column {col!r}: missing or non-finite value in the vector.")
            return X, [col], col
    X, cols = select_features(frame, source, features=list(features) if features else None, prefix=prefix,
                              exclude=exclude)
    return X, cols, None


def _integral(label: str) -> str:
    """``"3.0"`` → ``"3"``: the text of a whole number that a float column wrote with a decimal point."""
    try:
        value = float(label)
    except (TypeError, ValueError):
        return label
    return str(int(value)) if value.is_integer() and "." in label else label


def _model_version(model: str, r: int, train_idx: np.ndarray, codes: np.ndarray) -> str:
    h = hashlib.sha256(np.ascontiguousarray(train_idx, dtype=np.int64).tobytes()
                       + np.ascontiguousarray(codes, dtype=np.int64).tobytes()).hexdigest()[:12]
    return f"{model}@round{r}:{h}"


def _finite(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


class Project:
    """A labeling project in a folder; open with :meth:`open`, make with :meth:`create`.

    Use it as a context manager (or call :meth:`close`) so the database connections close.
    """

    def __init__(self, path: Path, store: Store, meta: dict[str, str]) -> None:
        self.path = path
        self.store = store
        self.uuid = meta["project_uuid"]
        self.config: dict[str, Any] = json.loads(meta["config"])
        self.classes: list[str] = list(self.config["classes"])
        self.class_index: dict[str, int] = _ClassIndex({c: i for i, c in enumerate(self.classes)}, path)
        self._frame: pd.DataFrame | None = None
        self._X: np.ndarray | None = None
        self._ids: list[str] | None = None
        self._id_index: dict[str, int] | None = None
        self._n_stored = meta.get("n_items", "-1")

    # ------------------------------------------------------------------ opening

    @classmethod
    def create(
        cls,
        path: str | Path,
        items: str | Path | pd.DataFrame,
        *,
        id_column: str,
        classes: Sequence[str],
        features: Sequence[str] | None = None,
        feature_prefix: str | None = None,
        text: str | None = None,
        image: str | None = None,
        epsilon: float = 0.05,
        delta: float = 0.05,
        bound: str = "clopper-pearson",
        model: str = "logreg",
        budget: int,
        validation_size: int | None = None,
        seed_size: int | None = None,
        batch_size: int | None = None,
        score: str = "max_proba",
        query: str = "random",
        seed: int = 0,
        guarantee: str = "overall",
        db: str | None = None,
        featurizer: str | None = None,
        quiet: bool | None = None,
        cost: Any = None,
        media_roots: Sequence[str | Path] | None = None,
    ) -> Project:
        """Make a project folder from an items table (CSV / Parquet / JSONL file or DataFrame).

        Round 0's work is queued at once: the validation batch and the seed batch, drawn with
        ``seed`` exactly as :class:`~surelabel.AutoLabeler` draws them.

        With an ``image`` column every image path must resolve (symlinks followed) inside the
        items file's folder or one of ``media_roots`` (for a DataFrame: ``media_roots``, else the
        current folder); the web page serves files from nowhere else (:mod:`surelabel.media`).
        """
        from .io import check_unique_ids, read_table, select_column
        from .models import make_model

        path = Path(path)
        if path.exists() and (not path.is_dir() or any(p.name != EMBEDDINGS_DIR for p in path.iterdir())):
            raise ProjectError(f"{path} already exists and is not an empty folder; choose a new project folder.")
        classes = _check_create_args(classes, seed, id_column)
        if isinstance(items, pd.DataFrame):
            frame, source = items.reset_index(drop=True).copy(), "the items"
            frame.columns = [str(c) for c in frame.columns]
        elif isinstance(items, (str, Path)):
            frame, source = read_table(items, id_column=id_column), str(items)
        else:
            raise InputError(f"items must be a file path or a pandas DataFrame, not {type(items).__name__}.")
        ids = select_column(frame, id_column, source)
        check_unique_ids(ids, source, id_column)
        str_ids = ids.map(lambda v: v if isinstance(v, str) else str(v))  # verbatim: spaces and zeros kept
        if str_ids.duplicated().any():
            raise InputError(f"{source}: ids of column {id_column!r} are not unique once written as text.")
        long_ids = str_ids.str.len() > MAX_FIELD
        if long_ids.any():
            row = int(np.flatnonzero(long_ids.to_numpy())[0])
            raise InputError(f"{source}, row {row + 1}: the id in column {id_column!r} is "
                             f"{len(str_ids.iloc[row])} characters long; ids may have at most {MAX_FIELD}.")
        roots: list[str] = []
        if image:
            from .media import check_image_column, stored_roots

            select_column(frame, image, source)
            from_file = not isinstance(items, pd.DataFrame)
            base = Path(items).parent if from_file else Path.cwd()
            allowed = ([base] if from_file or media_roots is None else []) + list(media_roots or [])
            check_image_column(frame[image], ids=str_ids.tolist(), base=base, roots=allowed, project=path,
                               source=source)
            roots = stored_roots(allowed, path)
        featurizer_info = None
        if not features and not feature_prefix and (text or image):
            # raw items: embed the text or image column once; the vectors are stored with the items
            from .featurize import featurize_items

            if text and image:
                raise InputError("Give at most one of --text COL and --image COL.")
            base = Path(items).parent if not isinstance(items, pd.DataFrame) else Path.cwd()
            emb = featurize_items(frame, id_column=id_column, text=text, image=image, featurizer=featurizer,
                                  cache_dir=path / EMBEDDINGS_DIR,
                                  base_dir=base, source=source, quiet=quiet)
            frame["embedding"] = [np.asarray(v, dtype=float) for v in emb.X]
            features = ["embedding"]
            featurizer_info = {"name": emb.featurizer, "version": emb.version, "key": emb.key, "dim": int(emb.dim)}
        elif featurizer:
            raise InputError("--featurizer needs raw items (--text COL or --image COL) and no feature columns.")
        X, feature_cols, embedding = _features_from(frame, source, features, feature_prefix,
                                                    exclude={"id": id_column, "text": text, "image": image})
        for col in (text, image):
            if col:
                select_column(frame, col, source)
        if text and image:
            raise InputError("Give at most one of --text COL and --image COL.")
        classes = [str(c).strip() for c in classes]
        if any(len(c) > MAX_FIELD for c in classes):
            raise InputError(f"Class names may have at most {MAX_FIELD} characters.")
        if len(classes) < 2 or any(not c for c in classes):
            raise InputError(f"Give at least two non-empty classes (e.g. --classes cat,dog). Got {classes}.")
        if len(set(classes)) != len(classes):
            raise InputError(f"Classes must be unique. Got {classes}.")
        make_model(model, seed)  # unknown names fail here
        if cost is not None:  # a CostModel: its per-class table must name exactly these classes
            if getattr(cost, "mode", None) == "per-class":
                cost.check_classes(classes)
            cost = cost.to_dict()
        budget = fit_budget(budget, len(frame))  # more labels than items can never be bought
        config = {
            "classes": classes, "epsilon": float(epsilon), "delta": float(delta), "bound": bound, "model": model,
            "budget": budget, "validation_size": validation_size, "seed_size": seed_size,
            "batch_size": batch_size, "score": score, "query": query, "seed": int(seed), "guarantee": guarantee,
            "id_column": id_column, "feature_columns": feature_cols, "text_column": text, "image_column": image,
            "embedding_column": embedding, "featurizer": featurizer_info, "cost": cost,
        }
        if image:
            config["media_roots"] = roots
        tbal = _tbal_config(config)
        config.update(validation_size=tbal.validation_size, seed_size=tbal.seed_size, batch_size=tbal.batch_size)
        n = X.shape[0]
        val_idx, seed_idx = initial_draw(tbal, np.arange(n), np.ones(n, dtype=bool))

        if image:
            base = Path(items).parent if not isinstance(items, pd.DataFrame) else Path.cwd()
            frame[image] = [None if pd.isna(v) else _relative_image(base, str(v), path) for v in frame[image]]
        # built in a temporary sibling folder, renamed into place only when complete: a failed init
        # (a bad --db, an unreachable server) leaves nothing that blocks a retry
        build = _start_build(path)
        try:
            tmp = build / (ITEMS_FILE + ".tmp")
            frame.to_parquet(tmp, index=False)
            os.replace(tmp, build / ITEMS_FILE)
            project_uuid = str(uuidlib.uuid4())
            if db is None:  # made 0600 before SQLite opens it; its -wal and -shm files take the same mode
                os.close(os.open(build / DB_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            url = db or f"sqlite:///{(build / DB_FILE).resolve()}"
            store = Store(url, busy_timeout=_busy_timeout(), label=str(path))
        except BaseException:
            _abandon_build(build)
            raise
        try:
            store.migrate()
            store.set_project_key(project_uuid)
            from . import __version__

            with store.write() as conn:
                existing = store.get_meta(conn)
                if "project_uuid" in existing:
                    raise ProjectError(
                        f"The database {_safe_url(url)} already holds a surelabel project; give an empty database."
                    )
                for key, value in (("project_uuid", project_uuid), ("config", json.dumps(config)),
                                   ("created_at", _now()), ("created_by", f"surelabel {__version__}"),
                                   ("n_items", str(n))):
                    store.set_meta(conn, key, value)
                store.insert_items(conn, str_ids.tolist())
                if val_idx.size:
                    store.create_batch(conn, 0, "validation", val_idx.tolist())
                if seed_idx.size:
                    store.create_batch(conn, 0, "training", seed_idx.tolist())
        except BaseException:
            store.close()
            _abandon_build(build)
            raise
        try:
            # never a secret on disk: the URL is kept without its password (PGPASSWORD, ~/.pgpass,
            # SURELABEL_DB or a prompt supply it later), and the file is readable by its owner only
            marker = {"format": FORMAT, "version": 1, "uuid": project_uuid,
                      "db": None if db is None else without_password(db)}
            _atomic_write(build / PROJECT_FILE, (json.dumps(marker, indent=2) + "\n").encode(), mode=0o600)
            store.close()
            _finish_build(build, path)
        except BaseException:
            store.close()
            _abandon_build(build)
            raise
        return cls.open(path, db=db)

    @classmethod
    def open(cls, path: str | Path, *, db: str | None = None) -> Project:
        """Open an existing project folder (``db`` overrides the database it names)."""
        path = Path(path)
        if not path.exists():
            raise ProjectError(f"Project folder {path} does not exist; create it with surelabel init.")
        if not path.is_dir():
            raise ProjectError(f"{path} is not a folder; give a project folder made by surelabel init.")
        marker_path = path / PROJECT_FILE
        if not marker_path.is_file():
            raise ProjectError(
                f"{path} is not a surelabel project (no {PROJECT_FILE}); create one with surelabel init."
            )
        try:
            marker = json.loads(marker_path.read_text(encoding="utf-8"))
            if not isinstance(marker, dict) or marker.get("format") != FORMAT:
                raise ValueError("not a project file")
        except (ValueError, UnicodeDecodeError):
            raise ProjectError(f"{marker_path} is damaged (not a surelabel project file).") from None
        url = db or os.environ.get("SURELABEL_DB") or marker.get("db") or f"sqlite:///{(path / DB_FILE).resolve()}"
        if url.startswith("sqlite") and not db and not marker.get("db") and not (path / DB_FILE).is_file():
            raise ProjectError(f"{path} is not a usable project: its database {DB_FILE} is missing.")
        _check_sqlite_file(url, path)  # never let opening create (or write a schema into) a database file
        store = Store(url, busy_timeout=_busy_timeout(), label=str(path))
        try:
            _open_schema(store, path)
            with store.read() as conn:
                meta = store.get_meta(conn)
            if meta.get("project_uuid") != marker.get("uuid"):
                raise ProjectError(f"The database {_safe_url(url)} does not belong to the project in {path}.")
            store.set_project_key(meta["project_uuid"])
            if not (path / ITEMS_FILE).is_file():
                raise ProjectError(f"{path} is not a usable project: {ITEMS_FILE} is missing.")
            _check_meta(meta, path)
            return cls(path, store, meta)
        except BaseException:
            store.close()
            raise

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ items

    @property
    def tbal_config(self) -> TBALConfig:
        return _tbal_config(self.config)

    @property
    def frame(self) -> pd.DataFrame:
        """The items, as given at ``init`` (refused if ``items.parquet`` no longer matches the store)."""
        if self._frame is None:
            self._frame = _read_items(self.path, self.config["id_column"], int(self._n_stored))
        return self._frame

    @property
    def X(self) -> np.ndarray:
        if self._X is None:
            cols = self.config["feature_columns"]
            if self.config.get("embedding_column"):
                self._X = np.vstack([np.asarray(v, dtype=float).ravel() for v in self.frame[cols[0]]])
            else:
                self._X = np.ascontiguousarray(self.frame[cols].to_numpy(dtype=float))
        return self._X

    @property
    def item_ids(self) -> list[str]:
        if self._ids is None:
            self._ids = self.frame[self.config["id_column"]].astype(str).tolist()
        return self._ids

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def index_of(self, item_id: Any) -> int | None:
        """The row of the item whose id is exactly ``item_id`` (text compared byte for byte; no trimming)."""
        if self._id_index is None:
            self._id_index = {v: i for i, v in enumerate(self.item_ids)}
        if not isinstance(item_id, str):
            if isinstance(item_id, (bool, float, dict, list, tuple, set)) or item_id is None:
                return None
            item_id = str(item_id)
        return self._id_index.get(item_id)

    def display(self, index: int) -> dict[str, Any]:
        """What a person sees of an item: its id and its text, image path or feature values."""
        row = self.frame.iloc[int(index)]
        out: dict[str, Any] = {"id": self.item_ids[index]}
        text, image = self.config.get("text_column"), self.config.get("image_column")
        if text:
            out["text"] = None if pd.isna(row[text]) else str(row[text])
        elif image:
            out["image"] = None if pd.isna(row[image]) else str(row[image])
        else:
            cols = self.config["feature_columns"]
            if self.config.get("embedding_column"):
                vec = np.asarray(row[cols[0]], dtype=float).ravel()
                out["fields"] = {f"{cols[0]}[{i}]": round(float(v), 4) for i, v in enumerate(vec[:24])}
            else:
                out["fields"] = {c: _plain(row[c]) for c in cols[:24]}
        return out

    def image_path(self, index: int, *, media_roots: Sequence[str | Path] = ()) -> Path | None:
        """The item's image file, resolved (symlinks followed); ``None`` when it has none or a URL.

        Raises :class:`~surelabel.media.MediaPathError` when the file lies outside the folders
        allowed at ``init`` (and ``media_roots``, e.g. ``serve --media-root``) or inside the
        project folder: such a file is never handed out.
        """
        from .media import MediaPathError, is_inside, is_url, project_roots

        image = self.config.get("image_column")
        if not image:
            return None
        value = self.frame.iloc[int(index)][image]
        if value is None or pd.isna(value) or is_url(str(value)):
            return None
        p = Path(str(value))
        p = (p if p.is_absolute() else (self.path / p)).resolve()
        if not is_inside(p, project_roots(self.config, self.path, media_roots), forbidden=[self.path]):
            raise MediaPathError(
                f"The image of item {self.item_ids[index]!r} is outside the folders images may be served from; "
                "if it is meant to be shown, serve with --media-root FOLDER."
            )
        return p

    # ------------------------------------------------------------------ reading state

    def _snapshot(self, conn: Any, *, with_auto: bool = True) -> _Snapshot:
        """Read everything a decision needs in one transaction (auto-labels only when asked)."""
        st = self.store
        human = st.human_events(conn)
        batches = st.batches(conn)
        kinds = st.quality_kinds(conn)
        for b in batches:  # a quality-check batch's own kind (its batch row says training)
            b["kind"] = kinds.get(b["id"], b["kind"])
        open_ids = [b["id"] for b in batches if b["status"] == "open"]
        val_ids = [b["id"] for b in batches if b["kind"] == "validation"]
        return _Snapshot(current=_current_labels(human), human=human,
                         validation_items=[item for _, item, _ in st.batch_items(conn, val_ids)],
                         auto=st.auto_events(conn) if with_auto else [], rounds=st.rounds(conn),
                         batches=batches, open_items=st.batch_items(conn, open_ids),
                         retired=st.retirements(conn) if with_auto else [], last_event=st.last_event_id(conn),
                         spot=st.spot_checks(conn) if kinds else [])

    def _light_snapshot(self, conn: Any) -> _Snapshot:
        """The snapshot without the auto-labels (enough to record answers)."""
        return self._snapshot(conn, with_auto=False)

    def _state(self, snap: _Snapshot) -> LabelState:
        """The engine's :class:`LabelState`, rebuilt from the events."""
        K = len(self.classes)
        state = LabelState.empty(self.n_items, K)
        for item, e in snap.current.items():
            state.codes[item] = self.class_index[e["label"]]
            state.source[item] = VALIDATION if e["source"] == "validation" else HUMAN
            state.rounds[item] = e["round"]
            if e["source"] == "validation":
                state.val_active[item] = True
        for a in snap.auto:
            i = a["item"]
            cur = snap.current.get(i)
            if cur is not None and cur["id"] > a["id"]:
                continue  # reviewed by a person after it was auto-labeled: the latest event counts
            state.codes[i] = self.class_index[a["label"]]
            state.source[i] = AUTO
            state.rounds[i] = a["round"]
            state.scores[i] = np.nan if a["score"] is None else a["score"]
        # A validation item nobody answered (skipped, or returned by a partial round) stays validation: out of
        # the pool for good, and an error wherever it falls (code -1 matches no prediction). Validation stays the
        # uniform sample the bound needs, whatever people chose to skip.
        drawn = np.asarray(snap.validation_items, dtype=np.intp)
        if drawn.size:
            missing = drawn[state.codes[drawn] < 0]
            state.in_pool[missing] = False
            state.val_active[missing] = True
        if snap.retired:
            state.val_active[np.asarray(snap.retired, dtype=np.intp)] = False
        for r in snap.rounds:
            state.retired_n += np.asarray(r["retired_n"], dtype=np.int64)
            state.retired_k += np.asarray(r["retired_k"], dtype=np.int64)
            state.delta_spent += float(r["report"].get("delta") or 0.0)
        return state

    def _pending(self, snap: _Snapshot) -> list[PendingItem]:
        info = {b["id"]: b for b in snap.batches}
        spot_done = {(e["batch_id"], e["item"]) for e in snap.spot}
        out = []
        for batch_id, item, pos in snap.open_items:
            b = info[batch_id]
            if b["kind"] == "spot-check":
                if (batch_id, item) in spot_done:
                    continue
            elif b["kind"] == "review":
                cur = snap.current.get(item)
                if cur is not None and cur["batch_id"] == batch_id:
                    continue
            elif item in snap.current:
                continue
            out.append(PendingItem(batch_id, b["round"], b["kind"], item, self.item_ids[item], pos))
        out.sort(key=lambda p: (p.kind != "validation", p.batch_id, p.position))
        return out

    def pending(self) -> list[PendingItem]:
        """Items waiting for an answer: validation first, then training, in batch order."""
        with self.store.read() as conn:
            return self._pending(self._light_snapshot(conn))

    # ------------------------------------------------------------------ answers

    def record_answers(self, answers: Sequence[Answer], *, channel: str = "python",
                       annotator: str | None = None, source_name: str = "the answers") -> AnswersSummary:
        """Record human answers in one transaction: all of them, or (on any error) none.

        An answer repeating an item's current label changes nothing (so a file can be imported
        twice); a different label for an item of a batch that is still open corrects it. An
        answer for an item that no open batch holds is refused, naming the item.
        """
        if isinstance(answers, (str, bytes, Answer)) or not isinstance(answers, Sequence):
            raise InputError(f"answers must be a list of Answer objects, not {type(answers).__name__}.")
        if not answers:
            raise InputError(f"{source_name} hold no answers.")
        annotator = _checked_name(annotator, "annotator")
        seen: dict[str, str] = {}
        resolved: list[tuple[Answer, int]] = []
        for a in answers:
            a = _checked_answer(a, source_name)
            where = a.where or source_name
            idx = self.index_of(a.item_id)
            if idx is None:
                raise InputError(f"{where}: unknown item id {short(a.item_id)}; it is not one of the project's "
                                 "items.")
            if a.label not in self.class_index and _integral(a.label) in self.class_index:
                a = replace(a, label=_integral(a.label))  # "3.0": a whole number written by a float column
            if a.label not in self.class_index:
                raise InputError(f"{where}: unknown class {short(a.label)} for item {short(a.item_id)}; "
                                 f"classes: {', '.join(self.classes)}.")
            if str(a.item_id) in seen:
                raise InputError(f"{where}: item {a.item_id!r} is answered twice (first at {seen[str(a.item_id)]}).")
            seen[str(a.item_id)] = where
            if a.seconds is not None and (not np.isfinite(a.seconds) or a.seconds < 0):
                raise InputError(f"{where}: labeling time must be a number of seconds >= 0. Got {a.seconds!r}.")
            resolved.append((a, idx))
        with self.store.write() as conn:
            snap = self._light_snapshot(conn)
            if any(b["kind"] == "spot-check" and b["status"] == "open" for b in snap.batches):
                snap.auto = self.store.auto_events(conn)
            info = {b["id"]: b for b in snap.batches}
            open_of = {item: batch_id for batch_id, item, _ in snap.open_items}
            rows: list[dict[str, Any]] = []
            unchanged = corrected = 0
            spot_rows: list[dict[str, Any]] = []
            pend = {p.index: p for p in self._pending(snap)}
            spotted = {e["item"]: e for e in snap.spot}  # the latest spot-check answer per item
            for a, idx in resolved:
                cur = snap.current.get(idx)
                b = info[open_of[idx]] if idx in open_of else None
                if b is not None and b["kind"] in QUALITY_KINDS:
                    prev = spotted.get(idx) if b["kind"] == "spot-check" else cur
                    answered_here = idx not in pend
                    if answered_here and prev is not None and prev["label"] == a.label:
                        unchanged += 1
                        continue
                    corrected += int(answered_here)  # a different answer while the check is open corrects it
                    kind_row = self._quality_row(snap, b, idx, a.label, a.annotator or annotator, channel, a.seconds)
                    (spot_rows if b["kind"] == "spot-check" else rows).append(kind_row)
                    continue
                if cur is None and idx in spotted and spotted[idx]["label"] == a.label:
                    unchanged += 1  # a spot-check answer imported again after its batch is done
                    continue
                if cur is not None and cur["label"] == a.label:
                    unchanged += 1
                    continue
                if idx not in open_of:
                    raise StaleAnswerError(f"{a.where or source_name}: item {a.item_id!r} is not in any pending batch"
                                           f" ({self._why_not_pending(conn, snap, idx)}).")
                if cur is not None:
                    corrected += 1
                b = info[open_of[idx]]
                rows.append({"item": idx, "label": a.label, "source": "validation" if b["kind"] == "validation"
                             else "human", "round": b["round"], "batch_id": b["id"],
                             "annotator": a.annotator or annotator, "channel": channel, "seconds": a.seconds})
            self.store.insert_events(conn, rows, crash="answers.write")
            if spot_rows:
                self.store.insert_spot_checks(conn, spot_rows)
            answered = {r["item"] for r in rows} | {r["item"] for r in spot_rows}
            left = sum(1 for p in pend.values() if p.index not in answered)
            self._close_finished_checks(conn, snap, pend, answered)
            first = self.store.last_event_id(conn) - len(rows) + 1
            crash_point("answers.commit")
        crash_point("answers.done")
        return AnswersSummary(recorded=len(rows) + len(spot_rows) - corrected, unchanged=unchanged,
                              corrected=corrected,
                              pending_left=left, round_complete=left == 0 and bool(snap.open_items),
                              event_ids=list(range(first, first + len(rows))))

    def _close_finished_checks(self, conn: Any, snap: _Snapshot, pend: dict[int, PendingItem],
                               answered: set[int]) -> None:
        """Mark quality-check batches whose every item is now answered as done."""
        q = snap.quality_batch_ids()
        touched = {p.batch_id for p in pend.values() if p.batch_id in q and p.index in answered}
        done = [b for b in touched if not any(p.batch_id == b and p.index not in answered for p in pend.values())]
        self.store.close_batches(conn, sorted(done), "done")

    def _quality_row(self, snap: _Snapshot, b: dict[str, Any], idx: int, label: str, annotator: str | None,
                     channel: str, seconds: float | None) -> dict[str, Any]:
        """The row an answer to a quality-check batch writes.

        Spot checks: a ``spot_check`` row (never a label event, so never used to train or
        validate). Reviews: a new label event; a validation label stays validation, anything
        else becomes a human label; the old event stays in the history.
        """
        if b["kind"] == "spot-check":
            auto = next((a["label"] for a in reversed(snap.auto) if a["item"] == idx), None)
            return {"batch_id": b["id"], "item": idx, "label": label, "auto_label": auto,
                    "annotator": annotator, "channel": channel, "seconds": seconds}
        cur = snap.current.get(idx)
        source = "validation" if cur is not None and cur["source"] == "validation" else "human"
        return {"item": idx, "label": label, "source": source, "round": b["round"], "batch_id": b["id"],
                "annotator": annotator, "channel": channel, "seconds": seconds}

    def _why_not_pending(self, conn: Any, snap: _Snapshot, idx: int) -> str:
        cur = snap.current.get(idx)
        if cur is not None:
            return f"it was already labeled {cur['label']!r} in round {cur['round']} and that batch is closed"
        auto = [a for a in self.store.auto_events(conn) if a["item"] == idx]
        if auto:
            return f"it was auto-labeled in round {auto[0]['round']}"
        if snap.stop_reason:
            return f"the project has stopped: {snap.stop_reason}"
        return "it has not been handed out; see surelabel next"

    def import_answers(self, path: str | Path, *, annotator: str | None = None) -> AnswersSummary:
        """Read an answers file (CSV, JSONL or a Label Studio JSON export) and record it, all or nothing.

        A CSV or JSONL file is strict: an answer for an item no batch waits for is refused. A
        Label Studio export is the whole project as people see it, so it is read leniently:
        what batches wait for is recorded; an annotation that differs from an item's auto-label
        is a correction, recorded as the answer to a new ``review`` batch (the old auto-label
        stays in the history); edits of closed rounds' answers, annotations agreeing with an
        auto-label and answers for items never handed out are counted in
        ``AnswersSummary.not_recorded`` and left alone.
        """
        from .exchange import read_answers

        answers, channel = read_answers(path, self)
        if channel != "labelstudio":
            return self.record_answers(answers, channel=channel, annotator=annotator, source_name=str(path))
        return self._import_export(answers, channel=channel, annotator=annotator, source_name=str(path))

    def _import_export(self, answers: list[Answer], *, channel: str, annotator: str | None,
                       source_name: str) -> AnswersSummary:
        """The lenient import of a full Label Studio export (see :meth:`import_answers`).

        Everything :meth:`record_answers` checks is checked before the review batch is made, so a
        mistake leaves no batch behind.
        """
        annotator = _checked_name(annotator, "annotator")
        for a in answers:
            _checked_answer(a, source_name)
        resolved = []
        for a in answers:
            idx = self.index_of(a.item_id)
            label = _integral(a.label) if a.label not in self.class_index else a.label
            if idx is None or label not in self.class_index:  # the strict path names the mistake
                return self.record_answers(answers, channel=channel, annotator=annotator, source_name=source_name)
            resolved.append((a, idx, label))
        with self.store.read() as conn:
            snap = self._light_snapshot(conn)
            auto_events = self.store.auto_events(conn)
        open_items = {item for _, item, _ in snap.open_items}
        latest_auto: dict[int, dict[str, Any]] = {}
        for e in auto_events:
            if e["item"] not in latest_auto or e["id"] > latest_auto[e["item"]]["id"]:
                latest_auto[e["item"]] = e
        spotted = {e["item"]: e["label"] for e in snap.spot}
        keep: list[Answer] = []
        corrections: list[tuple[Answer, int]] = []
        skipped = {k: 0 for k in NOT_RECORDED}
        for a, idx, label in resolved:
            cur = snap.current.get(idx)
            auto = latest_auto.get(idx)
            if idx in open_items:
                keep.append(a)
            elif auto is not None and (cur is None or cur["id"] < auto["id"]):
                if auto["label"] == label:
                    skipped["auto_confirmed"] += 1
                else:
                    corrections.append((a, idx))
            elif cur is not None:
                if cur["label"] == label:
                    keep.append(a)  # counted as unchanged
                else:
                    skipped["closed_edits"] += 1
            elif spotted.get(idx) == label:
                keep.append(a)
            else:
                skipped["not_handed_out"] += 1
        not_recorded = {k: v for k, v in skipped.items() if v}
        if corrections:
            with self.store.write() as conn:
                round_ = len(self.store.rounds(conn))
                self.store.create_quality_batch(conn, round_, "review", [idx for _, idx in corrections])
            keep.extend(a for a, _ in corrections)
        if not keep:
            left = len(self.pending())
            return AnswersSummary(recorded=0, unchanged=0, corrected=0, pending_left=left, round_complete=False,
                                  not_recorded=not_recorded)
        summary = self.record_answers(keep, channel=channel, annotator=annotator, source_name=source_name)
        return replace(summary, reviewed=len(corrections), not_recorded=not_recorded)

    # ------------------------------------------------------------------ rounds

    def step(self, *, partial: bool = False, expect_round: int | None = None,
             lock_timeout: float | None = None) -> StepResult:
        """Run one round with the answers received so far, and queue the next batch.

        Refuses while the round's batches still have unanswered items, unless ``partial``:
        then they are closed and their unanswered items go back to the pool. A round that
        another process ran meanwhile (``expect_round``, by default the current round when the
        call starts) is reported with ``already_done=True``, not run twice.
        """
        from .loop import round_report
        from .models import make_model

        cfg = self.tbal_config
        if expect_round is None:  # the round this call is for: if another process runs it meanwhile, say so
            with self.store.read() as conn:
                expect_round = len(self.store.rounds(conn))
        with self.store.step_lock(lock_timeout):
            for _attempt in range(5):
                with self.store.read() as conn:
                    snap = self._snapshot(conn)
                r = snap.round
                if r != expect_round:
                    return self._done_result(snap, expect_round)
                if snap.stop_reason:
                    raise ProjectError(f"Project {self.path} has stopped ({snap.stop_reason}); "
                                       "nothing more to run. Export the labels with surelabel export.")
                quality = snap.quality_batch_ids()
                pending = [p for p in self._pending(snap) if p.batch_id not in quality]
                round_items = snap.round_open_items()
                open_batches = sorted({b for b, _, _ in round_items})
                if pending and partial and len(pending) == len(round_items):
                    raise ProjectError(f"Round {r} has no answers yet; import some before running it.")
                if pending and not partial:
                    ids = ", ".join(repr(p.item_id) for p in pending[:3]) + (" …" if len(pending) > 3 else "")
                    raise ProjectError(
                        f"Round {r} still has {len(pending)} unanswered item(s) ({ids}); import their answers "
                        "first, or pass --partial to run the round now and return them to the pool.")
                warnings = self._validation_noise_warning() if r == 0 else ()
                state = self._state(snap)
                outcome = run_round(cfg, make_model(self.config["model"], cfg.seed), self.X, state, r)
                state.apply_round(outcome)
                stop_reason, b = decide_next(cfg, state, outcome)
                queried = choose_queries(cfg, outcome, b) if not stop_reason else np.empty(0, dtype=np.intp)
                report = round_report(outcome, state, self.classes, int(queried.size)).to_dict()
                train_idx = np.flatnonzero(state.source == HUMAN)
                version = _model_version(self.config["model"], r, train_idx, state.codes[train_idx])
                est = outcome.estimate
                rows = []
                for i, code, s in zip(outcome.auto_indices, outcome.auto_codes, outcome.auto_scores):
                    rows.append({"item": int(i), "label": self.classes[int(code)], "source": "auto", "round": r,
                                 "channel": "engine", "model_version": version, "score": _finite(s),
                                 "threshold": _finite(est.thresholds[int(code)]) if est else None,
                                 "bound": _cert_bound(est, int(code))})
                crash_point("step.compute")
                with self.store.write() as conn:
                    if self.store.last_event_id(conn) != snap.last_event or len(self.store.rounds(conn)) != r:
                        continue  # an answer, an undo or another round arrived meanwhile: compute again
                    self.store.close_batches(conn, open_batches, "closed" if pending else "done")
                    self.store.insert_events(conn, rows, crash="step.write")
                    self.store.insert_retirements(conn, outcome.retired_indices.tolist(), r)
                    self.store.insert_round(conn, {
                        "round": r, "model_version": version if outcome.estimate is not None else None,
                        "n_train": int(outcome.n_train), "stop_reason": stop_reason or None, "report": _json(report),
                        "retired_n": outcome.retired_n.tolist(), "retired_k": outcome.retired_k.tolist(),
                        "partial": int(bool(pending)),
                    })
                    next_batch = None
                    if queried.size:
                        next_batch = self.store.create_batch(conn, r + 1, "training", [int(i) for i in queried])
                    crash_point("step.commit")
                crash_point("step.done")
                return StepResult(round=r, n_auto_labeled=len(rows), n_auto_labeled_total=state.n_auto,
                                  n_queried=int(queried.size), next_batch=next_batch,
                                  stop_reason=stop_reason or None, coverage=report["coverage"], report=_json(report),
                                  warnings=warnings)
            raise ProjectBusyError(f"Project {self.path} is busy: answers keep arriving while the round is computed; "
                                   "try again when they stop.")

    def _validation_noise_warning(self) -> tuple[str, ...]:
        """Before the first thresholds are certified: do the validation labels look noisy?

        The certificate holds for the labels people gave; if many of them look wrong (confident
        learning on out-of-fold predictions, :func:`surelabel.project_quality.audit`), say so
        and how to re-review them. Advice only: the round runs either way.
        """
        from .project_quality import audit

        try:
            _, summary = audit(self)
        except (InputError, ValueError):  # too few labels per class to cross-validate: nothing to say
            return ()
        if not summary.noisy:
            return ()
        return (f"{summary.message} Re-review them before trusting the bound: surelabel audit {self.path} --queue.",)

    def _done_result(self, snap: _Snapshot, r: int) -> StepResult:
        row = next((x for x in snap.rounds if x["round"] == r), None)
        report = row["report"] if row else {}
        return StepResult(round=r, n_auto_labeled=int(report.get("n_auto_labeled", 0)),
                          n_auto_labeled_total=int(report.get("n_auto_labeled_total", 0)),
                          n_queried=int(report.get("n_queried", 0)), next_batch=None,
                          stop_reason=row["stop_reason"] if row else None,
                          coverage=float(report.get("coverage", 0.0)), report=report, already_done=True)

    # ------------------------------------------------------------------ reports

    def status(self) -> dict[str, Any]:
        """Coverage, the certified bound per class, labels spent and left, pending work, stop reason.

        With prices set at ``init`` (``cost``), also the money spent: validation, training, total
        and per auto-label; a price per second charges each answer's recorded labeling time (an
        answer without one is charged the mean of the others).
        """
        with self.store.read() as conn:
            snap = self._snapshot(conn)
        status = self._status(snap)
        status["cost"] = self._cost() if self.config.get("cost") else None
        return status

    def _cost(self) -> dict[str, Any]:
        from types import SimpleNamespace

        from .cost import CostModel, result_cost

        model = CostModel.from_dict(self.config["cost"])
        labels = self.labels()
        source = labels["source"].astype(str).to_numpy()
        times = None
        if model.mode == "per-second":
            times = pd.to_numeric(labels["seconds"], errors="coerce").to_numpy(dtype=float)
            human = np.isin(source, ["human", "validation"])
            seen = times[human & np.isfinite(times)]
            fill = float(seen.mean()) if seen.size else (model.default_seconds or 0.0)
            times = np.where(human & ~np.isfinite(times), fill, times)
        run = SimpleNamespace(labels=labels["label"].to_numpy(dtype=object), source=source,
                              n_auto=int((source == "auto").sum()))
        out = result_cost(run, model, times=times)
        return {k: round(v, 10) if isinstance(v, float) else v for k, v in out.items()}

    def _status(self, snap: _Snapshot) -> dict[str, Any]:
        cfg = self.tbal_config
        state = self._state(snap)
        n_val = int((state.source == VALIDATION).sum())
        n_train = int((state.source == HUMAN).sum())
        reports = [r["report"] for r in snap.rounds]
        per_class = []
        for i, c in enumerate(self.classes):
            # the latest round that certified the class. Its per-class certified bound exists only under the
            # per-class promise; otherwise the class shows its validation estimate with an interval (an estimate)
            cert = next((r for r in reversed(reports) if r["thresholds"].get(c) is not None), None)
            ce = {} if cert is None else (cert.get("class_estimates") or {}).get(c, {})
            per_class.append({
                "class": c,
                "threshold": None if cert is None else cert["thresholds"].get(c),
                "certified_bound": None if cert is None else cert["upper_bounds"].get(c),
                "estimate": ce.get("estimate"),
                "estimate_interval": ce.get("interval"),
                "certified_in_round": None if cert is None else cert["round"],
                "auto_labeled": int(((state.source == AUTO) & (state.codes == i)).sum()),
                "human_labeled": int((((state.source == HUMAN) | (state.source == VALIDATION))
                                      & (state.codes == i)).sum()),
            })
        info = {b["id"]: b for b in snap.batches}
        pending_batches = []
        waiting = {(p.batch_id, p.index) for p in self._pending(snap)}
        for bid in sorted({b for b, _, _ in snap.open_items}):
            items = [it for b, it, _ in snap.open_items if b == bid]
            pending_batches.append({"batch": bid, "round": info[bid]["round"], "kind": info[bid]["kind"],
                                    "size": len(items), "answered": sum(1 for it in items if (bid, it) not in waiting)})
        n = self.n_items
        return {
            "project": str(self.path),
            "n_items": n,
            "classes": list(self.classes),
            "round": snap.round,
            "coverage": state.n_auto / n if n else 0.0,
            "n_auto": state.n_auto,
            "n_unlabeled": int((state.source == 0).sum()),
            "human_labels": {"validation": n_val, "training": n_train, "total": n_val + n_train},
            "budget": cfg.budget,
            "budget_left": cfg.budget - (n_val + n_train),
            "pending": sum(p["size"] - p["answered"] for p in pending_batches),
            "pending_batches": pending_batches,
            "stop_reason": snap.stop_reason,
            "union_error_bound": next((r["union_upper_bound"] for r in reversed(reports)
                                       if r.get("union_upper_bound") is not None), None),
            "per_class": per_class,
            "thresholds": {p["class"]: p["threshold"] for p in per_class},
            "certified_bounds": {p["class"]: p["certified_bound"] for p in per_class},
            "guarantee": cfg.guarantee,
            "epsilon": cfg.epsilon,
            "delta": cfg.delta,
            "bound": cfg.bound,
            "model": self.config["model"],
            "seed": cfg.seed,
            "validation_size": cfg.validation_size,
            "batch_size": cfg.batch_size,
            "validation_left": int(state.val_active.sum()),
            "history": [r["report"] for r in snap.rounds],
        }

    def labels(self) -> pd.DataFrame:
        """One row per item: ``id``, ``label``, ``source``, ``round``, ``score`` and the label's provenance."""
        with self.store.read() as conn:
            snap = self._snapshot(conn)
        state = self._state(snap)
        n = self.n_items
        label = np.full(n, None, dtype=object)
        has = state.codes >= 0
        cls = np.asarray(self.classes, dtype=object)
        label[has] = cls[state.codes[has]]
        extra = {k: np.full(n, None, dtype=object) for k in
                 ("annotator", "channel", "model_version", "labeled_at", "batch")}
        seconds = np.full(n, np.nan)
        threshold = np.full(n, np.nan)
        bound = np.full(n, np.nan)
        for item, e in snap.current.items():
            extra["annotator"][item] = e["annotator"]
            extra["channel"][item] = e["channel"]
            extra["labeled_at"][item] = e["created_at"]
            extra["batch"][item] = e["batch_id"]
            seconds[item] = np.nan if e["seconds"] is None else e["seconds"]
        for a in snap.auto:
            i = a["item"]
            cur = snap.current.get(i)
            if cur is not None and cur["id"] > a["id"]:
                continue
            extra["model_version"][i] = a["model_version"]
            extra["channel"][i] = "engine"
            extra["labeled_at"][i] = a["created_at"]
            threshold[i] = np.nan if a["threshold"] is None else a["threshold"]
            bound[i] = np.nan if a["bound"] is None else a["bound"]
        ids = self.frame[self.config["id_column"]].to_numpy()
        return pd.DataFrame({
            "id": ids,
            "label": pd.array(label.tolist(), dtype="string"),
            "source": SOURCE_NAMES[state.source].astype(str),
            "round": state.rounds,
            "score": state.scores,
            "threshold": threshold,
            "certified_bound": bound,
            "bound_covers": np.where(np.isnan(bound), None, "class" if self.tbal_config.guarantee == "per-class"
                                     else "all auto-labels").astype(object),
            "model_version": pd.array(extra["model_version"].tolist(), dtype="string"),
            "annotator": pd.array(extra["annotator"].tolist(), dtype="string"),
            "seconds": seconds,
            "channel": pd.array(extra["channel"].tolist(), dtype="string"),
            "batch": pd.array(extra["batch"].tolist(), dtype="Int64"),
            "labeled_at": pd.array(extra["labeled_at"].tolist(), dtype="string"),
        })

    def export(self, out: str | Path, fmt: str | None = None) -> Path:
        """Write :meth:`labels` to ``.parquet``, ``.csv``, ``.jsonl``, or Label Studio tasks (``fmt="labelstudio"``)."""
        from .exchange import write_labels

        return write_labels(self, Path(out), fmt)

    # ------------------------------------------------------------------ simulation

    def simulate(self, column: str, *, max_rounds: int = 10_000) -> dict[str, Any]:
        """Answer every batch from a known column of the items and run rounds until the project stops.

        The same path as people take: answers are recorded as events, rounds run by :meth:`step`.
        Safe to run again after an interruption, or in two processes at once.
        """
        if column not in self.frame.columns:
            raise InputError(f"Column {column!r} not found in the project's items. "
                             f"Available: {', '.join(map(str, self.frame.columns[:30]))}.")
        values = self.frame[column]
        if values.isna().any():
            row = int(np.flatnonzero(values.isna().to_numpy())[0])
            raise InputError(f"Items row {row + 1}: column {column!r} has no label; every item needs one to simulate.")
        truth = [_class_text(v) for v in values]
        unknown = sorted({t for t in truth if t not in self.class_index})
        if unknown:
            raise InputError(f"Column {column!r} holds label(s) that are not classes of the project: "
                             f"{', '.join(map(repr, unknown[:5]))}; classes: {', '.join(self.classes)}.")
        _, _, warnings = self._answer_rounds(lambda p: Answer(p.item_id, truth[p.index]), channel="simulate",
                                             annotator="simulated", source_name=f"column {column!r}",
                                             max_rounds=max_rounds, quality_batches=True)
        status = self.status()
        status["warnings"] = warnings
        return status

    def _answer_rounds(self, answer_of: Any, *, channel: str, annotator: str | None, source_name: str,
                       max_rounds: int, quality_batches: bool) -> tuple[int, int, list[str]]:
        """Answer the waiting items with ``answer_of(item)`` (None: no answer) and run each round as
        its batches complete, until the project stops or a waiting item has no answer.

        Returns ``(answers recorded, rounds run, warnings of those rounds)``. The path people
        take: answers are events, rounds run by :meth:`step`.
        """
        recorded, rounds, warnings = 0, 0, []
        for _ in range(max_rounds):
            with self.store.read() as conn:
                snap = self._light_snapshot(conn)
            if snap.stop_reason:
                break
            todo = self._pending(snap)
            if not quality_batches:
                todo = [p for p in todo if p.batch_id not in snap.quality_batch_ids()]
            have = [a for a in map(answer_of, todo) if a is not None]
            if have:
                recorded += self.record_answers(have, channel=channel, annotator=annotator,
                                                source_name=source_name).recorded
            if len(have) < len(todo):
                break  # not every waiting item has an answer here: the rest is for people
            warnings.extend(self.step(expect_round=snap.round).warnings)
            rounds += 1
        return recorded, rounds, warnings

    def replay(self, path: str | Path, *, annotator: str | None = None,
               max_rounds: int = 10_000) -> dict[str, Any]:
        """Answer batch after batch from an answers file, running each round as its batch completes.

        For a file that answers more than the current batches — a full export of another copy of
        the project (``surelabel export --format labelstudio``), or answers collected elsewhere:
        with the same items, settings and seed the rounds ask for the same items, so the project
        is rebuilt label for label. Stops when a waiting item has no answer in the file (its
        answers so far are kept) or the project stops. Every answer is checked first.
        """
        from .exchange import read_answers

        answers, channel = read_answers(path, self)
        by_item: dict[str, Answer] = {}
        for a in answers:
            if a.item_id in by_item:
                raise InputError(f"{a.where or path}: item {a.item_id!r} is answered twice "
                                 f"(first at {by_item[a.item_id].where}).")
            if self.index_of(a.item_id) is None:
                raise InputError(f"{a.where or path}: unknown item id {a.item_id!r}; it is not one of the "
                                 "project's items.")
            by_item[a.item_id] = a
        recorded, rounds, warnings = self._answer_rounds(lambda p: by_item.get(p.item_id), channel=channel,
                                                         annotator=annotator, source_name=str(path),
                                                         max_rounds=max_rounds, quality_batches=False)
        with self.store.read() as conn:
            answered = set(self._light_snapshot(conn).current)
        status = self.status()
        status["replay"] = {"recorded": recorded, "rounds_run": rounds,
                            "unused": sum(self.index_of(i) not in answered for i in by_item)}
        status["warnings"] = warnings
        return status

    # ------------------------------------------------------------------ the web page's operations

    def lease_next(self, annotator: str, *, lease_seconds: float = LEASE_SECONDS) -> PendingItem | None:
        """The next item for ``annotator``, leased to them so nobody else gets it meanwhile."""
        now = time.time()
        with self.store.write() as conn:
            snap = self._light_snapshot(conn)
            self.store.drop_leases(conn, expired_before=now)
            leases = self.store.leases(conn, now)
            pending = self._pending(snap)
            mine = [p for p in pending if leases.get(p.index) == annotator]
            if mine:
                choice = mine[0]
            else:
                free = [p for p in pending if p.index not in leases]
                skipped = self.store.skips(conn, annotator)
                fresh = [p for p in free if p.index not in skipped]
                if not fresh and free:
                    self.store.clear_skips(conn, annotator)  # everything left was skipped: offer it again
                choice = (fresh or free or [None])[0]
            if choice is not None:
                self.store.set_lease(conn, choice.index, annotator, now + lease_seconds)
            return choice

    def answer(self, annotator: str, item_id: str, label: str, *, batch_id: int | None = None,
               seconds: float | None = None) -> AnswersSummary:
        """One answer from the web page: refused (:class:`StaleAnswerError`) unless the item waits for it."""
        checked = _checked_answer(Answer(item_id, label, annotator, seconds), "the answer")
        label, seconds, annotator = checked.label, checked.seconds, _checked_name(annotator, "annotator") or ""
        if not annotator:
            raise InputError("The annotator must be a non-empty name.")
        idx = self.index_of(item_id)
        if idx is None:
            raise InputError(f"Unknown item id {item_id!r}.")
        if label not in self.class_index:
            raise InputError(f"Unknown class {label!r}; classes: {', '.join(self.classes)}.")
        now = time.time()
        with self.store.read() as conn:
            snap = self._light_snapshot(conn)
            leases = self.store.leases(conn, now)
        pend = {p.index: p for p in self._pending(snap)}
        p = pend.get(idx)
        if p is None:
            raise StaleAnswerError(f"Item {item_id!r} is not waiting for an answer any more.")
        if batch_id is not None and p.batch_id != batch_id:
            raise StaleAnswerError(f"Item {item_id!r} belongs to batch {p.batch_id}, not {batch_id}.")
        holder = leases.get(idx)
        if holder is not None and holder != annotator:
            raise StaleAnswerError(f"Item {item_id!r} is being labeled by {holder}.")
        summary = self._record_web(annotator, idx, item_id, label, p.batch_id, seconds)
        return summary

    def _record_web(self, annotator: str, idx: int, item_id: str, label: str, batch_id: int,
                    seconds: float | None) -> AnswersSummary:
        with self.store.write() as conn:
            snap = self._light_snapshot(conn)
            pend = {p.index: p for p in self._pending(snap)}
            p = pend.get(idx)
            if p is None or p.batch_id != batch_id:
                raise StaleAnswerError(f"Item {item_id!r} is not waiting for an answer any more.")
            holder = self.store.leases(conn, time.time()).get(idx)
            if holder is not None and holder != annotator:
                raise StaleAnswerError(f"Item {item_id!r} is being labeled by {holder}.")
            secs = None if seconds is None or not np.isfinite(seconds) or seconds < 0 else float(seconds)
            if p.kind in QUALITY_KINDS:
                b = next(x for x in snap.batches if x["id"] == p.batch_id)
                if p.kind == "spot-check":
                    snap.auto = self.store.auto_events(conn)
                row = self._quality_row(snap, b, idx, label, annotator, "web", secs)
                if p.kind == "spot-check":
                    self.store.insert_spot_checks(conn, [row])
                else:
                    self.store.insert_events(conn, [row], crash="answers.write")
            else:
                self.store.insert_events(conn, [{
                    "item": idx, "label": label, "source": "validation" if p.kind == "validation" else "human",
                    "round": p.round, "batch_id": p.batch_id, "annotator": annotator, "channel": "web",
                    "seconds": secs,
                }], crash="answers.write")
            self.store.drop_leases(conn, item=idx)
            self._close_finished_checks(conn, snap, pend, {idx})
            left = len(pend) - 1
            event_id = self.store.last_event_id(conn)
            crash_point("answers.commit")
        crash_point("answers.done")
        return AnswersSummary(recorded=1, unchanged=0, corrected=0, pending_left=left,
                              round_complete=left == 0, event_ids=[event_id])

    def undo(self, annotator: str) -> PendingItem:
        """Take back ``annotator``'s last answer while its batch is open; the item is leased back to them."""
        with self.store.write() as conn:
            snap = self._light_snapshot(conn)
            open_items = {item: b for b, item, _ in snap.open_items}
            mine = [e for e in snap.current.values() if e["annotator"] == annotator and e["channel"] == "web"]
            if not mine:
                raise StaleAnswerError("There is no answer of yours to undo.")
            last = max(mine, key=lambda e: e["id"])
            if last["item"] not in open_items:
                raise StaleAnswerError("Your last answer can no longer be undone: its round has already run.")
            self.store.insert_events(conn, [{
                "item": last["item"], "label": None, "source": last["source"], "round": last["round"],
                "batch_id": last["batch_id"], "annotator": annotator, "channel": "web", "retracts": last["id"],
            }], crash="answers.write")
            self.store.set_lease(conn, last["item"], annotator, time.time() + LEASE_SECONDS)
            info = {b["id"]: b for b in snap.batches}
            b = info[last["batch_id"]]
            pos = next(p for bid, it, p in snap.open_items if it == last["item"])
            return PendingItem(b["id"], b["round"], b["kind"], last["item"], self.item_ids[last["item"]], pos)

    def skip(self, annotator: str, item_id: str) -> None:
        """Put an item back for others; ``annotator`` gets it again only when nothing else is left."""
        idx = self.index_of(item_id)
        if idx is None:
            raise InputError(f"Unknown item id {item_id!r}.")
        with self.store.write() as conn:
            snap = self._light_snapshot(conn)
            pend = {p.index: p for p in self._pending(snap)}
            if idx not in pend:
                raise StaleAnswerError(f"Item {item_id!r} is not waiting for an answer any more.")
            self.store.add_skip(conn, pend[idx].batch_id, idx, annotator)
            self.store.drop_leases(conn, item=idx, annotator=annotator)

    def round_ready(self) -> bool:
        """Whether the current round's batches are all answered (and the project has not stopped)."""
        with self.store.read() as conn:
            snap = self._light_snapshot(conn)
        q = snap.quality_batch_ids()
        return (not snap.stop_reason and bool(snap.round_open_items())
                and not [p for p in self._pending(snap) if p.batch_id not in q])


# ---------------------------------------------------------------------- helpers


def _current_labels(human: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Each item's current human label: its latest answer not taken back (an undo restores the one before)."""
    alive: dict[int, list[dict[str, Any]]] = {}
    for e in human:  # oldest first
        stack = alive.setdefault(e["item"], [])
        if e["retracts"] is None:
            stack.append(e)
        else:
            alive[e["item"]] = [h for h in stack if h["id"] != e["retracts"]]
    return {item: stack[-1] for item, stack in alive.items() if stack}


def _cert_bound(est: Any, code: int) -> float | None:
    """The certified bound that admitted an auto-label: its class's own under the per-class promise, else the
    overall bound on all auto-labels (the only one certified)."""
    if est is None:
        return None
    return _finite(est.upper_bound[code] if est.search == "per-class" else est.union_upper_bound)


def _tbal_config(config: dict[str, Any]) -> TBALConfig:
    return TBALConfig.resolve(
        epsilon=config["epsilon"], delta=config["delta"], budget=config["budget"],
        validation_size=config["validation_size"], seed_size=config["seed_size"],
        batch_size=config["batch_size"], seed=config["seed"], bound=config["bound"],
        score=config["score"], query=config["query"], guarantee=config.get("guarantee", "overall"),
    )


def _json(obj: Any) -> Any:
    """Plain JSON values (non-finite floats become None)."""
    if isinstance(obj, dict):
        return {str(k): _json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return round(v, 4) if np.isfinite(v) else None
    return v


def _class_text(v: Any) -> str:
    """A label value as class text: ``3``, ``3.0`` and ``"3"`` all become ``"3"``."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def _now() -> str:
    from .store import now_iso

    return now_iso()


def without_password(url: str) -> str:
    """``url`` without its password (in the user part or a ``password=`` query parameter): what is stored.

    >>> without_password("postgresql://ana:s3cret@db.example/labels?options=-csearch_path%3Dp1")
    'postgresql://ana@db.example/labels?options=-csearch_path%3Dp1'
    """
    from sqlalchemy.engine import URL, make_url
    from sqlalchemy.exc import ArgumentError

    try:
        u = make_url(url)
    except ArgumentError:
        return url
    if u.password is None and "password" not in u.query:
        return url  # kept verbatim
    query = {k: v for k, v in u.query.items() if k != "password"}
    return URL.create(u.drivername, u.username, None, u.host, u.port, u.database, query).render_as_string(
        hide_password=False)


def has_password(url: str | None) -> bool:
    """Whether the database URL holds a password (which :meth:`Project.create` does not store)."""
    return url is not None and without_password(url) != url


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # a URL that does not parse is shown as given (it has no password to hide)
        return url


def _relative_image(base: Path, value: str, project: Path) -> str:
    if "://" in value:
        return value
    p = Path(value)
    if not p.is_absolute():
        p = (base / p).resolve()
    try:
        return os.path.relpath(p, project.resolve())
    except ValueError:
        return str(p)


def example_frame(X: np.ndarray, y: Iterable[Any], *, prefix: str = "f", text: list[str] | None = None) -> pd.DataFrame:
    """An items table: ``id``, feature columns ``{prefix}00…``, optional ``text``, and the known ``label``.

    Examples
    --------
    >>> example_frame(np.zeros((2, 3)), [0, 1]).columns.tolist()
    ['id', 'f0', 'f1', 'f2', 'label']
    """
    X = np.asarray(X, dtype=float)
    width = len(str(X.shape[1] - 1))
    frame = pd.DataFrame(X, columns=[f"{prefix}{i:0{width}d}" for i in range(X.shape[1])])
    frame.insert(0, "id", [f"item-{i:05d}" for i in range(X.shape[0])])
    if text is not None:
        frame["text"] = text
    frame["label"] = list(y)
    return frame
