"""Pools that stay on disk: a memory-mapped ``.npy`` or Parquet, read in chunks.

The engine needs very little from the items' features: their ``shape`` and ``dtype``, the
rows at an index array (``pool[idx]``: the few human-labeled rows to train on, and one chunk
at a time when it scores the pool) and, to check them once, the chunks in order
(:meth:`NpyPool.iter_chunks`). :class:`NpyPool` gives exactly that for a ``.npy`` file, reading
with ``os.pread`` into small buffers, so memory holds a chunk, not the pool (pages of a
memory map that were read stay counted in the process's resident memory; plain reads do
not).

A Parquet file, or a folder of Parquet files, holds feature columns or one fixed-size list
column of embeddings. Parquet has no cheap access to a row by position, so
:func:`open_pool` streams it once, in record batches, into a ``.npy`` spill file in a
temporary folder (deleted when the pool is closed or collected) and serves that.

>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "pool.npy")
>>> np.save(path, np.arange(12, dtype=np.float32).reshape(6, 2))
>>> pool = open_pool(path)
>>> pool.shape, pool.dtype.name
((6, 2), 'float32')
>>> pool[np.array([4, 1])].tolist()
[[8.0, 9.0], [2.0, 3.0]]
>>> pool.close()
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .exceptions import InputError

__all__ = ["NpyPool", "open_pool", "as_pool", "parquet_column", "DEFAULT_CHUNK_ROWS"]

DEFAULT_CHUNK_ROWS = 65_536
CHUNK_BYTES = 2**24


class NpyPool:
    """The rows of a 2-D C-ordered ``.npy`` file, read from disk on demand.

    Parameters
    ----------
    path : str or Path
        A ``.npy`` file of shape ``(n, d)`` (a 1-D file is one feature per row).
    chunk_rows : int
        Rows read at a time when scanning (default: about 16 MB, at most 65,536 rows).
    """

    ndim = 2

    def __init__(self, path: str | os.PathLike, *, chunk_rows: int | None = None,
                 _cleanup: str | None = None) -> None:
        self.path = str(path)
        try:
            mm = np.load(self.path, mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise InputError(f"Cannot read {self.path} as a .npy array: {exc}.") from None
        if mm.ndim not in (1, 2):
            raise InputError(f"{self.path} must hold a 2-D array of features. Got {mm.ndim} dimensions.")
        if mm.ndim == 2 and not mm.flags.c_contiguous:
            raise InputError(f"{self.path} is stored in Fortran order; save it in C order (np.ascontiguousarray).")
        if mm.dtype.kind not in "fiub":
            raise InputError(f"{self.path} must be numeric. Got dtype {mm.dtype}.")
        self.shape = (int(mm.shape[0]), int(mm.shape[1]) if mm.ndim == 2 else 1)
        self.file_dtype = mm.dtype
        #: what rows are returned as: float dtypes as stored, anything else as float64
        self.dtype = mm.dtype if mm.dtype.kind == "f" else np.dtype(np.float64)
        self.offset = int(mm.offset)
        del mm
        self._row_bytes = self.shape[1] * self.file_dtype.itemsize
        if chunk_rows is None:  # about 16 MB per read: reused by the allocator, not faulted in afresh
            chunk_rows = min(DEFAULT_CHUNK_ROWS, max(1024, CHUNK_BYTES // max(self._row_bytes, 1)))
        self.chunk_rows = int(chunk_rows)
        self._fd: int | None = None
        self._scratch: np.ndarray | None = None
        #: set once every value was seen to be finite (a Parquet spill is checked as it is written)
        self.finite_checked = False
        self._finalizer = None
        if _cleanup is not None:
            self._finalizer = weakref.finalize(self, shutil.rmtree, _cleanup, True)

    # -- the array-like interface the engine uses ---------------------------------------
    def __len__(self) -> int:
        return self.shape[0]

    @property
    def nbytes(self) -> int:
        return self.shape[0] * self._row_bytes

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, (int, np.integer)):
            i = int(key) + (self.shape[0] if key < 0 else 0)
            return self._read(i, i + 1)[0]
        if isinstance(key, slice):
            lo, hi, step = key.indices(self.shape[0])
            if step == 1:
                return self._read(lo, max(lo, hi))
            return self.take(np.arange(lo, hi, step))
        return self.take(key)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """The whole pool in memory (only when something insists on an array)."""
        arr = self._read(0, self.shape[0])
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def take(self, indices: Any) -> np.ndarray:
        """Rows at ``indices`` (any order, repeats allowed) as a new in-memory array."""
        idx = np.asarray(indices)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.intp, copy=False).ravel()
        n = self.shape[0]
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"index out of range for a pool of {n} rows")
        idx = np.where(idx < 0, idx + n, idx)
        out = np.empty((idx.size, self.shape[1]), dtype=self.dtype)
        if idx.size == 0:
            return out
        ordered = idx.size < 2 or bool((idx[1:] >= idx[:-1]).all())
        order = None if ordered else np.argsort(idx, kind="stable")
        s = idx if ordered else idx[order]
        dest = out if ordered else np.empty_like(out)
        # windows of chunk_rows file rows: read a window's span when its rows are dense, else row by row
        win = s // self.chunk_rows
        cuts = np.flatnonzero(np.diff(win)) + 1
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, s.size]):
            lo, hi = int(s[a]), int(s[b - 1]) + 1
            if (b - a) * 16 >= hi - lo:
                block = self._read(lo, hi, scratch=True)
                np.take(block, s[a:b] - lo, axis=0, out=dest[a:b], mode="clip")  # in range; no buffering
            else:
                for j in range(a, b):
                    dest[j] = self._read(int(s[j]), int(s[j]) + 1)[0]
        if not ordered:
            out[order] = dest
        return out

    def iter_chunks(self, chunk_rows: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """``(first_row, block)`` for consecutive blocks of rows, in order."""
        step = int(chunk_rows or self.chunk_rows)
        for lo in range(0, self.shape[0], step):
            yield lo, self._read(lo, min(lo + step, self.shape[0]))

    # -- reading --------------------------------------------------------------------------
    def _read(self, lo: int, hi: int, *, scratch: bool = False) -> np.ndarray:
        """Rows ``lo:hi``; with ``scratch``, into a buffer the next scratch read overwrites."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        if scratch and self.file_dtype == self.dtype:
            if self._scratch is None or self._scratch.shape[0] < hi - lo:
                self._scratch = np.empty((max(hi - lo, self.chunk_rows), self.shape[1]), dtype=self.file_dtype)
            raw = self._scratch[: hi - lo]
        else:
            raw = np.empty((hi - lo, self.shape[1]), dtype=self.file_dtype)
        view = memoryview(raw).cast("B")
        want, got = view.nbytes, 0
        pos = self.offset + lo * self._row_bytes
        while got < want:
            k = os.preadv(self._fd, [view[got:]], pos + got) if hasattr(os, "preadv") else _pread_into(
                self._fd, view[got:], pos + got)
            if k <= 0:
                raise InputError(f"{self.path} ended early: it is shorter than its header says.")
            got += k
        return raw if raw.dtype == self.dtype else raw.astype(self.dtype)

    def close(self) -> None:
        """Close the file (and delete a Parquet spill file)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._finalizer is not None:
            self._finalizer()

    def __enter__(self) -> NpyPool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:  # picklable (e.g. for worker processes): reopened there
        state = dict(self.__dict__)
        state["_fd"] = None
        state["_scratch"] = None
        state["_finalizer"] = None
        return state

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass

    def __repr__(self) -> str:
        return f"NpyPool({self.path!r}, shape={self.shape}, dtype={self.dtype})"


def _pread_into(fd: int, view: memoryview, pos: int) -> int:  # pragma: no cover - platforms without preadv
    data = os.pread(fd, view.nbytes, pos)
    view[: len(data)] = data
    return len(data)


def as_pool(X: Any) -> NpyPool | None:
    """``X`` as a pool when it lives on disk (a pool, or a read-only memory-mapped ``.npy``), else ``None``."""
    if isinstance(X, NpyPool):
        return X
    if isinstance(X, np.memmap) and X.mode == "r" and getattr(X, "filename", None) and X.ndim in (1, 2):
        try:
            pool = NpyPool(X.filename)
        except InputError:
            return None
        whole = X.shape == (pool.shape if X.ndim == 2 else pool.shape[:1]) and X.flags.c_contiguous
        if whole and pool.offset == X.offset and pool.file_dtype == X.dtype:  # not a slice of the file
            return pool
    return None


# -- Parquet -------------------------------------------------------------------------------
def _parquet_dataset(path: str | os.PathLike) -> Any:
    import pyarrow.dataset as ds

    p = Path(path)
    if not p.exists():
        raise InputError(f"{p} does not exist.")
    try:
        return ds.dataset(str(p), format="parquet")
    except Exception as exc:  # pyarrow raises several kinds for unreadable files
        raise InputError(f"Cannot read {p} as Parquet: {exc}.") from None


def _feature_columns(schema: Any, source: str, features: Sequence[str] | None, prefix: str | None,
                     exclude: Sequence[str]) -> list[str]:
    import pyarrow as pa

    names = [n for n in schema.names if n not in exclude]
    if features:
        cols = list(features)
        missing = [c for c in cols if c not in schema.names]
        if missing:
            raise InputError(f"{source} has no column {missing[0]!r}. Columns: {', '.join(schema.names[:30])}.")
    elif prefix:
        cols = [c for c in names if c.startswith(prefix)]
        if not cols:
            raise InputError(f"No column of {source} starts with {prefix!r}. Columns: {', '.join(schema.names[:30])}.")
    else:  # one fixed-size list column of embeddings, or every numeric column
        lists = [c for c in names if pa.types.is_fixed_size_list(schema.field(c).type)]
        cols = lists[:1] if len(lists) == 1 else [c for c in names if _is_number(schema.field(c).type)]
        if not cols:
            raise InputError(f"{source} has no numeric feature column; name them with --features.")
    for c in cols:
        t = schema.field(c).type
        if pa.types.is_fixed_size_list(t) or pa.types.is_list(t) or pa.types.is_large_list(t):
            if len(cols) != 1:
                raise InputError(f"Column {c!r} of {source} is a list of embeddings: give it alone as the features.")
            if not _is_number(t.value_type):
                raise InputError(f"Column {c!r} of {source} holds lists of {t.value_type}, not numbers.")
        elif not _is_number(t):
            raise InputError(f"Column {c!r} of {source} is {t}, not numeric.")
    return cols


def _is_number(t: Any) -> bool:
    import pyarrow as pa

    return pa.types.is_floating(t) or pa.types.is_integer(t)


def _batch_matrix(batch: Any, cols: list[str], dtype: np.dtype, source: str, first_row: int) -> np.ndarray:
    import pyarrow as pa

    if len(cols) == 1:
        col = batch.column(0)
        t = col.type
        if pa.types.is_fixed_size_list(t) or pa.types.is_list(t) or pa.types.is_large_list(t):
            if col.null_count:
                row = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
                raise InputError(f"{source}, row {first_row + row + 1}: column {cols[0]!r} has no embedding.")
            lengths = pa.compute.list_value_length(col).to_numpy(zero_copy_only=False)
            d = int(t.list_size) if pa.types.is_fixed_size_list(t) else (int(lengths[0]) if lengths.size else 0)
            if lengths.size and (lengths != d).any():
                row = int(np.flatnonzero(lengths != d)[0])
                raise InputError(f"{source}, row {first_row + row + 1}: column {cols[0]!r} holds {lengths[row]} "
                                 f"numbers where the others hold {d}.")
            values = col.flatten().to_numpy(zero_copy_only=False)
            return np.asarray(values, dtype=dtype).reshape(-1, d)
    out = np.empty((batch.num_rows, len(cols)), dtype=dtype)
    for j in range(len(cols)):
        col = batch.column(j)
        if col.null_count:
            row = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
            raise InputError(f"{source}, row {first_row + row + 1}: column {cols[j]!r} is empty.")
        out[:, j] = col.to_numpy(zero_copy_only=False)
    return out


def _result_dtype(schema: Any, cols: list[str]) -> np.dtype:
    import pyarrow as pa

    types = []
    for c in cols:
        t = schema.field(c).type
        types.append(t.value_type if (pa.types.is_list(t) or pa.types.is_large_list(t)
                                      or pa.types.is_fixed_size_list(t)) else t)
    if all(pa.types.is_floating(t) and t.bit_width <= 32 for t in types):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def open_pool(path: str | os.PathLike, *, features: Sequence[str] | None = None, prefix: str | None = None,
              exclude: Sequence[str] = (), spill_dir: str | os.PathLike | None = None,
              chunk_rows: int | None = None) -> NpyPool:
    """A pool on disk from a ``.npy`` file, or a Parquet file or folder of Parquet files.

    Parquet: ``features`` (column names) or ``prefix`` choose the feature columns; without
    them, the one fixed-size list column (embeddings) or else every numeric column not in
    ``exclude`` (the label and id columns). float32 stays float32 (float64 when any column is
    wider or an integer). The file is read once, in record batches, into a spill
    ``.npy`` in ``spill_dir`` (default: the system's temporary folder), deleted on close.
    """
    p = Path(path)
    if p.suffix.lower() == ".npy":
        return NpyPool(p, chunk_rows=chunk_rows)
    dataset = _parquet_dataset(p)
    source = str(p)
    cols = _feature_columns(dataset.schema, source, features, prefix, exclude)
    dtype = _result_dtype(dataset.schema, cols)
    n = int(dataset.count_rows())
    tmp = tempfile.mkdtemp(prefix="surelabel-pool-", dir=None if spill_dir is None else str(spill_dir))
    spill = os.path.join(tmp, "pool.npy")
    try:
        d = None
        done = 0
        with open(spill, "wb") as fh:
            for batch in _batches(dataset, cols, chunk_rows or 16_384):
                if batch.num_rows == 0:
                    continue
                block = _batch_matrix(batch, cols, dtype, source, done)
                if d is None:
                    d = block.shape[1]
                    np.lib.format.write_array_header_2_0(
                        fh, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": (n, d)})
                elif block.shape[1] != d:
                    raise InputError(f"{source}, row {done + 1}: {block.shape[1]} features, earlier rows {d}.")
                if not np.isfinite(block).all():
                    row, c = np.argwhere(~np.isfinite(block))[0]
                    raise InputError(f"{source}, row {done + row + 1}: feature {c} is not finite (NaN or inf).")
                fh.write(memoryview(np.ascontiguousarray(block)).cast("B"))
                done += block.shape[0]
        if d is None or done != n:
            raise InputError(f"{source} has no rows." if d is None else f"{source} changed while it was read.")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    pool = NpyPool(spill, chunk_rows=chunk_rows, _cleanup=tmp)
    pool.finite_checked = True  # every block was checked while it was written
    return pool


def _batches(dataset: Any, cols: list[str], batch_rows: int) -> Iterator[Any]:
    """Record batches of ``cols``, file by file in the dataset's order, one row group at a time.

    ``ParquetFile.iter_batches`` without pre-buffering or threads holds about one row group:
    the dataset scanner's read-ahead held up to 1.5x a 1.5 GB file.
    """
    import pyarrow.parquet as pq

    for file in dataset.files:
        with pq.ParquetFile(file, pre_buffer=False) as pf:
            yield from pf.iter_batches(batch_size=batch_rows, columns=cols, use_threads=False)


def parquet_column(path: str | os.PathLike, column: str) -> np.ndarray:
    """One column of a Parquet file or folder as a NumPy array (labels, ids: small next to the features),
    in the same order of files and rows as :func:`open_pool` reads the features."""
    import pyarrow as pa

    dataset = _parquet_dataset(path)
    if column not in dataset.schema.names:
        raise InputError(f"{path} has no column {column!r}. Columns: {', '.join(dataset.schema.names[:30])}.")
    chunks = [b.column(0) for b in _batches(dataset, [column], 1 << 20)]
    return pa.chunked_array(chunks, type=dataset.schema.field(column).type).to_numpy() if chunks else np.empty(0)
