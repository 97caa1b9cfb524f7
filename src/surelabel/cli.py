"""The ``surelabel`` command: thin wrappers that parse, call the library and print.

Every command takes ``--json`` for machine-readable output. Every mistake a user can make
(a missing file, an unknown column, a bad value) ends in one line ``Error: …`` on stderr and
exit code 1 — never a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import click

from . import __version__
from .exceptions import SurelabelError

__all__ = ["main", "make_console", "stop_reason_text", "round_progress", "first_rounds_note"]

#: Width of rich output that does not go to a terminal: wide enough that no table is cut
#: ("negati…") or wrapped, so piped and redirected output keeps every cell whole.
PIPE_WIDTH = 10_000


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _exit_quietly_on_closed_pipe() -> NoReturn:
    """The reader of stdout went away (``surelabel import DIR a.csv | head -1``): exit 0, say nothing.

    Every command saves its work before it prints, so nothing is lost. Python's recipe: point
    stdout at /dev/null, so the interpreter's final flush cannot raise a second BrokenPipeError.
    """
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)


def make_console(stderr: bool = False) -> Any:
    """A rich console: the terminal's width in a terminal; elsewhere (a pipe, a file) no width limit.

    Rich falls back to 80 columns when it cannot ask a terminal, which cuts table cells; a
    ``COLUMNS`` set by the user still wins.
    """
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty() or os.environ.get("COLUMNS"):
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=PIPE_WIDTH)


def stop_reason_text(code: str | None) -> str:
    """Why a run stopped, as a sentence (``validation_exhausted`` → "too few validation points …")."""
    if not code:
        return ""
    from .result import STOP_REASONS

    return STOP_REASONS.get(code, code.replace("_", " "))


def first_rounds_note(round_no: int, n_auto_total: int) -> str | None:
    """Why nothing is auto-labeled yet (0 % coverage is expected early, not a failure), or None."""
    if n_auto_total:
        return None
    if round_no == 0:
        return ("Round 0 trains on the seed labels only; auto-labels start once the validation set certifies a "
                "region where the model errs at most epsilon, usually after a few batches of training labels.")
    return ("Nothing is certified yet: the model is not yet right often enough where the validation set can "
            "check it; the next batches of training labels improve it.")


def _show_progress() -> bool:
    """Progress only for a person watching a terminal; quiet when stderr is piped or redirected."""
    return sys.stderr.isatty()


@contextlib.contextmanager
def round_progress(description: str, total: int | None,
                   info: str = "training, certifying, auto-labeling") -> Iterator[Callable[[Any], None]]:
    """Per-round progress on stderr while a run works (rich; removed when done; silent unless a terminal).

    Yields ``update(report)``: call it with each finished round's
    :class:`~surelabel.result.RoundReport`. The bar counts human labels spent against ``total``
    (the budget) and says the round's coverage. Without a total it is a spinner showing ``info``.
    """
    if not _show_progress():
        yield lambda report: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(bar_width=20), MofNCompleteColumn(),
                  TimeElapsedColumn(), TextColumn("{task.fields[info]}"), console=make_console(stderr=True),
                  transient=True) as progress:
        task = progress.add_task(description, total=total, info=info)

        def update(report: Any) -> None:
            progress.update(task, completed=getattr(report, "human_labels_total", None),
                            info=f"round {report.round}: coverage {_pct(report.coverage, 1)}, "
                                 f"{report.n_auto_labeled_total} auto-labels")

        yield update


def run_with_progress(labeler: Any, X: Any, oracle: Any, description: str, **kwargs: Any) -> Any:
    """``labeler.run(X, oracle)`` with per-round progress in a terminal.

    Uses ``AutoLabeler.run(..., callback=)`` where it exists; on a loop without it the run
    still works, with a spinner instead of per-round figures.
    """
    import inspect

    budget = getattr(labeler, "budget", None)
    with round_progress(description, budget if isinstance(budget, int) else None) as update:
        if "callback" in inspect.signature(labeler.run).parameters:
            kwargs["callback"] = update
        return labeler.run(X, oracle, **kwargs)


def friendly_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Map library errors (and bad values) to ``Error: …`` and exit 1; a closed stdout pipe to a quiet exit 0."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BrokenPipeError:  # the reader left (`| head`) after the work was saved
            _exit_quietly_on_closed_pipe()
        except (SurelabelError, ValueError, TypeError) as exc:
            _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        except OSError as exc:
            _fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))

    return wrapper


def _json_default(value: Any) -> Any:
    import numpy as np  # imported here: `surelabel --help` need not load numpy

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, default=_json_default, allow_nan=False))


def _clean(obj: Any) -> Any:
    """Replace non-finite floats by None, recursively (JSON has no NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and type(obj).__module__ == "numpy":  # a numpy scalar, without importing numpy
        return _clean(obj.item())
    return obj


def _pct(v: float | None, digits: int = 2) -> str:
    return "—" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{100 * v:.{digits}f}%"


def _thresholds_text(thresholds: dict[str, float | None]) -> str:
    """Compact text for per-class thresholds: one value when every certified class shares it."""
    finite = {k: v for k, v in thresholds.items() if v is not None}
    if not finite:
        return "none"
    values = set(finite.values())
    if len(values) == 1:
        who = "all" if len(finite) == len(thresholds) else f"{len(finite)}/{len(thresholds)} classes"
        return f"{who} ≥ {values.pop():.3g}"
    text = ", ".join(f"{k}≥{v:.3g}" for k, v in finite.items())
    return text if len(text) < 40 else text[:39] + "…"


def _round_table(title: str, result: Any, y_true: Any | None) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    cols = ["round", "train labels used", "bought (incl. next batch)", "val. left", "auto (round)", "coverage",
            "overall bound"]
    errors = result.auto_error_by_round(y_true) if y_true is not None else None
    if errors is not None:
        cols.append("error so far")
    for col in (*cols, "thresholds"):
        table.add_column(col, justify="right" if col != "thresholds" else "left")
    for k, h in enumerate(result.history):
        thr = _thresholds_text(h.thresholds)
        cells = [str(h.round), str(h.n_train), str(h.human_labels_total), str(h.n_validation_left),
                 str(h.n_auto_labeled), _pct(h.coverage, 1), _pct(h.union_upper_bound)]
        if errors is not None:
            cells.append(_pct(errors[k]))
        table.add_row(*cells, thr if len(thr) < 60 else thr[:57] + "…")
    return table


def _summary_line(name: str, result: Any, y_true: Any | None) -> str:
    s = result.summary(y_true)
    err = s.get("auto_error")
    return (
        f"[bold]{name}[/bold]: coverage {_pct(s['coverage'], 1)}, auto-label error "
        f"{_pct(err)} (promise: ≤ {_pct(result.epsilon, 1)} with probability ≥ {1 - result.delta:.0%}), "
        f"human labels {s['human_labels']['total']} "
        f"(validation {s['human_labels']['validation']}, training {s['human_labels']['training']}) "
        f"of {result.budget}; stopped: {stop_reason_text(result.stop_reason)}"
    )


class _OneLineErrors(click.Group):
    """A group whose usage mistakes (an unknown option, a value of the wrong type, a missing
    argument) end like every other mistake: one line ``Error: …`` on stderr and exit code 1."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, False, **extra)
            sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        except BrokenPipeError:
            _exit_quietly_on_closed_pipe()
        except click.UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # bare `surelabel`: the help is the answer
                click.echo(exc.ctx.get_help() if exc.ctx is not None else exc.format_message())
                sys.exit(0)
            where = f" See '{exc.ctx.command_path} --help'." if exc.ctx is not None else ""
            _fail(exc.format_message().replace("\n", " ") + where)
        except click.ClickException as exc:
            _fail(exc.format_message())
        except click.Abort:
            _fail("Aborted.")
        sys.exit(rv if isinstance(rv, int) else 0)


def _warn_if_uncertifiable(labeler: Any, seed: int) -> None:
    """Say before any label is bought when the validation set is too small to certify anything."""
    from .thresholds import min_certifiable_size

    cfg = labeler._config(seed)
    if not cfg.certified:
        return
    # the level the best-funded round tests at (engines before the spending schedule: round 0's)
    level = cfg.final_delta if hasattr(cfg, "final_delta") else cfg.delta_for(0)
    need = min_certifiable_size(cfg.epsilon, level, cfg.bound, 0)
    if cfg.validation_size < need:
        click.echo(f"Warning: {cfg.validation_size} validation labels cannot certify any auto-label at "
                   f"epsilon={cfg.epsilon:g}, delta={cfg.delta:g}: at least {need} error-free ones are needed "
                   "(see surelabel plan). Only human labels will come out.", err=True)


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="surelabel")
def main() -> None:
    """Auto-label a dataset with a certified bound on the share of wrong labels."""


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Random seed.")
@friendly_errors
def demo(as_json: bool, seed: int) -> None:
    """Run TBAL on built-in data (unit ball, digits) with a simulated annotator."""
    from .demo import run_demo

    runs = run_demo(seed, runner=run_with_progress)
    if as_json:
        emit_json(_clean({"runs": [r.to_dict() for r in runs]}))
        return
    console = make_console()
    for r in runs:
        console.print(r.description)
        console.print(_round_table(r.name, r.result, r.y_true))
        console.print(_summary_line(r.name, r.result, r.y_true))
        console.print()


def raw_input_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options that read raw texts or images instead of feature columns (shared by run and featurize)."""
    options = [
        click.option("--text", "text_column", help="Column of raw texts to embed (instead of feature columns)."),
        click.option("--image", "image_column",
                     help="Column of image paths to embed (relative to the table's folder)."),
        click.option("--images", "images_folder", is_flag=True,
                     help="DATA is a folder of images (one subfolder per class gives a 'label' column)."),
        click.option("--featurizer", type=click.Choice(["tfidf", "text-fast", "text", "image", "pixels"]),
                     help="How to embed raw inputs [default: tfidf for texts, image for images]."),
        click.option("--image-size", type=int,
                     help="Side images are resized to [default: 224 for image, 28 for pixels]."),
        click.option("--cache", "cache_dir", type=click.Path(path_type=Path),
                     help="Folder caching embeddings: each item is embedded once per featurizer."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _open_out_of_core(data: Path, features: str | None, feature_prefix: str | None, label_column: str,
                      id_column: str | None) -> tuple[Any, Any, Any]:
    """``(pool, labels, ids)`` of a pool read from disk in chunks (:mod:`surelabel.pool`)."""
    import numpy as np

    from .pool import open_pool, parquet_column

    if not data.exists():
        raise SurelabelError(f"{data} does not exist.")
    if data.suffix.lower() == ".npy":
        if features or feature_prefix or id_column:
            raise SurelabelError("A .npy pool is all features: drop --features, --feature-prefix and --id-column.")
        pool = open_pool(data)
        lab = Path(label_column)
        if not lab.is_file():
            raise SurelabelError(f"For a .npy pool, --simulate-from is a file of labels (.npy, or text with one "
                                 f"label per line); {label_column} is not a file.")
        if lab.suffix.lower() == ".npy":
            y = np.load(lab, allow_pickle=False)
        else:
            y = np.array(lab.read_text(encoding="utf-8").split("\n"), dtype=object)
            y = y[: pool.shape[0]] if y.size == pool.shape[0] + 1 and y[-1] == "" else y
        y = np.asarray(y).ravel()
        if y.shape[0] != pool.shape[0]:
            raise SurelabelError(f"{lab} holds {y.shape[0]} labels for the {pool.shape[0]} rows of {data}.")
        return pool, y, None
    cols = [c.strip() for c in features.split(",") if c.strip()] if features else None
    exclude = [c for c in (label_column, id_column) if c]
    if cols and any(c in exclude for c in cols):
        raise SurelabelError("The label or id column cannot also be a feature; drop it from --features.")
    y = parquet_column(data, label_column)
    missing = np.array([v is None or (isinstance(v, float) and v != v) for v in y.tolist()], dtype=bool)
    if missing.any():
        raise SurelabelError(f"{data}, row {int(np.flatnonzero(missing)[0]) + 1}: column {label_column!r} has no "
                             "label; every item needs one to simulate.")
    ids = None
    if id_column:
        ids = parquet_column(data, id_column)
        if np.unique(ids.astype(str)).size != ids.size:
            raise SurelabelError(f"Column {id_column!r} of {data} has repeated ids; ids must be unique.")
    pool = open_pool(data, features=cols, prefix=feature_prefix, exclude=exclude)
    return pool, y, ids


def _embed_raw(data: Path, text_column: str | None, image_column: str | None, images_folder: bool,
               featurizer: str | None, image_size: int | None, cache_dir: Path | None,
               id_column: str | None) -> tuple[Any, Any, str | None]:
    """Read raw items and embed them: (frame, Embeddings, id column)."""
    from .featurize import featurize_items, featurizer_from_options, read_raw_items

    if images_folder and not data.is_dir():
        raise SurelabelError(f"--images expects DATA to be a folder of images; {data} is not a folder.")
    frame, kwargs = read_raw_items(data, text=text_column, image=image_column)
    kind = "text" if "text" in kwargs else "image"
    folder_ids = kwargs.pop("id_column", None)
    id_column = id_column or folder_ids
    feat = featurizer_from_options(featurizer, kind, image_size=image_size)
    emb = featurize_items(frame, id_column=id_column, featurizer=feat,
                          cache_dir=cache_dir, **kwargs)
    return frame, emb, id_column


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--features", help="Comma-separated feature columns.")
@click.option("--feature-prefix", help="Use every column whose name starts with this prefix.")
@raw_input_options
@click.option("--label-column", "--simulate-from", "label_column", required=True,
              help="Column with known labels; it answers the simulated annotator.")
@click.option("--id-column", help="Column with item ids (default: row number).")
@click.option("--epsilon", type=float, help="Largest share of wrong auto-labels.  [default: 0.05]")
@click.option("--delta", type=float, help="Allowed failure probability.  [default: 0.05]")
@click.option("--bound", type=click.Choice(["clopper-pearson", "hoeffding", "paper"]),
              help="Error bound.  [default: clopper-pearson]")
@click.option("--budget", type=int, help="Human labels in all, validation included (required for a file).")
@click.option("--price", type=float, help="Price of one human label: cost is reported (and --money converted).")
@click.option("--prices", type=click.Path(path_type=Path), help="Price per class: CSV (class,price) or JSON.")
@click.option("--money", type=float, help="Money budget instead of --budget: as many labels as it surely buys.")
@click.option("--validation-size", type=int, help="Validation labels (default: half the budget).")
@click.option("--seed-size", type=int, help="Random training labels in round 0 (default: 20% of the rest).")
@click.option("--batch-size", type=int, help="Training labels queried per round (default: 5% of the rest).")
@click.option("--model", help="logreg, linear-svm, paper-svm, random-forest, hist-gb, knn, naive-bayes.  "
              "[default: logreg]")
@click.option("--score", help="max_proba, margin, neg_entropy or energy.  [default: max_proba]")
@click.option("--query",
              type=click.Choice(["random", "margin", "least_confident", "entropy", "margin_random", "mixed"]),
              help="Which items people label next: random among those not auto-labeled (measured best across "
                   "data sets, docs/guarantee.md), or by uncertainty.  [default: random]")
@click.option("--guarantee", type=click.Choice(["overall", "per-class"]),
              help="What the promise covers: all auto-labels together, or every class on its own (needs more "
                   "validation labels; see surelabel plan).  [default: overall]")
@click.option("--seed", type=click.IntRange(min=0), help="Random seed; same seed, same labels.  [default: 0]")
@click.option("--out", type=click.Path(path_type=Path), help="Write labels to .parquet, .csv or .jsonl.")
@click.option("--report", "report_out", type=click.Path(path_type=Path),
              help="Also write an HTML report of the run (coverage and bound per round, per class, scores, cost).")
@click.option("--class-report", is_flag=True,
              help="Also report per class: hard to certify, cheap, and where the next labels buy the most "
                   "certified coverage.")
@click.option("--db", "db", metavar="URL", envvar="SURELABEL_DB",
              help="Project folders only: the database URL, when not the project's own.")
@click.option("--out-of-core", is_flag=True,
              help="Read the features from disk in chunks instead of loading them: a Parquet file or folder "
                   "(feature columns or one fixed-size list column of embeddings). Always on for a .npy pool "
                   "(then --simulate-from is a .npy or text file of labels, one per row) and a folder of Parquet "
                   "files.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Score the pool on a Dask cluster (pip install 'surelabel[dask]'): its scheduler's address "
                   "(tcp://host:8786), or 'local' for a local cluster of --workers processes. Same labels as in "
                   "process; a pool on disk must be at the same path on every worker.")
@click.option("--workers", type=click.IntRange(1), help="Worker processes of --scheduler local.  [default: 2]")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@friendly_errors
def run(data: Path, features: str | None, feature_prefix: str | None, text_column: str | None,
        image_column: str | None, images_folder: bool, featurizer: str | None, image_size: int | None,
        cache_dir: Path | None, label_column: str, id_column: str | None,
        epsilon: float | None, delta: float | None, bound: str | None, budget: int | None, price: float | None,
        prices: Path | None, money: float | None,
        validation_size: int | None, seed_size: int | None, batch_size: int | None, model: str | None,
        score: str | None, query: str | None, guarantee: str | None, seed: int | None, out: Path | None,
        report_out: Path | None, class_report: bool,
        db: str | None, out_of_core: bool, scheduler: str | None, workers: int | None, as_json: bool) -> None:
    """Auto-label DATA, answering queries from a column of known labels.

    DATA is an items file (CSV, Parquet or JSONL; every option applies), a folder of images in
    one subfolder per class (--images), or a project folder made by surelabel init: then the
    project's stored settings are used, and the column answers every batch through the same
    steps as people (surelabel run DIR --simulate-from COL). Items of a file are feature columns
    (--features, --feature-prefix), raw texts (--text COLUMN) or image paths (--image COLUMN).
    A pool too large for memory is read from disk in chunks: a .npy file (labels from
    --simulate-from LABELS.npy) or Parquet with --out-of-core (a folder of Parquet files too).
    """
    import numpy as np

    from .io import check_unique_ids, read_table, select_column, select_features
    from .loop import AutoLabeler
    from .models import make_model
    from .oracles import SimulatedOracle
    from .project import is_project

    if out is not None and out.suffix.lower() not in (".parquet", ".csv", ".jsonl"):
        raise SurelabelError(f"Cannot write {out}: use a .parquet, .csv or .jsonl file name.")
    for path, kinds in ((out, ()), (report_out, (".html", ".htm"))):
        if path is not None and kinds and path.suffix.lower() not in kinds:
            raise SurelabelError(f"Cannot write {path}: a report is an .html file.")
        if path is not None and not path.resolve().parent.is_dir():
            raise SurelabelError(f"Cannot write {path}: folder {path.parent} does not exist; create it first.")
    if is_project(data):
        given = {"--features": features, "--feature-prefix": feature_prefix, "--id-column": id_column,
                 "--epsilon": epsilon, "--delta": delta, "--bound": bound, "--budget": budget,
                 "--validation-size": validation_size, "--seed-size": seed_size, "--batch-size": batch_size,
                 "--model": model, "--score": score, "--query": query, "--guarantee": guarantee, "--seed": seed,
                 "--price": price,
                 "--prices": prices, "--money": money, "--text": text_column, "--image": image_column,
                 "--featurizer": featurizer, "--class-report": class_report or None,
                 "--out-of-core": out_of_core or None, "--scheduler": scheduler, "--workers": workers}
        clash = [k for k, v in given.items() if v is not None]
        if clash:
            raise SurelabelError(f"{data} is a project: its settings were fixed by surelabel init; "
                                 f"drop {', '.join(clash)}.")
        from .cli_project import simulate_project

        simulate_project(data, label_column, out, db, as_json, report=report_out)
        return
    epsilon = 0.05 if epsilon is None else epsilon
    delta = 0.05 if delta is None else delta
    bound = bound or "clopper-pearson"
    model, score, query = model or "logreg", score or "max_proba", query or "random"
    seed = 0 if seed is None else seed
    source = str(data)
    pool = None
    if data.suffix.lower() == ".npy" or out_of_core or (
            data.is_dir() and not images_folder and not (text_column or image_column) and any(data.glob("*.parquet"))):
        if text_column or image_column or images_folder or class_report:
            raise SurelabelError("An out-of-core pool holds features already: drop --text, --image, --images and "
                                 "--class-report.")
        pool, labels_arr, ids = _open_out_of_core(data, features, feature_prefix, label_column, id_column)
    if pool is not None:
        embedded = None
        X = pool
        y = labels_arr
    elif data.is_dir() and not images_folder and not (text_column or image_column):
        raise SurelabelError(f"{data} is a folder but not a surelabel project: give an items file (.csv, .parquet, "
                             ".jsonl), a project folder made by surelabel init, or a folder of images with --images.")
    elif text_column or image_column or images_folder:
        if features or feature_prefix:
            raise SurelabelError("Give either feature columns (--features, --feature-prefix) or raw inputs "
                                 "(--text, --image, --images), not both.")
        frame, embeddings, id_column = _embed_raw(data, text_column, image_column, images_folder, featurizer,
                                                  image_size, cache_dir, id_column)
        X = embeddings.X
        embedded = {"featurizer": embeddings.featurizer, "version": embeddings.version, "cache_key": embeddings.key,
                    "dim": embeddings.dim, "cached": embeddings.n_cached, "computed": embeddings.n_computed}
    else:
        embedded = None
        frame = read_table(data, id_column=id_column)
        cols = [c.strip() for c in features.split(",") if c.strip()] if features else None
        X, _ = select_features(frame, source, features=cols, prefix=feature_prefix,
                               exclude={"label": label_column, "id": id_column})
    if pool is None:
        labels = select_column(frame, label_column, source)
        if labels.isna().any():
            row = int(np.flatnonzero(labels.isna().to_numpy())[0])
            raise SurelabelError(
                f"{source}, row {row + 1}: column {label_column!r} has no label; every item needs one to simulate."
            )
        y = labels.to_numpy()
    if np.unique(y.astype(str)).size < 2:
        raise SurelabelError(
            f"Column {label_column!r} of {source} holds fewer than two classes; nothing to tell apart."
        )
    from .cli_quality import cost_model_from_options

    cost_model = cost_model_from_options(price, prices, np.unique(y.astype(str)))
    if (budget is None) == (money is None):
        raise SurelabelError("Give the budget as --budget LABELS or as --money AMOUNT (with --price or --prices).")
    if money is not None:
        if cost_model is None:
            raise SurelabelError("--money needs the price of a label: add --price or --prices.")
        budget = cost_model.label_budget(money)
        if budget < 1:
            raise SurelabelError(f"--money {money:g} does not buy a single label at these prices; raise it.")
    if pool is None:
        ids = None
    if id_column and pool is None:
        id_series = select_column(frame, id_column, source)
        check_unique_ids(id_series, source, id_column)
        ids = id_series.to_numpy()
    from .limits import fit_budget

    asked, budget = budget, fit_budget(budget, X.shape[0])  # more labels than items can never be bought
    labeler = AutoLabeler(
        make_model(model, seed),
        epsilon=epsilon,
        delta=delta,
        bound=bound,
        score=score,
        query=query,
        validation_size=validation_size,
        seed_size=seed_size,
        batch_size=batch_size,
        budget=budget,
        guarantee=guarantee or "overall",
        random_state=seed,
        scheduler=scheduler,
        workers=workers,
    )
    _warn_if_uncertifiable(labeler, seed)
    if budget < asked:  # said once the settings are known to be valid, so a mistake stays one line
        click.echo(f"Note: --budget {asked} is more labels than the {X.shape[0]} items; capped at {budget}.",
                   err=True)
    result = run_with_progress(labeler, X, SimulatedOracle(y, random_state=seed), f"run {data.name}")
    if out is not None:
        result.save(out, ids=ids)
    cost = None
    if cost_model is not None:
        from .cost import result_cost

        cost = result_cost(result, cost_model)
        if money is not None:
            cost["money_budget"] = money
    report = suggestions = None
    if class_report:
        from .class_report import per_class_report_from_run, suggest_next_labels

        report = per_class_report_from_run(result, X, make_model(model, seed), cost_model=cost_model, y_true=y)
        suggestions = suggest_next_labels(report, currency=cost_model.currency if cost_model else None)
    if report_out is not None:
        from .report import write_report

        write_report(result, report_out, y_true=y, cost=cost, title=f"Run on {data.name}")
    if as_json:
        extra = {} if cost is None else {"cost": cost}
        if report is not None:
            extra.update(class_report=report.to_dict("records"), suggestions=suggestions)
        emit_json(_clean({**result.summary(y), **extra, "rounds": [h.to_dict() for h in result.history],
                          **({"embeddings": embedded} if embedded else {}),
                          **({"report": str(report_out)} if report_out is not None else {}),
                          "out": None if out is None else str(out)}))
        return
    console = make_console()
    if embedded:
        console.print(f"Embedded {len(X)} items with {embedded['featurizer']} ({embedded['version']}, "
                      f"{embedded['dim']}-d): {embedded['computed']} computed, {embedded['cached']} from the cache.")
    console.print(_round_table(f"surelabel run {data}", result, y))
    console.print(_summary_line(str(data), result, y))
    if cost is not None:
        per = "—" if cost["per_auto_label"] is None else cost_model.format(cost["per_auto_label"])
        console.print(f"cost: {cost_model.format(cost['total'])} (validation {cost_model.format(cost['validation'])}, "
                      f"training {cost_model.format(cost['training'])}; {per} per auto-label)")
    if report is not None:
        from rich.table import Table

        # without --price/--prices labels are counted, not priced: no money column, no currency
        priced = cost_model is not None
        table = Table(title="per class", title_justify="left")
        for col in ("class", "items", "coverage", "threshold", "val. error", "needed",
                    "extra cost" if priced else "extra labels", "status"):
            table.add_column(col, justify="left" if col in ("class", "status") else "right")
        def finite(v: Any) -> bool:  # None (nothing certified yet) or nan/inf: shown as a dash
            return v is not None and math.isfinite(v)

        for r in report.to_dict("records"):
            extra = r["extra_cost"] if priced else r["extra_validation"]
            extra_text = (cost_model.format(extra) if priced else f"{extra:,.0f}") if finite(extra) else "—"
            table.add_row(str(r["class"]), str(int(r["items"])), _pct(r["coverage"], 1),
                          f"{r['threshold']:.3g}" if finite(r["threshold"]) else "—",
                          _pct(r["val_error"], 1),
                          str(int(r["needed"])) if finite(r["needed"]) else "—",
                          extra_text, str(r["status"]))
        console.print(table)
        for line in suggestions or []:
            console.print(f"• {line}", highlight=False)
    if out is not None:
        console.print(f"Labels written to {out}")
    if report_out is not None:
        console.print(f"Report written to {report_out}")


main.add_command(__import__("surelabel.bench.cli", fromlist=["bench"]).bench)  # surelabel bench

from . import cli_certify  # noqa: E402,F401  (registers certify)
from .cli_quality import register as _register_quality  # noqa: E402  (plan, audit, spot-check, review, quality-bench)

_register_quality(main)

from . import cli_project  # noqa: E402,F401  (registers init, next, import, step, status, export, serve, example)


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
@raw_input_options
@click.option("--id-column", help="Column with item ids (default: row number; relative path for a folder).")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Write id, emb_0 … emb_{d-1} to .parquet or .csv.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a sentence.")
@friendly_errors
def featurize(data: Path, text_column: str | None, image_column: str | None, images_folder: bool,
              featurizer: str | None, image_size: int | None, cache_dir: Path | None, id_column: str | None,
              out: Path, as_json: bool) -> None:
    """Embed raw texts or images of DATA into feature columns (offline; cached with --cache).

    The output holds the id, the items' other columns (a label, say) and emb_0 … emb_{d-1}: it
    feeds `surelabel run OUT --feature-prefix emb_ --label-column label`.
    """
    import time

    if out.suffix.lower() not in (".parquet", ".csv"):
        raise SurelabelError(f"Cannot write {out}: use a .parquet or .csv file name.")
    if not (text_column or image_column or images_folder or data.is_dir()):
        raise SurelabelError("Say what to embed: --text COLUMN, --image COLUMN, or a folder of images with --images.")
    start = time.perf_counter()
    frame, emb, id_column = _embed_raw(data, text_column, image_column, images_folder, featurizer, image_size,
                                       cache_dir, id_column)
    seconds = time.perf_counter() - start
    table = emb.to_frame(id_column or "id")
    # the item's other columns (its label, say) come along, so OUT is ready for `surelabel run`
    raw = {c for c in (text_column, image_column, "image" if data.is_dir() else None) if c}
    keep = [c for c in frame.columns if c not in raw and c != (id_column or "id") and not c.startswith("emb_")]
    for k, c in enumerate(keep, start=1):
        table.insert(k, c, frame[c].to_numpy())
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(out, index=False) if out.suffix.lower() == ".parquet" else table.to_csv(out, index=False)
    info = {"items": len(emb.ids), "dim": emb.dim, "featurizer": emb.featurizer, "version": emb.version,
            "cache_key": emb.key, "cached": emb.n_cached, "computed": emb.n_computed, "seconds": round(seconds, 3),
            "items_per_second": round(len(emb.ids) / seconds, 1) if seconds > 0 else None, "out": str(out)}
    if as_json:
        emit_json(info)
        return
    click.echo(f"{info['items']} items → {info['dim']}-d vectors with {emb.featurizer} ({emb.version}): "
               f"{emb.n_computed} computed, {emb.n_cached} from the cache, {seconds:.1f} s. Written to {out}")


@main.command("featurize-bench")
@click.argument("part", type=click.Choice(["throughput", "tbal", "all"]))
@click.option("--work", type=click.Path(path_type=Path), default=Path("bench-work"), show_default=True,
              help="Folder for generated inputs (PNGs, text tables) and the embedding cache.")
@click.option("--n", "n_items", type=int, default=10_000, show_default=True, help="Items per throughput run.")
@click.option("--featurizers", default="text,text-fast,tfidf,image,pixels", show_default=True,
              help="Featurizers to time (throughput).")
@click.option("--image-size", type=int, default=64, show_default=True,
              help="Side images are resized to for 'image' (throughput; TBAL compares 64 and 128).")
@click.option("--words", type=int, default=32, show_default=True,
              help="Throughput texts: the first N words of each post (0: whole posts).")
@click.option("--seeds", type=int, default=3, show_default=True, help="TBAL runs per dataset and featurizer.")
@click.option("--fashion-items", type=int, default=20_000, show_default=True,
              help="Fashion-MNIST pool for TBAL (10,000 test images, then training images).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@friendly_errors
def featurize_bench(part: str, work: Path, n_items: int, featurizers: str, image_size: int, words: int, seeds: int,
                    fashion_items: int, as_json: bool) -> None:
    """Featurization speed and memory, and TBAL coverage per featurizer, on raw 20 Newsgroups and Fashion-MNIST."""
    from .featurize_bench import markdown, tbal, throughput

    speed = rows = None
    if part in ("throughput", "all"):
        speed = throughput(work, [f.strip() for f in featurizers.split(",") if f.strip()], n=n_items,
                           image_size=image_size, words=words)
    if part in ("tbal", "all"):
        rows = tbal(work, seeds=seeds, n_fashion=fashion_items)
    if as_json:
        emit_json(_clean({"throughput": speed, "tbal": rows}))
        return
    click.echo(markdown(speed, rows))


if __name__ == "__main__":  # pragma: no cover
    # ``python -m surelabel.cli``: run the imported module's group, which has every command registered
    from surelabel.cli import main as _main

    _main()
