"""Raw text and images in, vectors out: featurizers, the embedding cache, and the call projects make.

========== ======= ===================================================== =====================
name       input   what                                                  needs
========== ======= ===================================================== =====================
tfidf      text    TF-IDF + truncated SVD (LSA), fit on the items         nothing extra
text-fast  text    WordLlama static embeddings, 256-d                     ``surelabel[text-fast]``
text       text    all-MiniLM-L6-v2 sentence embeddings, 384-d            ``surelabel[text]``
image      image   EfficientNet-Lite0 ImageNet features, 1280-d           ``surelabel[image]``
pixels     image   raw pixels, resized, flattened, scaled to [0, 1]       Pillow
========== ======= ===================================================== =====================

Models ship inside packages and load with downloads switched off; torch and the model
packages are imported only when a featurizer that needs them runs. See ``docs/featurize.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import InputError
from .base import BaseFeaturizer, ExtraMissingError, Featurizer, ItemError, check_texts, cpu_count
from .cache import EmbeddingCache, Embeddings
from .image import EfficientNetFeaturizer, PixelFeaturizer, load_image, read_image_folder
from .text import MiniLMFeaturizer, TfidfFeaturizer, WordLlamaFeaturizer

__all__ = [
    "Featurizer",
    "BaseFeaturizer",
    "FEATURIZERS",
    "get_featurizer",
    "featurizer_from_options",
    "featurize_items",
    "read_raw_items",
    "EmbeddingCache",
    "Embeddings",
    "TfidfFeaturizer",
    "WordLlamaFeaturizer",
    "MiniLMFeaturizer",
    "EfficientNetFeaturizer",
    "PixelFeaturizer",
    "read_image_folder",
    "load_image",
    "ExtraMissingError",
    "ItemError",
    "check_texts",
    "cpu_count",
]

#: Featurizer factories by name: ``factory(**settings) -> featurizer``.
FEATURIZERS: dict[str, Callable[..., Any]] = {
    "tfidf": TfidfFeaturizer,
    "text-fast": WordLlamaFeaturizer,
    "text": MiniLMFeaturizer,
    "image": EfficientNetFeaturizer,
    "pixels": PixelFeaturizer,
}

#: The featurizer used when none is named.
DEFAULT = {"text": "tfidf", "image": "image"}


def get_featurizer(name: str, **settings: Any) -> Any:
    """A featurizer by name (see :data:`FEATURIZERS`); nothing heavy is imported until it runs.

    Examples
    --------
    >>> get_featurizer("tfidf").kind, get_featurizer("image", image_size=64).image_size
    ('text', 64)
    """
    try:
        factory = FEATURIZERS[name]
    except KeyError:
        raise ValueError(f"Unknown featurizer {name!r}. Allowed: {', '.join(FEATURIZERS)}.") from None
    return factory(**settings)


def featurize_items(
    frame: pd.DataFrame,
    *,
    id_column: str | None = None,
    text: str | None = None,
    image: str | None = None,
    featurizer: str | Featurizer | None = None,
    cache_dir: str | Path | None = None,
    base_dir: str | Path | None = None,
    source: str = "the items",
    quiet: bool | None = None,
) -> Embeddings:
    """Embed one column of ``frame`` (texts, or image paths), reusing cached vectors.

    Parameters
    ----------
    frame : DataFrame
        The items, one per row.
    id_column : str, optional
        Column of unique item ids (the cache key); default: the row number.
    text, image : str
        The column holding the texts, or the image paths — exactly one of the two.
        Relative image paths are read from ``base_dir`` (e.g. the folder of the CSV).
    featurizer : str or Featurizer, default ``"tfidf"`` for text, ``"image"`` for images
        A name from :data:`FEATURIZERS` or a featurizer object.
    cache_dir : path, optional
        Folder of the :class:`EmbeddingCache`; ``None`` computes without caching.
    source : str
        How to name the items in error messages (e.g. the file name).
    quiet : bool, optional
        ``True`` hides the progress bar; default: shown only on a terminal.

    Returns
    -------
    Embeddings
        ``.X`` (n_items × d float32, rows in frame order), ``.ids``, ``.key``, and how many
        vectors were cached or computed.

    Examples
    --------
    >>> frame = pd.DataFrame({"id": [1, 2, 3, 4], "review": ["good film", "bad film", "great acting", "dull plot"]})
    >>> emb = featurize_items(frame, id_column="id", text="review", featurizer=TfidfFeaturizer(n_components=2))
    >>> emb.X.shape, emb.ids[:2]
    ((4, 2), ['1', '2'])
    """
    if (text is None) == (image is None):
        raise InputError("Give exactly one input column: text=COLUMN for texts or image=COLUMN for image paths.")
    column = text if text is not None else image
    kind = "text" if text is not None else "image"
    if column not in frame.columns:
        available = ", ".join(map(str, frame.columns[:30]))
        raise InputError(f"Column {column!r} not found in {source}. Available: {available}.")
    by_name = featurizer is None or isinstance(featurizer, str)
    feat = get_featurizer(featurizer or DEFAULT[kind]) if by_name else featurizer
    if feat.kind != kind:
        raise InputError(
            f"Featurizer {feat.name!r} reads {feat.kind}s but {column!r} was given as {kind}; "
            f"use one of: {', '.join(n for n, f in FEATURIZERS.items() if get_featurizer(n).kind == kind)}."
        )
    if id_column is not None:
        if id_column not in frame.columns:
            available = ", ".join(map(str, frame.columns[:30]))
            raise InputError(f"Column {id_column!r} not found in {source}. Available: {available}.")
        id_series = frame[id_column]
        if id_series.isna().any():
            row = int(np.flatnonzero(id_series.isna().to_numpy())[0])
            raise InputError(f"{source}, row {row + 1}: column {id_column!r} (the id) is empty; "
                             "every item needs an id.")
        ids = [str(v) for v in id_series]
    else:
        ids = [str(i) for i in range(len(frame))]
    inputs = list(frame[column])
    if kind == "image" and base_dir is not None:
        base = Path(base_dir)
        inputs = [base / v if isinstance(v, str) and v.strip() and not Path(v).is_absolute() else v for v in inputs]
    cache = EmbeddingCache(cache_dir) if cache_dir is not None else None
    try:
        if cache is not None:
            return cache.get_or_compute(ids, inputs, feat, quiet=quiet)
        return _compute_uncached(ids, inputs, feat, quiet=quiet)
    except ItemError as exc:
        raise InputError(
            f"{source}, row {exc.position + 1} (id {ids[exc.position]!r}), column {column!r}: {exc.reason}"
        ) from None


def _compute_uncached(ids: list[str], inputs: list[Any], feat: Any, *, quiet: bool | None) -> Embeddings:
    from .base import batches, progress_bar
    from .cache import _run

    if not ids:
        raise InputError("No items to featurize.")
    if feat.corpus_dependent:  # fit in id order, exactly as the cache does
        order = sorted(range(len(ids)), key=ids.__getitem__)
        Z = _run(feat, [inputs[i] for i in order], order, ids, fit=True)
        X = np.empty_like(Z)
        X[order] = Z
    else:
        parts = []
        with progress_bar(len(ids), f"Featurizing ({feat.name})", quiet=quiet) as advance:
            for sl in batches(len(ids), int(getattr(feat, "chunk_size", 512))):
                parts.append(_run(feat, inputs[sl], list(range(sl.start, sl.stop)), ids, fit=False))
                advance(sl.stop - sl.start)
        X = np.concatenate(parts)
    key = getattr(feat, "key", feat.name)
    return Embeddings(X=X, ids=ids, key=key, featurizer=feat.name, version=feat.version, n_cached=0,
                      n_computed=len(ids))


def featurizer_from_options(name: str | None, kind: str, *, image_size: int | None = None) -> Any:
    """The featurizer the command-line options describe (``--featurizer``, ``--image-size``).

    Examples
    --------
    >>> featurizer_from_options(None, "image", image_size=64)
    EfficientNetFeaturizer(image_size=64, normalization='lite')
    >>> featurizer_from_options("pixels", "image", image_size=16).size
    16
    """
    name = name or DEFAULT[kind]
    settings: dict[str, Any] = {}
    if image_size is not None:
        if name == "image":
            settings["image_size"] = image_size
        elif name == "pixels":
            settings["size"] = image_size
        else:
            raise InputError(f"--image-size applies to the image featurizers (image, pixels), not {name!r}.")
    return get_featurizer(name, **settings)


def read_raw_items(path: str | Path, *, text: str | None = None,
                   image: str | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Items with raw inputs: a table with a text or image-path column, or a folder of images.

    Returns the frame and the keyword arguments for :func:`featurize_items` that go with it
    (``text`` or ``image``, ``base_dir``, ``source``, and ``id_column`` for a folder). For a
    folder (see :func:`read_image_folder`) the inputs are the column ``image``, the ids
    the relative paths, and a folder of class subfolders adds the column ``label``.
    Relative image paths in a table are read from the table's folder.
    """
    from ..io import read_table

    path = Path(path)
    if path.is_dir():
        if text is not None:
            raise InputError(f"{path} is a folder of images; --text needs a table (.csv, .parquet, .jsonl).")
        if image not in (None, "image"):
            raise InputError(f"{path} is a folder of images; --image COLUMN is for a table of image paths.")
        frame = read_image_folder(path)
        return frame, {"image": "image", "id_column": "id", "base_dir": None, "source": str(path)}
    if (text is None) == (image is None):
        raise InputError("Give exactly one of --text COLUMN (texts) or --image COLUMN (image paths), "
                         "or a folder of images.")
    frame = read_table(path)
    kwargs: dict[str, Any] = {"source": str(path), "base_dir": path.parent}
    kwargs["text" if text is not None else "image"] = text if text is not None else image
    return frame, kwargs
