"""The embedding cache: every item is embedded once per featurizer, then read back.

Layout (one folder per featurizer key, beside the project's store)::

    <cache>/
      text-3f9a0c12ab34/                  name-fingerprint(name, version, settings)
        manifest.json                     featurizer, version, settings, dim, corpus, created
        part-00000-1a2b3c4d.parquet       id (string), content (hash), embedding (fixed-size float32 list)
        part-00001-5e6f7a8b.parquet       … one part per computed chunk: an interrupted run keeps
                                          every finished chunk and resumes after it
      tfidf-0b1c2d3e4f5a-corpus-9d8e7f6a5b4c/   corpus-dependent featurizers: keyed on the corpus too

A part file appears by an atomic rename, so a crash never leaves a half-written part
visible. An item is served from the cache when its id is there *and* its content hash
matches (a text edited under the same id is recomputed). A different featurizer, model
version or setting has a different key, hence a different folder: it is never served
another featurizer's vectors; :meth:`EmbeddingCache.stale_entries` lists what is left behind.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import InputError
from .base import Featurizer, ItemError, batches, fingerprint, progress_bar

__all__ = ["EmbeddingCache", "Embeddings", "content_hash", "corpus_fingerprint"]

FORMAT = 1


def content_hash(item: Any, kind: str = "text") -> str:
    """A short hash of what an item's embedding depends on.

    Texts hash their characters. Image paths hash the file name and size (not the bytes:
    reading every photo again on every resume would cost as much as a cheap featurizer), so
    a moved folder stays cached and a replaced file of another size is recomputed.
    Arrays and PIL images hash their pixels.

    Examples
    --------
    >>> content_hash("a text") == content_hash("a text") != content_hash("a text!")
    True
    >>> content_hash("photos/cat.png", kind="image") == content_hash("elsewhere/cat.png", kind="image")
    True
    """
    h = hashlib.blake2b(digest_size=8)
    if isinstance(item, str) and kind == "text":
        h.update(b"t:" + item.encode("utf-8", "surrogatepass"))
    elif isinstance(item, (str, Path)):
        p = Path(item)
        try:
            size = p.stat().st_size
        except OSError:
            size = -1
        h.update(f"f:{p.name}:{size}".encode("utf-8", "surrogatepass"))
    elif isinstance(item, np.ndarray):
        h.update(b"a:" + str(item.shape).encode() + np.ascontiguousarray(item).tobytes())
    elif hasattr(item, "tobytes") and hasattr(item, "size"):  # PIL image
        h.update(b"i:" + str(item.size).encode() + item.tobytes())
    else:
        h.update(b"r:" + repr(item).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def corpus_fingerprint(ids: Sequence[str], hashes: Sequence[str]) -> str:
    """Fingerprint of a corpus as a *set* of (id, content) pairs: row order does not matter."""
    return fingerprint(sorted(zip(ids, hashes)))


@dataclass(frozen=True)
class Embeddings:
    """Vectors for the items asked for, in the order asked, and how many came from the cache."""

    X: np.ndarray
    ids: list[str]
    key: str
    featurizer: str
    version: str
    n_cached: int
    n_computed: int
    stale_keys: list[str] = field(default_factory=list)

    @property
    def dim(self) -> int:
        return int(self.X.shape[1])

    def to_frame(self, id_column: str = "id", prefix: str = "emb_") -> pd.DataFrame:
        """``id, emb_0 … emb_{d-1}``: the layout ``surelabel run --feature-prefix emb_`` reads."""
        frame = pd.DataFrame(self.X, columns=[f"{prefix}{j}" for j in range(self.dim)])
        frame.insert(0, id_column, self.ids)
        return frame


class EmbeddingCache:
    """Embeddings on disk, keyed by item id and featurizer key (name, version, settings).

    Examples
    --------
    >>> import tempfile
    >>> from surelabel.featurize import TfidfFeaturizer
    >>> cache = EmbeddingCache(tempfile.mkdtemp())
    >>> texts = ["good film", "bad film", "great acting", "awful plot"]
    >>> first = cache.get_or_compute(["a", "b", "c", "d"], texts, TfidfFeaturizer(n_components=2))
    >>> again = cache.get_or_compute(["a", "b", "c", "d"], texts, TfidfFeaturizer(n_components=2))
    >>> first.n_computed, again.n_computed, again.n_cached, bool(np.allclose(first.X, again.X))
    (4, 0, 4, True)
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    # ------------------------------------------------------------------ reading
    def entries(self) -> list[dict[str, Any]]:
        """The manifests of every entry in the cache (each with its ``key`` and ``n_items``)."""
        out = []
        if not self.folder.is_dir():
            return out
        for sub in sorted(self.folder.iterdir()):
            manifest = sub / "manifest.json"
            if sub.is_dir() and manifest.is_file():
                try:
                    data = json.loads(manifest.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
                data["key"] = sub.name
                data["n_items"] = sum(_part_rows(p) for p in sub.glob("part-*.parquet"))
                out.append(data)
        return out

    def stale_entries(self, featurizer: Featurizer) -> list[str]:
        """Keys of entries left by *other* featurizers, versions or settings than ``featurizer``.

        A project that finds its featurizer changed (a non-empty answer with its old key in it)
        knows its old vectors are not reused; :meth:`prune` deletes them.
        """
        keep = _base_key(featurizer)
        return [e["key"] for e in self.entries() if not e["key"].startswith(keep)]

    def prune(self, keep: Featurizer) -> list[str]:
        """Delete every entry not made by ``keep``; returns the keys deleted."""
        gone = self.stale_entries(keep)
        for key in gone:
            shutil.rmtree(self.folder / key, ignore_errors=True)
        return gone

    def load(self, key: str) -> tuple[list[str], list[str], np.ndarray]:
        """Ids, content hashes and vectors stored under ``key`` (empty if none)."""
        folder = self.folder / key
        parts = sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []
        if not parts:
            return [], [], np.zeros((0, 0), dtype=np.float32)
        import pyarrow as pa
        import pyarrow.parquet as pq

        ids: list[str] = []
        hashes: list[str] = []
        blocks = []
        for part in parts:
            try:
                table = pq.read_table(part)
                dim = table.schema.field("embedding").type.list_size
                flat = table.column("embedding").combine_chunks().flatten().to_numpy(zero_copy_only=False)
            except (OSError, ValueError, KeyError, pa.ArrowException):  # corrupt part: recompute its items
                continue
            ids.extend(table.column("id").to_pylist())
            hashes.extend(table.column("content").to_pylist())
            blocks.append(np.asarray(flat, dtype=np.float32).reshape(table.num_rows, dim))
        if not blocks:
            return [], [], np.zeros((0, 0), dtype=np.float32)
        return ids, hashes, np.concatenate(blocks)

    # ------------------------------------------------------------------ writing
    def _write_manifest(self, key: str, featurizer: Featurizer, dim: int, corpus: str | None) -> None:
        from .. import __version__

        folder = self.folder / key
        folder.mkdir(parents=True, exist_ok=True)
        manifest = folder / "manifest.json"
        if manifest.exists():
            return
        data = {
            "format": FORMAT,
            "featurizer": featurizer.name,
            "version": featurizer.version,
            "settings": featurizer.settings(),
            "kind": featurizer.kind,
            "corpus": corpus,
            "dim": int(dim),
            "dtype": "float32",
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "surelabel": __version__,
        }
        _atomic_write_bytes(manifest, json.dumps(data, indent=2, default=str).encode("utf-8"))

    def _write_part(self, key: str, ids: Sequence[str], hashes: Sequence[str], X: np.ndarray) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        X = np.ascontiguousarray(X, dtype=np.float32)
        folder = self.folder / key
        n_parts = len(list(folder.glob("part-*.parquet")))
        embedding = pa.FixedSizeListArray.from_arrays(pa.array(X.reshape(-1), type=pa.float32()), X.shape[1])
        table = pa.table({"id": pa.array(list(ids), pa.string()), "content": pa.array(list(hashes), pa.string()),
                          "embedding": embedding})
        final = folder / f"part-{n_parts:05d}-{uuid.uuid4().hex[:8]}.parquet"
        tmp = final.with_name("." + final.name + ".tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, final)

    # ------------------------------------------------------------------ the one call
    def get_or_compute(self, ids: Sequence[Any], inputs: Sequence[Any], featurizer: Featurizer, *,
                       quiet: bool | None = None) -> Embeddings:
        """Vectors for ``inputs`` (one per id), computing only those not cached yet.

        Ids are compared as strings and must be unique. Featurizers whose vectors depend
        on the corpus (``corpus_dependent``) are fit on all inputs, in id order, and cached
        under a fingerprint of the whole corpus; an earlier corpus's entry is replaced.
        A failing item raises :class:`ItemError` naming its id; the chunks finished before
        it stay cached.
        """
        ids = [str(i) for i in ids]
        inputs = list(inputs)
        if len(ids) != len(inputs):
            raise ValueError(f"Got {len(ids)} ids for {len(inputs)} inputs; give one id per input.")
        if not ids:
            raise InputError("No items to featurize.")
        seen: dict[str, int] = {}
        for i, item_id in enumerate(ids):
            if item_id in seen:
                raise InputError(f"Id {item_id!r} appears more than once (items {seen[item_id] + 1} and {i + 1}); "
                                 "ids must be unique.")
            seen[item_id] = i
        hashes = [content_hash(x, featurizer.kind) for x in inputs]
        base = _base_key(featurizer)
        corpus = corpus_fingerprint(ids, hashes) if featurizer.corpus_dependent else None
        key = base if corpus is None else f"{base}-corpus-{corpus}"
        stale = self.stale_entries(featurizer)

        stored_ids, stored_hashes, stored = self.load(key)
        where = {}
        for row, (sid, sh) in enumerate(zip(stored_ids, stored_hashes)):
            where.setdefault((sid, sh), row)
        rows = np.array([where.get((i, h), -1) for i, h in zip(ids, hashes)], dtype=np.int64)
        missing = np.flatnonzero(rows < 0)
        n_cached = len(ids) - len(missing)
        X = np.zeros((len(ids), stored.shape[1] if stored.size else 0), dtype=np.float32)
        if n_cached:
            X = stored[np.maximum(rows, 0)].copy()

        if len(missing) and featurizer.corpus_dependent:
            order = sorted(range(len(ids)), key=ids.__getitem__)
            Z = _run(featurizer, [inputs[i] for i in order], order, ids, fit=True)
            X = np.empty_like(Z)
            X[order] = Z
            # The previous corpus's vectors are useless now: replace them.
            for entry in self.entries():
                if entry["key"].startswith(base + "-corpus-") and entry["key"] != key:
                    shutil.rmtree(self.folder / entry["key"], ignore_errors=True)
            self._write_manifest(key, featurizer, X.shape[1], corpus)
            self._write_part(key, ids, hashes, X)
            missing_count = len(ids)
            n_cached = 0
        elif len(missing):
            chunk = int(getattr(featurizer, "chunk_size", 512))
            with progress_bar(len(missing), f"Featurizing ({featurizer.name})", quiet=quiet) as advance:
                for sl in batches(len(missing), chunk):
                    positions = missing[sl]
                    Z = _run(featurizer, [inputs[i] for i in positions], list(positions), ids, fit=False)
                    if X.shape[1] == 0:
                        X = np.zeros((len(ids), Z.shape[1]), dtype=np.float32)
                    if Z.shape[1] != X.shape[1]:
                        raise InputError(
                            f"Cache entry {key} holds {X.shape[1]}-d vectors but {featurizer.name} now makes "
                            f"{Z.shape[1]}-d ones; delete {self.folder / key}."
                        )
                    X[positions] = Z
                    self._write_manifest(key, featurizer, Z.shape[1], None)
                    self._write_part(key, [ids[i] for i in positions], [hashes[i] for i in positions], Z)
                    advance(len(positions))
            missing_count = len(missing)
        else:
            missing_count = 0
        return Embeddings(X=X, ids=ids, key=key, featurizer=featurizer.name, version=featurizer.version,
                          n_cached=n_cached, n_computed=missing_count, stale_keys=stale)


def _run(featurizer: Featurizer, inputs: list[Any], positions: list[int], ids: list[str], *, fit: bool) -> np.ndarray:
    """Call the featurizer; turn a failing item's position back into its id."""
    try:
        Z = featurizer.fit_transform(inputs) if fit else featurizer.transform(inputs)
    except ItemError as exc:
        where = positions[exc.position]
        raise ItemError(where, exc.reason, item_id=ids[where]) from None
    Z = np.asarray(Z, dtype=np.float32)
    if Z.ndim != 2 or Z.shape[0] != len(inputs):
        raise ValueError(f"Featurizer {featurizer.name!r} returned shape {Z.shape} for {len(inputs)} inputs.")
    return Z


def _base_key(featurizer: Featurizer) -> str:
    key = getattr(featurizer, "key", None)
    if key:
        return str(key)
    return f"{featurizer.name}-" + fingerprint({"name": featurizer.name, "version": featurizer.version,
                                                "settings": featurizer.settings()})


def _part_rows(path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except (OSError, ValueError, pa.ArrowException):
        return 0


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name("." + path.name + f".{uuid.uuid4().hex[:6]}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
