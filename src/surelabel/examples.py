"""Small example items files for trying a project: built-in digits or the unit ball, nothing downloaded.

Examples
--------
>>> frame = example_items("digits")
>>> frame.shape, frame.columns[:3].tolist()
((1797, 67), ['id', 'picture', 'px00'])
>>> print(frame.loc[0, "picture"].splitlines()[2])
  ::%%..  **==
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .exceptions import InputError

__all__ = ["example_items", "write_example", "digit_picture"]

_SHADES = " .:-=+*#%@"


def digit_picture(pixels: np.ndarray) -> str:
    """An 8×8 digit (values in [0, 1]) drawn with characters, two per pixel."""
    grid = np.asarray(pixels, dtype=float).reshape(8, 8)
    idx = np.clip(np.rint(grid * (len(_SHADES) - 1)), 0, len(_SHADES) - 1).astype(int)
    return "\n".join("".join(_SHADES[i] * 2 for i in row).rstrip() for row in idx)


def example_items(name: str, *, n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """The example items: ``digits`` (id, picture, px00…px63, label) or ``unit-ball`` (id, f0…f4, label)."""
    from . import datasets

    if name == "digits":
        X, y = datasets.digits()
        frame = pd.DataFrame(np.round(X, 4), columns=[f"px{i:02d}" for i in range(X.shape[1])])
        frame.insert(0, "picture", [digit_picture(x) for x in X])
        frame.insert(0, "id", [f"digit-{i:04d}" for i in range(len(y))])
        frame["label"] = y
        return frame
    if name == "unit-ball":
        X, y = datasets.unit_ball(n, d=5, random_state=seed)
        frame = pd.DataFrame(np.round(X, 6), columns=[f"f{i}" for i in range(X.shape[1])])
        frame.insert(0, "id", [f"ball-{i:05d}" for i in range(len(y))])
        frame["label"] = np.where(y == 1, "pos", "neg")
        return frame
    raise InputError(f"Unknown example {name!r}. Allowed: digits, unit-ball.")


def write_example(name: str, out: str | Path, *, n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Write :func:`example_items` to ``.csv``, ``.parquet`` or ``.jsonl`` (by extension)."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet", ".jsonl"):
        raise InputError(f"Cannot write {out}: use a .csv, .parquet or .jsonl file name.")
    frame = example_items(name, n=n, seed=seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        frame.to_csv(out, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(out, index=False)
    else:
        frame.to_json(out, orient="records", lines=True)
    return frame
