"""Built-in data: the paper's synthetic unit ball, a noisy multi-class set, and digits.

Everything here is generated or ships with an installed package: nothing is downloaded.
``reviews``, ``write_shape_images`` and ``write_digit_images`` make *raw* data (texts, image files) for the featurizers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .rng import RandomState, check_random_state

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["unit_ball", "noisy_blobs", "digits", "reviews", "write_digit_images", "write_shape_images"]


def unit_ball(n: int, d: int = 30, random_state: RandomState = None) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform in the unit ball of R^d, labeled ``1[w·x >= 0]`` with ``w = 1/sqrt(d)``.

    The synthetic data of Vishwakarma et al. (NeurIPS 2023): two linearly separable classes
    with no label noise, so every auto-labeling error comes from the model, not the data.

    Examples
    --------
    >>> X, y = unit_ball(1000, d=3, random_state=0)
    >>> X.shape, bool((np.linalg.norm(X, axis=1) <= 1).all()), sorted(set(y.tolist()))
    ((1000, 3), True, [0, 1])
    """
    if n < 1 or d < 1:
        raise ValueError(f"n and d must be positive. Got n={n}, d={d}.")
    rng = check_random_state(random_state)
    g = rng.standard_normal((n, d))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    radius = rng.random(n) ** (1.0 / d)
    X = g * radius[:, None]
    w = np.full(d, 1.0 / np.sqrt(d))
    y = (X @ w >= 0).astype(np.int64)
    return X, y


