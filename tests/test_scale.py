"""Large pools: no float64 copy, chunked scoring, pools on disk (.npy, Parquet), bench scale."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from surelabel import SimulatedOracle, engine
from surelabel.loop import AutoLabeler, check_features
from surelabel.pool import NpyPool, open_pool


def _blobs(n: int = 6000, d: int = 8, k: int = 4, seed: int = 0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    X = rng.normal(size=(k, d))[y] * 0.9 + rng.normal(size=(n, d))
    return X.astype(dtype), y


def _labeler(**kw):
    return AutoLabeler(LogisticRegression(), epsilon=0.1, budget=1200, validation_size=600, batch_size=150,
                       random_state=3, **kw)


class _Spy(LogisticRegression):
    seen: list = []

    def fit(self, X, y):
        _Spy.seen.append(("fit", X.dtype))
        return super().fit(X, y)

    def predict_proba(self, X):
        _Spy.seen.append(("predict_proba", X.dtype))
        return super().predict_proba(X)


def test_float32_stays_float32_and_no_float64_copy():
    X, y = _blobs()
    assert check_features(X) is X  # no copy at all
    assert check_features(X.astype(np.float16)).dtype == np.float16
    assert check_features(X.astype(np.int64)).dtype == np.float64
    _Spy.seen = []
    AutoLabeler(_Spy(), epsilon=0.1, budget=1200, validation_size=600, batch_size=150,
                random_state=3).run(X, SimulatedOracle(y))
    assert _Spy.seen and {dt for _, dt in _Spy.seen} == {np.dtype(np.float32)}


def test_nonfinite_found_chunk_wise(monkeypatch):
    monkeypatch.setattr("surelabel.loop.SCORE_CHUNK_ROWS", 100)
    X, _ = _blobs(1000)
    X[537, 2] = np.nan
    with pytest.raises(Exception, match="row 537, column 2"):
        check_features(X)


def test_chunked_scoring_gives_the_same_labels(monkeypatch):
    X, y = _blobs(dtype=np.float64)
    whole = _labeler().run(X, SimulatedOracle(y))
    monkeypatch.setattr(engine, "SCORE_CHUNK_ROWS", 777)
    chunked = _labeler().run(X, SimulatedOracle(y))
    assert np.array_equal(whole.labels, chunked.labels)
    assert np.array_equal(whole.source, chunked.source)
    assert np.array_equal(whole.scores, chunked.scores, equal_nan=True)
    assert whole.coverage > 0.2


def test_callable_score_sees_every_row_at_once(monkeypatch):
    X, y = _blobs(dtype=np.float64)
    sizes = []

    def score(proba):
        sizes.append(proba.shape[0])
        return proba.max(axis=1)

    monkeypatch.setattr(engine, "SCORE_CHUNK_ROWS", 500)
    a = _labeler(score=score).run(X, SimulatedOracle(y))
    b = _labeler().run(X, SimulatedOracle(y))
    assert min(sizes) > 500 and np.array_equal(a.labels, b.labels)


def test_memmap_npy_and_parquet_folder_give_the_same_labels(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.setattr(engine, "SCORE_CHUNK_ROWS", 1000)
    X, y = _blobs()
    ref = _labeler().run(X, SimulatedOracle(y))
    np.save(tmp_path / "pool.npy", X)
    mm = np.load(tmp_path / "pool.npy", mmap_mode="r")
    got = _labeler().run(mm, SimulatedOracle(y))
    assert np.array_equal(ref.labels, got.labels) and np.array_equal(ref.source, got.source)
    folder = tmp_path / "items"
    folder.mkdir()
    d = X.shape[1]
    for i, lo in enumerate(range(0, X.shape[0], 2500)):  # three files, several row groups each
        part = X[lo:lo + 2500]
        emb = pa.FixedSizeListArray.from_arrays(pa.array(part.ravel()), d)
        pq.write_table(pa.table({"embedding": emb, "label": y[lo:lo + 2500]}), folder / f"part-{i}.parquet",
                       row_group_size=700)
    with open_pool(folder, exclude=["label"], chunk_rows=900) as pool:
        assert pool.shape == X.shape and pool.dtype == np.float32
        assert np.array_equal(pool[np.array([5999, 0, 3000, 3000])], X[[5999, 0, 3000, 3000]])
        got = _labeler().run(pool, SimulatedOracle(y))
    assert np.array_equal(ref.labels, got.labels) and np.array_equal(ref.source, got.source)
    pq.write_table(pa.table({f"f{j}": X[:, j] for j in range(d)} | {"label": y}), tmp_path / "cols.parquet")
    with open_pool(tmp_path / "cols.parquet", prefix="f") as pool:
        got = _labeler().run(pool, SimulatedOracle(y))
    assert np.array_equal(ref.labels, got.labels)


def test_npy_pool_reads_scattered_and_dense_rows(tmp_path):
    X = np.arange(50_000 * 3, dtype=np.float64).reshape(-1, 3)
    np.save(tmp_path / "a.npy", X)
    pool = NpyPool(tmp_path / "a.npy", chunk_rows=4096)
    rng = np.random.default_rng(0)
    for idx in (rng.choice(50_000, 30, replace=False), rng.permutation(50_000)[:40_000], np.arange(100, 9000)):
        assert np.array_equal(pool[idx], X[idx])
    assert np.array_equal(pool[10:20], X[10:20]) and np.array_equal(pool[-1], X[-1])
    assert sum(b.shape[0] for _, b in pool.iter_chunks(1000)) == 50_000
    pool.close()


def test_cli_run_npy_and_parquet_out_of_core(tmp_path):
    import json

    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    from click.testing import CliRunner

    from surelabel.cli import main

    X, y = _blobs(3000)
    np.save(tmp_path / "pool.npy", X)
    np.save(tmp_path / "labels.npy", y)
    emb = pa.FixedSizeListArray.from_arrays(pa.array(X.ravel()), X.shape[1])
    pq.write_table(pa.table({"emb": emb, "label": y, "id": np.arange(3000) + 10}), tmp_path / "items.parquet")
    runner = CliRunner()
    a = runner.invoke(main, ["run", str(tmp_path / "pool.npy"), "--simulate-from", str(tmp_path / "labels.npy"),
                             "--budget", "1600", "--epsilon", "0.15", "--json"])
    assert a.exit_code == 0, a.output
    b = runner.invoke(main, ["run", str(tmp_path / "items.parquet"), "--out-of-core", "--simulate-from", "label",
                             "--id-column", "id", "--budget", "1600", "--epsilon", "0.15",
                             "--out", str(tmp_path / "o.parquet"), "--json"])
    assert b.exit_code == 0, b.output
    ja, jb = json.loads(a.stdout), json.loads(b.stdout)
    assert ja["n_auto"] == jb["n_auto"] > 0
    out = pd.read_parquet(tmp_path / "o.parquet")
    assert len(out) == 3000 and out.iloc[0, 0] == 10
    bad = runner.invoke(main, ["run", str(tmp_path / "pool.npy"), "--simulate-from", "nope", "--budget", "800"])
    assert bad.exit_code == 1 and "file of labels" in bad.output


def test_bench_scale_runs_on_a_tiny_pool(tmp_path):
    import json

    from click.testing import CliRunner

    from surelabel.cli import main

    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["bench", "scale", "--sizes", "3000", "--dims", "8", "--modes", "npy",
                                    "--budget", "1000", "--validation-size", "500", "--seed-size", "100",
                                    "--batch-size", "100", "--work", str(tmp_path / "work"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    rows = json.loads((out / "scale.json").read_text())["rows"]
    assert [r["mode"] for r in rows] == ["npy"]
    assert all(r["rss_peak_mib"] > 0 and r["score_pass_s"] > 0 and len(r["round_s"]) == r["rounds"] for r in rows)
    md = (out / "scale.md").read_text()
    assert "surelabel bench scale --sizes 3000" in md and "| 3,000 × 8" in md
    bad = CliRunner().invoke(main, ["bench", "scale", "--modes", "gpu"])
    assert bad.exit_code == 1 and "Unknown mode" in bad.output


@pytest.mark.filterwarnings("ignore")  # dask.distributed's own start-up and shutdown warnings
def test_local_dask_cluster_gives_the_labels_of_the_in_process_run(tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    from click.testing import CliRunner

    from surelabel.cli import main

    monkeypatch.setattr(engine, "SCORE_CHUNK_ROWS", 700)  # several partitions, several chunks in each
    X, y = _blobs()
    ref = _labeler().run(X, SimulatedOracle(y))
    np.save(tmp_path / "pool.npy", X)
    np.save(tmp_path / "labels.npy", y)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        got = _labeler(scheduler=client).run(np.load(tmp_path / "pool.npy", mmap_mode="r"), SimulatedOracle(y))
        assert np.array_equal(ref.labels, got.labels) and np.array_equal(ref.scores, got.scores, equal_nan=True)
        args = ["run", str(tmp_path / "pool.npy"), "--simulate-from", str(tmp_path / "labels.npy"),
                "--budget", "1600", "--epsilon", "0.15", "--json"]
        a = CliRunner().invoke(main, args)
        b = CliRunner().invoke(main, [*args, "--scheduler", cluster.scheduler_address])
    assert a.exit_code == 0 and b.exit_code == 0, b.output
    assert json.loads(a.stdout)["n_auto"] == json.loads(b.stdout)["n_auto"] > 0
