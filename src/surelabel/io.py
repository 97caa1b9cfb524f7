"""Reading the user's tables: items, features and labels, with errors that name the culprit.

Every problem a user can cause — a missing file, an unknown column, a non-numeric or
non-finite feature, a duplicate id, an empty label — becomes an :class:`InputError` whose
message names the file, the column and (where there is one) the row, and says what to do.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .exceptions import InputError

__all__ = ["read_table", "select_features", "select_column", "check_unique_ids", "TABLE_SUFFIXES"]

TABLE_SUFFIXES = (".csv", ".parquet", ".jsonl", ".ndjson")


#: What pandas reads as a missing value by default; kept for every column but the id column.
_NA_TEXT = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
            "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]


def read_table(path: str | Path, *, id_column: str | None = None) -> pd.DataFrame:
    """Read a CSV, Parquet or JSON-lines file into a DataFrame.

    ``id_column`` is read verbatim as text: ``0007`` stays ``0007`` (not ``7``), spaces at
    either end are kept, and ``NA`` is an id like any other (an empty cell is missing). Ids
    are compared byte for byte everywhere afterwards, so they must not be reinterpreted.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("id,x\\n1,0.5\\n")
    >>> read_table(p).shape
    (1, 2)
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"File {path} not found; check the path.")
    if path.is_dir():
        raise InputError(f"{path} is a folder; give a .csv, .parquet or .jsonl file.")
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InputError(f"Cannot read {path}: use a .csv, .parquet or .jsonl file.")
    try:
        if suffix == ".csv":
            frame = _read_csv(path, id_column)
        elif suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = _read_jsonl(path, id_column)
    except InputError:
        raise
    except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"Cannot read {path}: {reason}.") from None
    except Exception as exc:  # pyarrow raises its own error types for corrupt Parquet files
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"Cannot read {path}: {reason}.") from None
    if frame.shape[0] == 0:
        raise InputError(f"{path} has no rows.")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _read_csv(path: Path, id_column: str | None) -> pd.DataFrame:
    """A CSV file, the id column as the exact text of its cells (an empty cell is missing)."""
    if id_column is None:
        return pd.read_csv(path)
    header = [str(c) for c in pd.read_csv(path, nrows=0).columns]
    if id_column not in header:
        return pd.read_csv(path)  # the missing column is named by select_column
    frame = pd.read_csv(path, dtype={id_column: str}, keep_default_na=False,
                        na_values={c: _NA_TEXT for c in header if c != id_column})
    ids = frame[id_column].astype(object)
    frame[id_column] = ids.where(ids != "", None)
    return frame


def _read_jsonl(path: Path, id_column: str | None = None) -> pd.DataFrame:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}, line {lineno}: malformed JSON ({exc.msg}).") from None
            if not isinstance(row, dict):
                raise InputError(f"{path}, line {lineno}: expected a JSON object per line.")
            rows.append(row)
    frame = pd.DataFrame(rows)
    if id_column is not None and id_column in frame.columns:
        # one id per row as its own JSON value's text: a column mixing 7 and 7.5 must not make 7 into "7.0"
        frame[id_column] = pd.Series([None if r.get(id_column) is None else _id_value(r[id_column]) for r in rows],
                                     dtype=object, index=frame.index)
    return frame


def _id_value(v: object) -> object:
    """An id read from JSON as text (``7`` → ``"7"``); objects and lists are left for the id check to refuse."""
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    return str(v) if not isinstance(v, str) else v


def _missing(frame: pd.DataFrame, source: str, columns: Sequence[str]) -> None:
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        available = ", ".join(frame.columns[:30]) + (" …" if frame.shape[1] > 30 else "")
        which = "Column" if len(absent) == 1 else "Columns"
        names = ", ".join(repr(c) for c in absent)
        raise InputError(f"{which} {names} not found in {source}. Available: {available}.")


def select_column(frame: pd.DataFrame, column: str, source: str) -> pd.Series:
    """The column named ``column``, or an error listing the columns there are."""
    _missing(frame, source, [column])
    return frame[column]


def select_features(
    frame: pd.DataFrame,
    source: str,
    *,
    features: Sequence[str] | None = None,
    prefix: str | None = None,
    exclude: dict[str, str | None] | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Feature matrix from explicit columns or every column starting with ``prefix``.

    Returns the float matrix and the column names used. Non-numeric or non-finite values
    are refused with the row and column named. ``exclude`` names columns with another role
    (``{"label": "y", "id": "item"}``): a prefix passes over them, and naming one among the
    features is refused — a label column used as a feature would make the model read the answer.
    """
    if bool(features) == bool(prefix):
        raise InputError(
            "Give the feature columns with exactly one of --features COLS or --feature-prefix P "
            "(or raw inputs: --text COLUMN, --image COLUMN, or a folder of images with --images)."
        )
    roles = {col: role for role, col in (exclude or {}).items() if col}
    if prefix:
        cols = [c for c in frame.columns if c.startswith(prefix) and c not in roles]
        if not cols:
            raise InputError(f"No column of {source} starts with {prefix!r}. Columns: {', '.join(frame.columns[:30])}.")
    else:
        cols = list(features or [])
        repeated = sorted({c for c in cols if cols.count(c) > 1})
        if repeated:
            raise InputError(f"Feature column {repeated[0]!r} is named more than once in --features; name each once.")
        _missing(frame, source, cols)
        clash = [c for c in cols if c in roles]
        if clash:
            raise InputError(f"Column {clash[0]!r} of {source} is the {roles[clash[0]]} column; it cannot also be a "
                             "feature. Drop it from --features.")
    block = frame[cols]
    for c in cols:
        if not pd.api.types.is_numeric_dtype(block[c]) or pd.api.types.is_bool_dtype(block[c]):
            converted = pd.to_numeric(block[c], errors="coerce")
            bad = converted.isna() & block[c].notna()
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise InputError(
                    f"{source}, row {row + 1}, column {c!r}: {block[c].iloc[row]!r} is not a number; "
                    "features must be numeric."
                )
    X = block.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise InputError(
            f"{source}, row {row + 1}, column {cols[col]!r}: missing or non-finite value; "
            "fill or drop such rows before auto-labeling."
        )
    return X, cols


def check_unique_ids(ids: pd.Series, source: str, column: str) -> None:
    """Refuse missing or duplicate ids, naming the first offending rows."""
    blank = ids.isna() | ids.map(lambda v: isinstance(v, str) and not v.strip())
    if blank.any():
        row = int(np.flatnonzero(blank.to_numpy())[0])
        raise InputError(f"{source}, row {row + 1}: column {column!r} (the id) is empty; every item needs an id.")
    dup = ids.duplicated(keep=False)
    if dup.any():
        rows = np.flatnonzero(dup.to_numpy())[:2]
        raise InputError(
            f"{source}: id {_plain(ids.iloc[rows[0]])!r} appears more than once "
            f"(rows {rows[0] + 1} and {rows[1] + 1}); ids must be unique."
        )


def _plain(value: object) -> object:
    """A numpy scalar as the Python value it holds, so messages read ``7``, not ``np.int64(7)``."""
    return value.item() if isinstance(value, np.generic) else value
