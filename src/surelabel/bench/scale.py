"""``surelabel bench scale``: wall time per round and peak memory on large pools, in memory and out of core.

For every size × dimension, a pool of ``n × d`` float32 features (``k`` Gaussian classes) and
its labels are written to ``--work`` as ``.npy`` (and Parquet for the ``parquet`` mode), once.
Every run is a fresh Python process (so that its peak resident memory, ``VmHWM`` on Linux, is
that run's alone; see :func:`_rss_mib`) which:

* ``memory``: loads the pool into memory (``np.load``; the load is timed apart) and runs
  :class:`~surelabel.AutoLabeler` on the array;
* ``npy``: runs on ``np.load(path, mmap_mode="r")``, read from disk in chunks
  (:class:`~surelabel.pool.NpyPool`);
* ``parquet``: runs on :func:`~surelabel.pool.open_pool` of a Parquet file with one
  fixed-size list column (spilled once to a temporary ``.npy``; the spill is timed apart);
* ``dask``: the ``npy`` pool scored on a local Dask cluster of ``--workers`` single-threaded
  processes (``pip install 'surelabel[dask]'``; cluster start-up is timed apart, and the peak
  memory is the driver's: each worker holds one partition's chunk at a time);

and then, in the same process, times one scoring pass over the whole pool (the engine's
:func:`~surelabel.engine.score_rows` with a model of the same kind) and one plain read pass,
so that each round can be compared with the hardware limit measured under the same load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

__all__ = ["generate_pool", "run_scale", "markdown_table", "scale"]

MODES = ("memory", "npy", "parquet", "dask")


def generate_pool(work: Path, n: int, d: int, *, k: int = 10, seed: int = 0, parquet: bool = False,
                  chunk_rows: int = 65_536) -> dict[str, Path]:
    """Write ``pool_{n}x{d}.npy`` (float32) and ``labels_{n}x{d}.npy`` (and ``.parquet``) once; their paths."""
    import numpy as np  # here: `surelabel --help` need not load numpy

    work.mkdir(parents=True, exist_ok=True)
    stem = f"{n}x{d}_k{k}_s{seed}"
    paths = {"pool": work / f"pool_{stem}.npy", "labels": work / f"labels_{stem}.npy",
             "parquet": work / f"items_{stem}.parquet"}
    centers = np.random.default_rng([seed, 0]).normal(size=(k, d)) * (2.5 / np.sqrt(d)) * np.sqrt(2)
    if not (paths["pool"].exists() and paths["labels"].exists()):
        tmp_pool, tmp_lab = paths["pool"].with_suffix(".tmp.npy"), paths["labels"].with_suffix(".tmp.npy")
        labels = np.empty(n, dtype=np.int64)
        with open(tmp_pool, "wb") as fh:
            np.lib.format.write_array_header_2_0(fh, {"descr": "<f4", "fortran_order": False, "shape": (n, d)})
            for i, lo in enumerate(range(0, n, chunk_rows)):
                rng = np.random.default_rng([seed, 1, i])
                m = min(chunk_rows, n - lo)
                y = rng.integers(0, k, m)
                labels[lo:lo + m] = y
                block = (centers[y] + rng.standard_normal((m, d))).astype(np.float32)
                fh.write(block.tobytes())
        np.save(tmp_lab, labels)
        os.replace(tmp_lab, paths["labels"])
        os.replace(tmp_pool, paths["pool"])
    if parquet and not paths["parquet"].exists():
        import pyarrow as pa
        import pyarrow.parquet as pq

        from ..pool import NpyPool

        pool = NpyPool(paths["pool"])
        labels = np.load(paths["labels"])
        tmp = paths["parquet"].with_suffix(".tmp.parquet")
        schema = pa.schema([("embedding", pa.list_(pa.float32(), d)), ("label", pa.int64())])
        with pq.ParquetWriter(tmp, schema) as writer:
            for lo, block in pool.iter_chunks(chunk_rows):
                emb = pa.FixedSizeListArray.from_arrays(pa.array(block.ravel()), d)
                writer.write_table(pa.table({"embedding": emb, "label": labels[lo:lo + block.shape[0]]},
                                            schema=schema))
        pool.close()
        os.replace(tmp, paths["parquet"])
    return paths


def _rss_mib() -> float:
    """Peak resident memory of this process so far, MiB.

    Linux: ``VmHWM`` of ``/proc/self/status``, the peak of this program's own memory.
    ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` is kept across ``fork`` + ``exec``, so in a
    child it is at least the parent's resident size when it forked (here the bench process,
    which may have just written a Parquet pool): used only where ``/proc`` is missing.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _worker(spec: dict[str, Any]) -> dict[str, Any]:
    """One run in this (fresh) process: the figures of one table row."""
    import numpy as np  # here: `surelabel --help` need not load numpy
    from sklearn.linear_model import LogisticRegression

    from .. import SimulatedOracle, engine
    from ..engine import score_rows, small_fit_threads
    from ..loop import AutoLabeler
    from ..pool import open_pool

    mode = spec["mode"]
    engine.SMALL_FIT_BLAS_THREADS = spec.get("fit_threads", 1) or None  # 0: no limit
    out: dict[str, Any] = {"rss_start_mib": _rss_mib()}  # the interpreter and its imports, before the pool
    y = np.load(spec["labels"])
    t0 = time.perf_counter()
    if mode == "memory":
        X: Any = np.load(spec["pool"])
    elif mode == "npy":
        X = np.load(spec["pool"], mmap_mode="r")
    elif mode == "dask":
        from distributed import Client, LocalCluster

        X = np.load(spec["pool"], mmap_mode="r")
        cluster = LocalCluster(n_workers=spec.get("workers", 2), threads_per_worker=1, dashboard_address=":0")
        client = Client(cluster)
    else:
        X = open_pool(spec["parquet"], exclude=["label"])
    out["open_s"] = time.perf_counter() - t0
    labeler = AutoLabeler(LogisticRegression(max_iter=spec.get("max_iter", 100)), epsilon=spec["epsilon"],
                          budget=spec["budget"], validation_size=spec["validation_size"],
                          seed_size=spec["seed_size"], batch_size=spec["batch_size"], random_state=spec["seed"],
                          scheduler=client if mode == "dask" else None)
    stamps: list[float] = []
    t1 = time.perf_counter()
    result = labeler.run(X, SimulatedOracle(y, random_state=spec["seed"]),
                         callback=lambda rep: stamps.append(time.perf_counter()))
    t2 = time.perf_counter()
    out["run_s"] = t2 - t1
    out["round_s"] = list(np.diff([t1, *stamps]))
    out["rss_peak_run_mib"] = _rss_mib()
    out["coverage"] = float(result.coverage)
    out["auto_error"] = float(result.auto_error(y)) if result.coverage > 0 else None
    out["rounds"] = len(result.history)
    out["labels_digest"] = _digest(result)
    # the limits, in the same process and under the same load
    from ..loop import check_features

    Xc = check_features(X)
    n = Xc.shape[0]
    rows = np.arange(n)
    pick = np.random.default_rng(0).choice(n, size=min(n, spec["seed_size"] + spec["validation_size"]),
                                           replace=False)
    with small_fit_threads():
        model = LogisticRegression(max_iter=spec.get("max_iter", 100)).fit(Xc[np.sort(pick)], y[np.sort(pick)])
    k = int(y.max()) + 1
    t3 = time.perf_counter()
    score_rows(model, Xc, rows, k, "max_proba", keep_proba=n)
    out["score_pass_s"] = time.perf_counter() - t3
    t4 = time.perf_counter()
    total = 0.0
    if hasattr(Xc, "iter_chunks"):
        for _, block in Xc.iter_chunks():
            total += float(block[:, 0].sum())
    else:
        for lo in range(0, n, 65_536):
            total += float(Xc[lo:lo + 65_536].sum(axis=1)[0])
    out["read_pass_s"] = time.perf_counter() - t4
    out["rss_peak_mib"] = _rss_mib()
    if mode == "dask":
        client.close()
        cluster.close()
    return out


def _digest(result: Any) -> str:
    import hashlib

    import numpy as np  # here: `surelabel --help` need not load numpy

    h = hashlib.sha256()
    h.update(np.asarray(result.labels).astype(str).tobytes())
    h.update(np.asarray(result.source).astype(str).tobytes())
    return h.hexdigest()[:16]


def run_scale(sizes: list[int], dims: list[int], modes: list[str], work: Path, *, k: int = 10, budget: int = 4000,
              validation_size: int = 2000, seed_size: int = 400, batch_size: int = 400, epsilon: float = 0.05,
              seed: int = 0, workers: int = 2, fit_threads: int = 1, echo: Any = None) -> list[dict[str, Any]]:
    """Every size × dimension × mode in its own process; one row of figures per run."""
    rows = []
    for n in sizes:
        for d in dims:
            t = time.perf_counter()
            paths = generate_pool(work, n, d, k=k, seed=seed, parquet="parquet" in modes)
            gen_s = time.perf_counter() - t
            for mode in modes:
                spec = {"mode": mode, "pool": str(paths["pool"]), "labels": str(paths["labels"]),
                        "parquet": str(paths["parquet"]), "budget": budget, "validation_size": validation_size,
                        "seed_size": seed_size, "batch_size": batch_size, "epsilon": epsilon, "seed": seed,
                        "workers": workers, "fit_threads": fit_threads}
                proc = subprocess.run([sys.executable, "-m", "surelabel.bench.scale", json.dumps(spec)],
                                      capture_output=True, text=True, check=False)
                if proc.returncode != 0:
                    raise RuntimeError(f"bench scale run {n}x{d} {mode} failed:\n{proc.stderr[-2000:]}")
                got = json.loads(proc.stdout.strip().splitlines()[-1])
                pool_mib = n * d * 4 / 2**20
                row = {"n": n, "d": d, "mode": mode, "fit_threads": fit_threads, "pool_mib": pool_mib,
                       "generate_s": gen_s, **got}
                row["rss_over_pool"] = row["rss_peak_mib"] / pool_mib
                rs = row["round_s"]
                row["max_round_over_pass"] = max(rs[1:] or rs) / row["score_pass_s"] if row["score_pass_s"] else None
                rows.append(row)
                if echo is not None:
                    echo(_line(row))
    return rows


def _line(r: dict[str, Any]) -> str:
    rounds = ", ".join(f"{s:.2f}" for s in r["round_s"])
    return (f"{r['n']:>10,} × {r['d']:<4} {r['mode']:<8} open {r['open_s']:.2f} s, run {r['run_s']:.2f} s "
            f"(rounds {rounds}), pass {r['score_pass_s']:.2f} s, peak RSS {r['rss_peak_mib']:.0f} MiB "
            f"({r['rss_over_pool']:.2f}× pool), coverage {r['coverage']:.3f}")


def markdown_table(rows: list[dict[str, Any]]) -> str:
    head = ("| pool (float32) | mode | open / load s | whole run s | rounds | s per round (round 0 … last) | "
            "one scoring pass s | one read pass s | slowest later round ÷ pass | peak RSS MiB (before the pool) | "
            "RSS ÷ pool | coverage | labels digest |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        ratio = r["max_round_over_pass"]
        lines.append(
            f"| {r['n']:,} × {r['d']} ({r['pool_mib']:.0f} MiB) | {r['mode']}{_threads(r)} | {r['open_s']:.2f} | "
            f"{r['run_s']:.2f} | {r['rounds']} | {' / '.join(f'{s:.2f}' for s in r['round_s'])} | "
            f"{r['score_pass_s']:.2f} | {r['read_pass_s']:.2f} | {'—' if ratio is None else f'{ratio:.1f}'} | "
            f"{r['rss_peak_mib']:.0f} ({r['rss_start_mib']:.0f}) | {r['rss_over_pool']:.2f} | {r['coverage']:.3f} | "
            f"`{r['labels_digest']}` |")
    return "\n".join(lines) + "\n"


def _threads(r: dict[str, Any]) -> str:
    t = r.get("fit_threads", 1)
    return "" if t == 1 else (", fits: all BLAS threads" if not t else f", fits: {t} BLAS threads")


def _plot(rows: list[dict[str, Any]], path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for mode in sorted({r["mode"] for r in rows}):
        for d in sorted({r["d"] for r in rows}):
            sub = sorted((r for r in rows if r["mode"] == mode and r["d"] == d), key=lambda r: r["n"])
            if not sub:
                continue
            ns = [r["n"] for r in sub]
            axes[0].plot(ns, [r["run_s"] for r in sub], marker="o", label=f"{mode}, d={d}")
            axes[1].plot(ns, [r["rss_peak_mib"] for r in sub], marker="o", label=f"{mode}, d={d}")
    for d in sorted({r["d"] for r in rows}):
        sub = sorted({(r["n"], r["pool_mib"]) for r in rows if r["d"] == d})
        axes[1].plot([s[0] for s in sub], [s[1] for s in sub], ls=":", color="grey")
    axes[0].set(xscale="log", yscale="log", xlabel="items", ylabel="whole run (s)", title="Wall time")
    axes[1].set(xscale="log", yscale="log", xlabel="items", ylabel="peak RSS (MiB)",
                title="Peak memory (dotted: pool size)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


class _IntList(click.ParamType):
    name = "int[,int…]"

    def convert(self, value: Any, param: Any, ctx: Any) -> list[int]:

        if isinstance(value, list):
            return value
        try:
            out = [int(float(v)) for v in str(value).split(",") if v.strip()]
        except ValueError:
            self.fail(f"{value!r} is not a comma-separated list of integers.", param, ctx)
        if not out or min(out) < 1:
            self.fail("needs positive integers.", param, ctx)
        return out


@click.command("scale")
@click.option("--sizes", type=_IntList(), default="100000,1000000", show_default=True, help="Pool sizes (items).")
@click.option("--dims", type=_IntList(), default="64,384", show_default=True, help="Feature dimensions.")
@click.option("--modes", default="memory,npy", show_default=True,
              help="memory (np.load, then run), npy (memory-mapped .npy read in chunks), parquet (Parquet file), "
                   "dask (the .npy scored on a local Dask cluster of --workers processes).")
@click.option("--workers", type=click.IntRange(1), default=2, show_default=True, help="Workers of the dask mode.")
@click.option("--fit-threads", type=click.IntRange(0), default=1, show_default=True,
              help="BLAS threads for the model fits on the human labels (engine.SMALL_FIT_BLAS_THREADS; 0: no limit).")
@click.option("--classes", type=click.IntRange(2), default=10, show_default=True)
@click.option("--budget", type=click.IntRange(2), default=4000, show_default=True)
@click.option("--validation-size", type=click.IntRange(1), default=2000, show_default=True)
@click.option("--seed-size", type=click.IntRange(2), default=400, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=400, show_default=True,
              help="400 with the defaults: rounds 0-4, five rounds.")
@click.option("--epsilon", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05, show_default=True)
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True)
@click.option("--work", type=click.Path(path_type=Path), default=Path("bench-work/scale"), show_default=True,
              help="Where the generated pools are kept (reused by later runs).")
@click.option("--out", type=click.Path(path_type=Path), help="Write scale.md, scale.json (and scale.png) here.")
@click.option("--json", "as_json", is_flag=True, help='Print one JSON object {"rows": [...]}.')
@click.pass_context
def scale(ctx: click.Context, sizes: list[int], dims: list[int], modes: str, workers: int, fit_threads: int,
          classes: int, budget: int,
          validation_size: int, seed_size: int, batch_size: int, epsilon: float, seed: int, work: Path,
          out: Path | None, as_json: bool) -> None:
    """Wall time per round and peak memory on generated pools: in memory and read from disk.

    \b
    surelabel bench scale --sizes 100000,1000000 --dims 64,384 --out bench-out/scale
    """
    from .cli import _fail, _machine

    mode_list = [m.strip() for m in modes.split(",") if m.strip()]
    bad = [m for m in mode_list if m not in MODES]
    if bad or not mode_list:
        _fail(f"Unknown mode {bad[0] if bad else modes!r}. Allowed: {', '.join(MODES)}.")
    if validation_size + seed_size > budget:
        _fail(f"--validation-size + --seed-size ({validation_size + seed_size}) exceed --budget ({budget}).")
    if min(sizes) < validation_size + seed_size:
        _fail(f"--sizes must be at least --validation-size + --seed-size ({validation_size + seed_size}).")
    argv = ctx.meta.get("bench_argv") or ["scale"]
    t = time.perf_counter()
    rows = run_scale(sizes, dims, mode_list, work, k=classes, budget=budget, validation_size=validation_size,
                     seed_size=seed_size, batch_size=batch_size, epsilon=epsilon, seed=seed, workers=workers,
                     fit_threads=fit_threads,
                     echo=None if as_json else lambda s: click.echo(s, err=True))
    meta = {"command": " ".join(["surelabel", "bench", *argv]), "seconds": time.perf_counter() - t,
            "machine": _machine(), "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}
    table = markdown_table(rows)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "scale.json").write_text(json.dumps({"rows": rows, "meta": meta}, indent=1))
        m = meta["machine"]
        (out / "scale.md").write_text(
            f"`{meta['command']}`\n\n{m['cores']} cores ({m['cpu']}, {m['memory_gib']} GiB, Python {m['python']}); "
            f"load average at the end {meta['load_average']}.\n\n{table}", encoding="utf-8")
        _plot(rows, out / "scale.png")
    if as_json:
        click.echo(json.dumps({"rows": rows, "meta": meta}))
    else:
        click.echo(table)


if __name__ == "__main__":
    print(json.dumps(_worker(json.loads(sys.argv[1]))))
