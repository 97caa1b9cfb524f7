"""Where a project's image files may come from: allowed folders ("media roots"), checked at ``init`` and on serving.

An items file names its images by path, and the web page sends those files to whoever asks
(``GET /api/image``). A path such as ``../../../../etc/passwd`` — or a symlink to a secret —
must therefore never be honoured. Every image path is resolved (``Path.resolve()``, so
symlinks are followed and ``..`` removed) and must fall inside one of the allowed folders:

* the folder of the items file (``surelabel init --items FILE``), or the images folder
  (``surelabel init --images FOLDER``);
* any folder given with ``--media-root`` (at ``init``, stored with the project, or at
  ``serve`` for this run only);

and never inside the project folder itself (its database and settings are not images).

Roots are stored relative to the project folder, like the image paths themselves, so a
project moved together with its images keeps working. URLs (``https://…``) are left to the
browser and are not files this server reads.

Examples
--------
>>> import tempfile
>>> root = Path(tempfile.mkdtemp())
>>> (root / "img").mkdir()
>>> is_inside(root / "img" / "a.png", [root])
True
>>> is_inside(root / ".." / "etc" / "passwd", [root])
False
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .exceptions import InputError

__all__ = ["MediaPathError", "is_inside", "check_image_column", "stored_roots", "project_roots", "is_url"]


class MediaPathError(InputError):
    """An image path that resolves outside every allowed folder (or inside the project folder)."""


def is_url(value: str) -> bool:
    """Whether an image value is a URL for the browser to fetch rather than a file for the server to read."""
    return "://" in value


def _resolved(path: str | Path) -> Path:
    return Path(os.path.expanduser(str(path))).resolve()


def is_inside(path: str | Path, roots: Iterable[str | Path], *, forbidden: Iterable[str | Path] = ()) -> bool:
    """Whether ``path``, symlinks followed, lies inside one of ``roots`` and inside none of ``forbidden``."""
    real = _resolved(path)
    if any(real.is_relative_to(_resolved(f)) for f in forbidden):
        return False
    return any(real.is_relative_to(_resolved(r)) for r in roots)


def _roots_text(roots: Sequence[Path]) -> str:
    return ", ".join(str(r) for r in roots) if roots else "none"


def check_image_column(values: Iterable[Any], *, ids: Sequence[Any], base: Path, roots: Sequence[str | Path],
                       project: Path, source: str) -> None:
    """Refuse the first image path outside the allowed ``roots`` (relative paths are read from ``base``).

    Raises :class:`MediaPathError` naming the file, the row (1-based, as in the other
    messages about items files), the item's id, the offending path and what to do.
    """
    real_roots = [_resolved(r) for r in roots]
    real_project = _resolved(project)
    for row, value in enumerate(values):
        if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):  # no image
            continue
        text = str(value)
        if is_url(text):
            continue
        p = Path(os.path.expanduser(text))
        real = (p if p.is_absolute() else base / p).resolve()
        if real.is_relative_to(real_project):
            raise MediaPathError(
                f"{source}, row {row + 1} (id {ids[row]!r}): image {text!r} points into the project folder "
                f"{project}; image files must live outside it."
            )
        if not any(real.is_relative_to(r) for r in real_roots):
            raise MediaPathError(
                f"{source}, row {row + 1} (id {ids[row]!r}): image {text!r} resolves to {real}, outside the "
                f"allowed folders ({_roots_text(real_roots)}); move the images there or add --media-root FOLDER."
            )


def stored_roots(roots: Sequence[str | Path], project: Path) -> list[str]:
    """The roots as stored in the project's settings: relative to the project folder where possible."""
    out: list[str] = []
    real_project = _resolved(project)
    for r in roots:
        real = _resolved(r)
        try:
            text = os.path.relpath(real, real_project)
        except ValueError:  # another drive (Windows)
            text = str(real)
        if text not in out:
            out.append(text)
    return out


def project_roots(config: dict[str, Any], project: Path, extra: Sequence[str | Path] = ()) -> list[Path]:
    """The folders images may be served from: those stored at ``init`` plus ``extra`` (``serve --media-root``).

    A project made before roots were stored has none: its images are served only from
    ``--media-root`` folders given to ``serve``.
    """
    roots = [(project / r) if not Path(r).is_absolute() else Path(r) for r in config.get("media_roots") or []]
    return [_resolved(r) for r in [*roots, *extra]]