def noisy_blobs(
    n: int,
    n_classes: int = 4,
    d: int = 8,
    *,
    spread: float = 1.6,
    label_noise: float = 0.03,
    random_state: RandomState = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping Gaussian classes with a share of labels flipped: a hard multi-class set.

    Class means lie on a sphere of radius 2; ``spread`` is the per-feature standard
    deviation, so classes overlap, and ``label_noise`` of the labels are replaced by another
    class. No classifier can be certain everywhere: a test of whether thresholds stay honest.

    Examples
    --------
    >>> X, y = noisy_blobs(500, random_state=0)
    >>> X.shape, len(set(y.tolist()))
    ((500, 8), 4)
    """
    rng = check_random_state(random_state)
    means = rng.standard_normal((n_classes, d))
    means *= 2.0 / np.linalg.norm(means, axis=1, keepdims=True)
    y = rng.integers(n_classes, size=n)
    X = means[y] + spread * rng.standard_normal((n, d))
    flip = rng.random(n) < label_noise
    other = rng.integers(n_classes - 1, size=n)
    y = np.where(flip, other + (other >= y), y)
    return X, y.astype(np.int64)


def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8×8 handwritten digits: 1,797 items, 64 features scaled to [0, 1], 10 classes.

    Examples
    --------
    >>> X, y = digits()
    >>> X.shape, int(y.max())
    ((1797, 64), 9)
    """
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.data / 16.0, data.target.astype(np.int64)


_PRODUCTS = ["blender", "headphones", "desk lamp", "backpack", "coffee maker", "phone case", "keyboard",
             "running shoes", "tent", "novel", "board game", "vacuum cleaner", "water bottle", "jacket"]
_POSITIVE = {
    "strong": ["absolutely love it", "works perfectly", "best purchase this year", "exceeded my expectations",
               "excellent quality", "fantastic value for the money", "highly recommend it"],
    "weak": ["does the job", "pretty decent", "nice enough", "fairly sturdy", "arrived on time", "easy to set up"],
}
_NEGATIVE = {
    "strong": ["broke after two days", "complete waste of money", "terrible quality", "stopped working",
               "would not recommend it", "very disappointed", "returned it immediately"],
    "weak": ["a bit flimsy", "somewhat noisy", "smaller than expected", "instructions were confusing",
             "took long to arrive", "feels cheap"],
}
_FILLER = ["I bought it for my sister.", "Used it every day for a month.", "The box was plain.",
           "Shipping was standard.", "It comes in three colours.", "I ordered it on a Tuesday.", ""]


def reviews(n: int = 2000, random_state: RandomState = None) -> pd.DataFrame:
    """Short synthetic product reviews labeled ``positive`` / ``negative``: raw texts for the featurizers.

    Most reviews (65 %) carry two clear sentiment phrases; 20 % are mild (one weak phrase)
    and 15 % mixed ("a bit flimsy, but works perfectly"): a weak phrase of the other side,
    then the verdict. Mixed reviews are hard for some features, so not every item can be
    auto-labeled safely. Columns: ``id``,
    ``review``, ``label``.

    Examples
    --------
    >>> frame = reviews(50, random_state=0)
    >>> list(frame.columns), sorted(frame["label"].unique())
    (['id', 'review', 'label'], ['negative', 'positive'])
    """
    import pandas as pd

    if n < 1:
        raise ValueError(f"n must be positive. Got n={n}.")
    rng = check_random_state(random_state)
    rows = []
    for i in range(n):
        positive = bool(rng.random() < 0.5)
        own, other = (_POSITIVE, _NEGATIVE) if positive else (_NEGATIVE, _POSITIVE)
        product = _PRODUCTS[rng.integers(len(_PRODUCTS))]
        kind = rng.random()
        if kind < 0.65:  # clear
            a, b = rng.choice(own["strong"], 2, replace=False)
            body = f"{a.capitalize()}, {b}."
        elif kind < 0.85:  # mild
            body = f"{rng.choice(own['weak']).capitalize()}."
        else:  # mixed: a small complaint (or praise), but the verdict after "but" decides
            body = f"{rng.choice(other['weak']).capitalize()}, but {rng.choice(own['strong'])}."
        filler = _FILLER[rng.integers(len(_FILLER))]
        text = f"The {product}: {body} {filler}".strip()
        rows.append((f"r{i:05d}", text, "positive" if positive else "negative"))
    return pd.DataFrame(rows, columns=["id", "review", "label"])


def write_digit_images(folder: str | os.PathLike[str], *, size: int = 32, n_per_class: int | None = None) -> Path:
    """Save scikit-learn's digits as PNG files, one subfolder per class: a raw image folder.

    Each 8×8 image (grey levels 0–16) is scaled to 0–255 and enlarged to ``size × size``
    (bilinear). ``n_per_class`` keeps the first images of each class. Needs Pillow.
    Returns the folder, laid out as ``folder/<digit>/digit-<index>.png``.

    Examples
    --------
    >>> import tempfile
    >>> root = write_digit_images(tempfile.mkdtemp(), n_per_class=3)
    >>> sorted(p.name for p in root.iterdir())[:3], len(list(root.rglob("*.png")))
    (['0', '1', '2'], 30)
    """
    from sklearn.datasets import load_digits

    try:
        from PIL import Image
    except ImportError:
        from .exceptions import SurelabelError

        raise SurelabelError('Writing images needs Pillow: pip install "surelabel[image]"') from None
    data = load_digits()
    root = Path(folder)
    counts: dict[int, int] = {}
    for index, (pixels, target) in enumerate(zip(data.images, data.target)):
        target = int(target)
        if n_per_class is not None and counts.get(target, 0) >= n_per_class:
            continue
        counts[target] = counts.get(target, 0) + 1
        sub = root / str(target)
        sub.mkdir(parents=True, exist_ok=True)
        img = Image.fromarray(np.clip(pixels * 16, 0, 255).astype(np.uint8))
        img.resize((size, size), Image.BILINEAR).save(sub / f"digit-{index:04d}.png")
    return root


SHAPES = ("circle", "square", "triangle")


def write_shape_images(
    folder: str | os.PathLike[str], *, n_per_class: int = 200, size: int = 64, random_state: RandomState = None
) -> Path:
    """Draw random filled circles, squares and triangles as PNG files, one subfolder per shape.

    Each image has a random background colour, a shape of a contrasting random colour,
    size, position and rotation, and pixel noise. Raw pixels barely beat chance here (the
    shape moves and changes colour) while ImageNet features separate the shapes well: a
    small, offline stand-in for a folder of photos. Needs Pillow. Returns the folder, laid
    out as ``folder/<shape>/<shape>-<index>.png``.

    Examples
    --------
    >>> import tempfile
    >>> root = write_shape_images(tempfile.mkdtemp(), n_per_class=2, size=16, random_state=0)
    >>> sorted(p.name for p in root.iterdir()), len(list(root.rglob("*.png")))
    (['circle', 'square', 'triangle'], 6)
    """
    try:
        from PIL import Image, ImageDraw
    except ImportError:
        from .exceptions import SurelabelError

        raise SurelabelError('Writing images needs Pillow: pip install "surelabel[image]"') from None
    rng = check_random_state(random_state)
    root = Path(folder)
    for shape in SHAPES:
        (root / shape).mkdir(parents=True, exist_ok=True)
        corners = {"square": 4, "triangle": 3}.get(shape, 0)
        for i in range(n_per_class):
            background = rng.integers(0, 256, 3)
            colour = (background + 128 + rng.integers(-60, 61, 3)) % 256
            img = Image.new("RGB", (size, size), tuple(int(v) for v in background))
            draw = ImageDraw.Draw(img)
            r = rng.uniform(0.15, 0.35) * size
            cx, cy = rng.uniform(r, size - r, 2)
            fill = tuple(int(v) for v in colour)
            if corners:
                angle = rng.uniform(0, 2 * np.pi)
                draw.polygon([(cx + r * np.cos(angle + 2 * np.pi * k / corners),
                               cy + r * np.sin(angle + 2 * np.pi * k / corners)) for k in range(corners)], fill=fill)
            else:
                draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
            noisy = np.asarray(img, dtype=np.int16) + rng.integers(-20, 21, (size, size, 3))
            Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(root / shape / f"{shape}-{i:04d}.png")
    return root
