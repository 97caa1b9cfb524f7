"""``surelabel certify``: certify the labels of any labeler (an LLM, a vendor, a network) from an items table.

Three steps, one command (``docs/cli.md``):

1. without ``--answers`` or ``--simulate-from``: draw the uniformly random sample people must
   check and write it (``--out``, a CSV to fill in), with the command to run next;
2. with ``--answers FILE``: certify thresholds on the machine's confidence from the people's
   labels of that sample (drawn again from ``--seed`` and ``--validation-size``: the sample is
   never taken from the answers file, so nobody can choose which items count);
3. with ``--simulate-from COLUMN``: the same, the sample answered from a column of known labels.

Thin like the rest of the CLI: read, call :func:`surelabel.certification.certify`, write, print.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import click

from .cli import _clean, _pct, emit_json, friendly_errors, main, make_console
from .exceptions import InputError

__all__ = ["default_validation_size"]

#: Default size of the validation sample (raised for a small epsilon; at most half the items).
DEFAULT_VALIDATION = 500

#: Errors the default sample can absorb in the certified region and still certify it.
DEFAULT_ERRORS_ABSORBED = 10

#: Item columns never copied into the sample file: they would clash with the answer's own columns.
_ANSWER_COLUMNS = {"id", "item_id", "label", "annotator", "seconds", "lead_time"}


def default_validation_size(n_items: int, epsilon: float, delta: float) -> int:
    """Validation items drawn when ``--validation-size`` is not given.

    At least :data:`DEFAULT_VALIDATION`, and enough that a region holding
    :data:`DEFAULT_ERRORS_ABSORBED` errors can still be certified at ``epsilon``; never more than
    half the items, so that most of them can be accepted.

    Examples
    --------
    >>> default_validation_size(10_000, 0.05, 0.05), default_validation_size(10_000, 0.01, 0.05)
    (500, 1753)
    >>> default_validation_size(600, 0.05, 0.05)
    300
    """
    from .spending import VALIDATION_SHARE
    from .thresholds import min_certifiable_size

    need = min_certifiable_size(float(epsilon), float(delta) * VALIDATION_SHARE, "clopper-pearson",
                                DEFAULT_ERRORS_ABSORBED)
    return max(1, min(max(DEFAULT_VALIDATION, need), n_items // 2))


class _IdColumn:
    """What :func:`~surelabel.exchange.read_answers` needs from a project: the id column's name."""

    def __init__(self, id_column: str | None) -> None:
        self.config = {"id_column": id_column or "id"}


def _unit(name: str, value: float) -> float:
    if not 0.0 < value < 1.0:
        raise InputError(f"{name} must be between 0 and 1 (exclusive). Got {value:g}.")
    return value


def _check_out(out: Path, suffixes: tuple[str, ...], what: str) -> None:
    if out.suffix.lower() not in suffixes:
        raise InputError(f"Cannot write {out}: {what} is a {', '.join(suffixes[:-1])} or {suffixes[-1]} file.")
    if not out.resolve().parent.is_dir():
        raise InputError(f"Cannot write {out}: folder {out.parent} does not exist; create it first.")
    if out.is_dir():
        raise InputError(f"Cannot write {out}: it is a folder; give a file name.")


def _write(frame: Any, out: Path) -> None:
    """Parquet, CSV (spreadsheet-safe text cells, as ``export`` writes) or JSONL, by extension; atomically."""
    from .exchange import _safe_csv

    tmp = out.with_name(out.name + ".tmp")
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        frame.to_parquet(tmp, index=False)
    elif suffix == ".csv":
        _safe_csv(frame).to_csv(tmp, index=False)
    else:
        frame.to_json(tmp, orient="records", lines=True, force_ascii=False)
    tmp.replace(out)


@main.command("certify")
@click.argument("items", type=click.Path(path_type=Path))
@click.option("--pred-column", required=True, help="Column with the labeler's label of each item.")
@click.option("--confidence-column", required=True,
              help="Column with its confidence in that label (higher is surer; any scale).")
