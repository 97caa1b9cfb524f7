"""What every featurizer shares: the protocol, its cache key, lazy extras, threads and progress.

A featurizer turns raw inputs (texts, or image paths) into a float32 matrix, one row per
input. Its *key* — name, version and a fingerprint of the settings that change its output —
names its entry in the embedding cache, so a different model, model version or setting is
never mistaken for the one that filled the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..exceptions import InputError, SurelabelError

__all__ = [
    "Featurizer",
    "BaseFeaturizer",
    "ExtraMissingError",
    "ItemError",
    "require",
    "cpu_count",
    "offline_environment",
    "progress_bar",
    "check_texts",
]

#: How to install each optional extra; quoted so that shells do not expand the brackets.
INSTALL = {
    "text": 'pip install "surelabel[text]"',
    "text-fast": 'pip install "surelabel[text-fast]"',
    "image": 'pip install "surelabel[image]"',
}


class ExtraMissingError(SurelabelError, ImportError):
    """A featurizer needs an optional extra that is not installed; the message says how to install it."""


class ItemError(InputError):
    """One input cannot be featurized (an empty text, an unreadable image).

    ``position`` is the item's index in the inputs given; :func:`~surelabel.featurize.featurize_items`
    turns it into the item's id.
    """

    def __init__(self, position: int, reason: str, item_id: str | None = None) -> None:
        self.position = int(position)
        self.reason = reason
        self.item_id = item_id
        super().__init__(f"Item {item_id!r}: {reason}" if item_id is not None else f"Item #{position + 1}: {reason}")


@runtime_checkable
class Featurizer(Protocol):
    """What the cache and :func:`featurize_items` need from a featurizer.

    ``kind`` is ``"text"`` or ``"image"``; ``corpus_dependent`` is true when an item's vector
    depends on the other items (TF-IDF + SVD is fit on the corpus), so the cache keys it on
    the corpus as well. Outputs are deterministic: the same inputs give the same matrix.
    """

    name: str
    version: str
    kind: str
    corpus_dependent: bool

    def settings(self) -> dict[str, Any]: ...

    def fit_transform(self, inputs: Sequence[Any]) -> np.ndarray: ...

    def transform(self, inputs: Sequence[Any]) -> np.ndarray: ...


class BaseFeaturizer:
    """Shared plumbing: settings fingerprint, cache key, ``fit_transform`` = ``transform``.

    Subclasses set ``name``, ``version`` (bumped whenever outputs change for the same
    settings), ``kind``, list the output-changing constructor arguments in ``_settings`` and
    implement ``transform``.
    """

    name: str = ""
    version: str = ""
    kind: str = "text"
    corpus_dependent: bool = False
    _settings: tuple[str, ...] = ()

    def settings(self) -> dict[str, Any]:
        """The settings that change the output (batch sizes and progress bars do not)."""
        return {k: getattr(self, k) for k in self._settings}

    @property
    def fingerprint(self) -> str:
        """12 hex digits of SHA-256 over name, version and settings."""
        return fingerprint({"name": self.name, "version": self.version, "settings": self.settings()})

    @property
    def key(self) -> str:
        """``name-fingerprint``: the cache entry's folder name."""
        return f"{self.name}-{self.fingerprint}"

    def fit_transform(self, inputs: Sequence[Any]) -> np.ndarray:
        return self.transform(inputs)

    def transform(self, inputs: Sequence[Any]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.settings().items())
        return f"{type(self).__name__}({args})"


def fingerprint(obj: Any) -> str:
    """A short stable hash of a JSON-able object.

    Examples
    --------
    >>> fingerprint({"a": 1}) == fingerprint({"a": 1}), len(fingerprint([1, 2]))
    (True, 12)
    """
    text = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def require(module: str, *, featurizer: str, extra: str) -> Any:
    """Import ``module`` or say exactly which extra to install.

    Examples
    --------
    >>> require("json", featurizer="x", extra="text").__name__
    'json'
    >>> require("no_such_module_xyz", featurizer="text", extra="text")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    surelabel.featurize.base.ExtraMissingError: Featurizer 'text' needs the text extra: pip install "...
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing = getattr(exc, "name", None) or module
        raise ExtraMissingError(
            f"Featurizer {featurizer!r} needs the {extra} extra: {INSTALL[extra]} (missing module {missing})."
        ) from None


def cpu_count() -> int:
    """Cores this process may use (its CPU affinity, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def offline_environment() -> None:
    """Forbid hub downloads for everything loaded after this call (models ship inside packages)."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ[var] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def torch_setup() -> Any:
    """Import torch (caller checked the extra), use every core, and no autograd."""
    import torch

    torch.set_num_threads(cpu_count())
    return torch


@contextlib.contextmanager
def quiet_imports() -> Iterator[None]:
    """Undo what noisy libraries do on import: ``logging.basicConfig`` on the root logger."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for h in root.handlers[:]:
            if h not in handlers:
                root.removeHandler(h)
        root.setLevel(level)


def show_progress(quiet: bool | None) -> bool:
    """Progress bars only for a person watching: not when quiet, not when stderr is not a terminal."""
    if quiet is not None:
        return not quiet
    return sys.stderr.isatty()


@contextlib.contextmanager
def progress_bar(total: int, description: str, *, quiet: bool | None = None) -> Iterator[Any]:
    """A rich progress bar on stderr; yields ``advance(n)``. Silent when not shown."""
    if not show_progress(quiet) or total <= 0:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)


def check_texts(texts: Sequence[Any]) -> list[str]:
    """Texts as a list of ``str``; a missing, non-text or blank text raises :class:`ItemError`.

    Examples
    --------
    >>> check_texts(["a", "b c"])
    ['a', 'b c']
    >>> check_texts(["ok", "  "])
    Traceback (most recent call last):
    ...
    surelabel.featurize.base.ItemError: Item #2: the text is empty.
    """
    out = []
    for i, t in enumerate(texts):
        if t is None or (isinstance(t, float) and np.isnan(t)):
            raise ItemError(i, "the text is missing.")
        if not isinstance(t, str):
            raise ItemError(i, f"expected a text, got {type(t).__name__} {t!r}.")
        if not t.strip():
            raise ItemError(i, "the text is empty.")
        out.append(t)
    return out


def batches(n: int, size: int) -> Iterator[slice]:
    """Consecutive slices of at most ``size`` covering ``range(n)``."""
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))
