"""The scoring pass on a Dask cluster (``pip install 'surelabel[dask]'``).

Each round, the model is trained on the driver (human labels are few), sent once to every
worker, and each worker scores a partition of the items still in the pool, returning their
scores, predictions and (for the items the query strategy reads) probabilities. Thresholds are
estimated on the driver from those arrays, exactly as in process. Partitions are whole
multiples of the engine's scoring chunk (:func:`~surelabel.engine.chunk_rows`), so every row is
computed in a block of the same rows as in process and the labels are identical for the same
seed.

Where the features live:

* a pool on disk (:class:`~surelabel.pool.NpyPool`, a read-only memory-mapped ``.npy``, or a
  Parquet file's spill): workers open the same path, so it must be on a file system every
  worker sees at that path (NFS, a shared volume; on one machine, any path);
* an in-memory array: sent once to every worker when the run starts.

>>> from sklearn.linear_model import LogisticRegression            # doctest: +SKIP
>>> labeler = AutoLabeler(LogisticRegression(), epsilon=0.05, budget=4000,
...                       scheduler="tcp://scheduler-host:8786")     # doctest: +SKIP
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .exceptions import InputError

__all__ = ["DistributedPool", "connect"]


def connect(scheduler: Any, workers: int | None = None) -> tuple[Any, Any]:
    """``(client, close)`` for ``scheduler``: an address (``tcp://host:8786``), ``"local"`` (a
    :class:`~distributed.LocalCluster` of ``workers`` single-threaded worker processes, 2 by
    default) or a :class:`~distributed.Client` (left open)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError("Scoring on a Dask cluster needs dask.distributed: pip install 'surelabel[dask]'.") from None
    if isinstance(scheduler, Client):
        return scheduler, lambda: None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=int(workers or 2), threads_per_worker=1, processes=True,
                               dashboard_address=":0")
        client = Client(cluster)

        def close() -> None:
            client.close()
            cluster.close()

        return client, close
    if isinstance(scheduler, str):
        try:
            client = Client(scheduler, timeout="30s")
        except OSError as exc:
            raise InputError(f"Cannot reach the Dask scheduler at {scheduler}: {exc}.") from None
        return client, client.close
    raise InputError(f"scheduler must be an address like 'tcp://host:8786', 'local' or a dask Client. "
                     f"Got {scheduler!r}.")


def _score_part(model: Any, X: Any, rows: np.ndarray, n_classes: int, score: Any, keep: int, step: int) -> tuple:
    from .engine import score_rows

    return score_rows(model, X, rows, n_classes, score, keep_proba=keep, chunk=step)


class DistributedPool:
    """The rows of ``X`` on the driver, and :meth:`score_rows` on a Dask cluster.

    ``X`` is an in-memory array or a pool on disk (:mod:`surelabel.pool`); ``client`` a
    :class:`distributed.Client`.
    """

    ndim = 2

    def __init__(self, X: Any, client: Any) -> None:
        from .pool import as_pool

        self.base = X
        self.client = client
        self.shape = tuple(X.shape)
        self.dtype = X.dtype
        pool = as_pool(X)
        if pool is not None:
            self._ref: Any = pool  # pickled by path: workers read the same file
        else:
            self._ref = client.scatter(np.ascontiguousarray(X), broadcast=True)
        self.finite_checked = True  # checked by check_features before it is wrapped

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        return self.base[key]

    @property
    def n_workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def score_rows(self, model: Any, rows: np.ndarray, n_classes: int, score: Any, *,
                   keep_proba: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`surelabel.engine.score_rows`, one partition per task."""
        from .engine import chunk_rows, confidence_scores, energy, get_score

        n = rows.size
        row_wise = isinstance(score, str) or get_score(score) is energy
        step = chunk_rows(self.shape[1])
        per = step * max(1, math.ceil(n / step / (2 * self.n_workers)))  # two tasks per worker, whole chunks
        model_f = self.client.scatter(model, broadcast=True, hash=False)
        futures = []
        for lo in range(0, n, per):
            hi = min(lo + per, n)
            keep = hi - lo if not row_wise else max(0, min(keep_proba, hi) - lo)
            futures.append(self.client.submit(_score_part, model_f, self._ref, rows[lo:hi], n_classes,
                                              score if row_wise else "max_proba", keep, step, pure=False))
        parts = self.client.gather(futures)
        scores = np.concatenate([p[0] for p in parts]) if parts else np.empty(0)
        pred = np.concatenate([p[1] for p in parts]) if parts else np.empty(0, dtype=np.intp)
        proba = np.concatenate([p[2] for p in parts]) if parts else np.empty((0, n_classes))
        if not row_wise:  # a score over the whole matrix: on the driver, as in process
            scores = confidence_scores(score, proba, np.empty((0, n_classes)))
            proba = proba[:keep_proba]
        return scores, pred, proba