@click.option("--id-column", help="Column with item ids (default: row number, from 0).")
@click.option("--epsilon", type=float, default=0.05, show_default=True,
              help="Largest share of wrong accepted labels.")
@click.option("--delta", type=float, default=0.05, show_default=True, help="Allowed failure probability.")
@click.option("--guarantee", type=click.Choice(["overall", "per-class"]), default="overall", show_default=True,
              help="What the promise covers: all accepted labels together, or every class on its own.")
@click.option("--validation-size", type=click.IntRange(min=1),
              help="Items people check, drawn at random (default: 500, more for a small epsilon; at most half).")
@click.option("--answers", type=click.Path(path_type=Path),
              help="People's labels of the sample: CSV or JSONL with id,label (or a Label Studio export).")
@click.option("--simulate-from", "label_column", metavar="COLUMN",
              help="Answer the sample from this column of known labels (a simulation).")
@click.option("--classes", help="Comma-separated classes people may give that the labeler never predicts.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Random seed of the sample; the same seed and size draw the same items.")
@click.option("--out", type=click.Path(path_type=Path),
              help="Without answers: the sample to label (.csv or .jsonl) [default: ITEMS-to-label.csv]. "
                   "With answers: every item with accepted, certified_bound, bound_covers (.csv, .parquet, .jsonl).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of sentences and a table.")
@friendly_errors
def certify_cmd(items: Path, pred_column: str, confidence_column: str, id_column: str | None, epsilon: float,
                delta: float, guarantee: str, validation_size: int | None, answers: Path | None,
                label_column: str | None, classes: str | None, seed: int, out: Path | None, as_json: bool) -> None:
    """Certify the labels of any labeler: accept those whose confidence is above certified thresholds.

    ITEMS (CSV, Parquet or JSONL) holds every item with the machine's label (--pred-column) and
    its confidence (--confidence-column). Run it first without answers: it draws the random
    sample people must check and writes it to fill in. Then run it with --answers (the same
    --seed and --validation-size): with probability at least 1 - delta, at most epsilon of the
    accepted labels are wrong (all together, or per class with --guarantee per-class).
    """
    import numpy as np
    import pandas as pd

    from .certification import certify, draw_validation
    from .exchange import _label_text
    from .io import check_unique_ids, read_table, select_column

    _unit("--epsilon", epsilon)
    _unit("--delta", delta)
    if answers is not None and label_column is not None:
        raise InputError("Give people's labels with --answers FILE or simulate them with --simulate-from COLUMN, "
                         "not both.")
    drawing = answers is None and label_column is None
    if out is not None:
        if drawing:
            _check_out(out, (".csv", ".jsonl"), "the sample to label")
        else:
            _check_out(out, (".csv", ".parquet", ".jsonl"), "the output")
    if pred_column == confidence_column:
        raise InputError(f"--pred-column and --confidence-column are both {pred_column!r}; they must differ.")
    source = str(items)
    frame = read_table(items, id_column=id_column)
    n = frame.shape[0]
    pred_raw = select_column(frame, pred_column, source)
    conf_raw = select_column(frame, confidence_column, source)
    if id_column:
        id_values = select_column(frame, id_column, source)
        check_unique_ids(id_values, source, id_column)
        ids = id_values.to_numpy(dtype=object)
    else:
        ids = np.arange(n)
    missing = pred_raw.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise InputError(f"{source}, row {row + 1}: column {pred_column!r} has no machine label; every item needs "
                         "one (drop such rows, or label them yourself).")
    pred = np.array([_label_text(v) for v in pred_raw.tolist()], dtype=object)
    conf = pd.to_numeric(conf_raw, errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(conf)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = conf_raw.iloc[row]
        what = "has no confidence" if pd.isna(value) else f"holds {value!r}, which is not a number"
        raise InputError(f"{source}, row {row + 1}, column {confidence_column!r}: {what}; every item needs a "
                         "numeric confidence.")
    known = sorted(set(pred.tolist()))
    extra = [c.strip() for c in (classes or "").split(",") if c.strip()]
    all_classes = known + [c for c in extra if c not in known]
    if len(all_classes) < 1:
        raise InputError(f"{source}: column {pred_column!r} holds no label.")
    size = default_validation_size(n, epsilon, delta) if validation_size is None else validation_size
    if size > n:
        raise InputError(f"--validation-size {size} is more than the {n} items of {source}.")
    sample = draw_validation(n, size, seed)
    command = _next_command(items, pred_column, confidence_column, id_column, epsilon, delta, guarantee, size, seed)

    if drawing:
        _write_sample(frame, ids, sample, items, out, id_column, {pred_column, confidence_column}, command,
                      as_json, n)
        return

    index = {c: k for k, c in enumerate(all_classes)}
    shown = ", ".join(all_classes[:10]) + (" …" if len(all_classes) > 10 else "")
    in_sample = np.zeros(n, dtype=bool)
    in_sample[sample] = True
    validation: dict[int, str] = {}
    if answers is not None:
        from .exchange import read_answers

        position = {(v if isinstance(v, str) else str(v)): i for i, v in enumerate(ids.tolist())}
        got, _ = read_answers(answers, _IdColumn(id_column))
        for a in got:
            i = position.get(a.item_id)
            if i is None:
                raise InputError(f"{a.where}: id {a.item_id!r} is not an item of {source}.")
            if not in_sample[i]:
                raise InputError(f"{a.where}: item {a.item_id!r} is not in the sample drawn with --seed {seed} "
                                 f"--validation-size {size}; only the random sample's labels count (use the seed and "
                                 "size of the draw).")
            if a.label not in index:
                raise InputError(f"{a.where}: label {a.label!r} is not one of the classes in column {pred_column!r} "
                                 f"({shown}); fix it, or add it with --classes if the labeler never predicts it.")
            validation[i] = a.label
        where_answers = str(answers)
    else:
        truth = select_column(frame, label_column, source)
        for i in sample.tolist():
            v = truth.iloc[i]
            if pd.isna(v):
                continue  # no label: a skipped item, counted as an error
            label = _label_text(v)
            if label not in index:
                raise InputError(f"{source}, row {i + 1}: column {label_column!r} holds {label!r}, which is not one "
                                 f"of the classes in column {pred_column!r} ({shown}); add it with --classes.")
            validation[i] = label
        where_answers = f"column {label_column!r}"
    cert = certify(pred, conf, validation, epsilon=epsilon, delta=delta, guarantee=guarantee, sample=sample,
                   classes=all_classes)
    table = cert.to_frame()
    table["id"] = ids
    if id_column:
        table = table.rename(columns={"id": id_column})
    if out is not None:
        _write(table, out)
    summary = {**cert.to_dict(), "items": source, "answers": where_answers, "seed": seed, "validation_size": size,
               "out": None if out is None else str(out)}
    if as_json:
        emit_json(_clean(summary))
        return
    _print_summary(cert, source, pred_column, confidence_column, where_answers, out)


def _next_command(items: Path, pred_column: str, confidence_column: str, id_column: str | None, epsilon: float,
                  delta: float, guarantee: str, size: int, seed: int) -> list[str]:
    """The arguments of the certifying call that matches this draw (everything but --answers and --out)."""
    args = ["surelabel", "certify", str(items), "--pred-column", pred_column, "--confidence-column",
            confidence_column]
    if id_column:
        args += ["--id-column", id_column]
    if epsilon != 0.05:
        args += ["--epsilon", f"{epsilon:g}"]
    if delta != 0.05:
        args += ["--delta", f"{delta:g}"]
    if guarantee != "overall":
        args += ["--guarantee", guarantee]
    return args + ["--validation-size", str(size), "--seed", str(seed)]


def _write_sample(frame: Any, ids: Any, sample: Any, items: Path, out: Path | None, id_column: str | None,
                  machine: set[str], command: list[str], as_json: bool, n: int) -> None:
    """Write the sample people must label: id, an empty label, and the item's other columns to look at."""
    import pandas as pd

    if out is None:
        out = items.with_name(f"{items.stem}-to-label.csv")
    if out.exists():
        raise InputError(f"{out} exists (it may hold answers already); give another --out, or remove it to draw "
                         "again.")
    keep = [c for c in frame.columns if c not in machine and c != id_column and c not in _ANSWER_COLUMNS]
    rows = frame.iloc[sample]
    table = pd.DataFrame({"id": [ids[i] for i in sample.tolist()], "label": [None] * len(sample)})
    for c in keep:  # what people look at to decide (a text, an image path); never the machine's label
        table[c] = rows[c].to_numpy()
    _write(table, out)
    then = shlex.join(command + ["--answers", str(out), "--out", f"{items.stem}-certified.csv"])
    if as_json:
        emit_json({"sample": str(out), "n_items": n, "validation_size": int(len(sample)), "next": then})
        return
    click.echo(f"Drew {len(sample)} of {n} items uniformly at random for people to check: {out}\n"
               f"Fill in its 'label' column with each item's true label, without looking at the machine's label. "
               "Leave none empty: an item left without a label counts as an error of the machine. Then run:\n"
               f"  {then}")


def _print_summary(cert: Any, source: str, pred_column: str, confidence_column: str, where_answers: str,
                   out: Path | None) -> None:
    from rich.table import Table

    console = make_console()
    promise = (f"at most {_pct(cert.epsilon, 1)} of the accepted labels are wrong"
               if cert.guarantee == "overall" else f"at most {_pct(cert.epsilon, 1)} of each class's accepted "
                                                   "labels are wrong")
    console.print(f"{source}: {cert.n_accepted} of {cert.n_items} machine labels ({pred_column!r}) accepted: "
                  f"coverage {_pct(cert.coverage, 1)}.", highlight=False)
    console.print(f"Promise: {promise}, with probability ≥ {1 - cert.delta:.0%}. Certified bound: "
                  f"{_pct(cert.certified_bound)} ({cert.bound_covers}).", highlight=False)
    skipped = f", {cert.n_skipped} without an answer (counted as errors)" if cert.n_skipped else ""
    console.print(f"Validation: {cert.n_validation} items drawn at random, answered from {where_answers}"
                  f"{skipped}; the sample keeps its human labels.", highlight=False)
    table = Table(title=f"per class (validation estimates with {int(100 * 0.9)} % intervals)", title_justify="left")
    for col in ("class", "threshold", "accepted", "val. items", "val. above", "val. errors", "val. error",
                "90 % interval", "certified bound"):
        table.add_column(col, justify="left" if col == "class" else "right")
    for r in cert.per_class():
        lo, hi = r["val_interval"]
        thr = r["threshold"]
        table.add_row(str(r["class"]), "—" if thr is None else f"{thr:.4g}", str(r["accepted"]),
                      str(r["val_support"]), str(r["val_selected"]), str(r["val_errors"]), _pct(r["val_error"], 1),
                      "—" if lo is None else f"{_pct(lo, 1)}–{_pct(hi, 1)}",
                      "—" if r["certified_bound"] is None else _pct(r["certified_bound"]))
    console.print(table)
    if cert.guarantee == "overall":
        console.print("Per-class figures are estimates, not certificates: the promise covers the accepted labels "
                      "together (--guarantee per-class certifies each class).", highlight=False)
    if cert.n_accepted == 0:
        console.print(f"Nothing could be certified: the machine's validation errors at its surest are too many for "
                      f"epsilon {cert.epsilon:g}, or the sample is too small; a larger --validation-size or "
                      "epsilon may help.", highlight=False)
    if out is not None:
        console.print(f"Every item with its machine label, accepted, certified_bound and bound_covers written to "
                      f"{out}", highlight=False)
