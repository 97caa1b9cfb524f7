"""The project commands of ``surelabel``: init, next, import, step, status, report, export, check, serve, annotators,
example.

Thin like the rest of the CLI: parse, call :class:`~surelabel.project.Project`, print (a
sentence or a table for people, one JSON object with ``--json``). ``surelabel run`` on a
project folder (``run DIR --simulate-from COL``) is dispatched here from :mod:`surelabel.cli`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .cli import _clean, _pct, emit_json, first_rounds_note, friendly_errors, main, round_progress, stop_reason_text
from .exceptions import InputError, SurelabelError

__all__ = ["simulate_project", "status_text"]

DB_HELP = ("Database URL (default: project.db inside DIR); e.g. postgresql://user@host/db for a team "
           "(the password from PGPASSWORD or ~/.pgpass; never stored).")


def _open(directory: Path, db: str | None = None):
    from .project import Project

    return _with_password(lambda url: Project.open(directory, db=url), db)[0]


def _stdin_is_tty() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _with_password(call: Any, db: str | None) -> tuple[Any, str | None]:
    """``(call(db), db)``; when the PostgreSQL server asks for a password that neither the URL, PGPASSWORD
    nor ~/.pgpass gave, ask for it on a terminal (and call again with it in the URL, for this process only);
    without a terminal the one-line error says which variable to set."""
    from sqlalchemy.engine import make_url

    from .store import PasswordNeededError

    try:
        return call(db), db
    except PasswordNeededError as exc:
        if not _stdin_is_tty():
            raise
        password = click.prompt(f"Password for {exc.url}", hide_input=True, err=True)
        db = make_url(exc.url).set(password=password).render_as_string(hide_password=False)
        return call(db), db


def _db_option(f: Any) -> Any:
    return click.option("--db", "db", metavar="URL", envvar="SURELABEL_DB", help=DB_HELP)(f)


def _json_option(f: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")(f)


def _cost_model(price: float | None, prices: Path | None, per_second: float | None) -> Any:
    """The project's prices from init's options (None: labels are counted, not priced)."""
    from .cli_quality import cost_model_from_options
    from .cost import CostModel

    if per_second is not None:
        if price is not None or prices is not None:
            raise SurelabelError("Give one of --price, --prices or --price-per-second, not several.")
        return CostModel.per_second(per_second)
    return cost_model_from_options(price, prices)


def status_text(s: dict[str, Any]) -> str:
    """A few lines for people: where the project stands."""
    h = s["human_labels"]
    lines = [
        f"Project {s['project']}: {s['n_items']} items, round {s['round']}"
        + (f", stopped: {stop_reason_text(s['stop_reason'])}" if s["stop_reason"] else ""),
        f"  coverage {_pct(s['coverage'], 1)} ({s['n_auto']} auto-labeled), promise: wrong auto-labels ≤ "
        f"{_pct(s['epsilon'], 1)} with probability ≥ {1 - s['delta']:.0%}",
        f"  human labels {h['total']} of {s['budget']} (validation {h['validation']}, training {h['training']}),"
        f" {s['budget_left']} left",
    ]
    cost = s.get("cost")
    if cost:
        money = f"{cost['currency']}{{:,.2f}}".format
        per = "—" if cost["per_auto_label"] is None else money(cost["per_auto_label"])
        lines.append(f"  cost {money(cost['total'])} (validation {money(cost['validation'])}, training "
                     f"{money(cost['training'])}; {per} per auto-label)")
    for b in s["pending_batches"]:
        lines.append(f"  batch {b['batch']} (round {b['round']}, {b['kind']}): {b['answered']}/{b['size']} answered")
    certified = [p for p in s["per_class"] if p["threshold"] is not None]
    if s["history"]:
        per_class_promise = s.get("guarantee") == "per-class"
        lines.append("  class: threshold, validation error estimate [90 % interval]"
                     + (", certified bound for the class" if per_class_promise else "") + ", auto-labels")
        for p in s["per_class"]:
            thr = "—" if p["threshold"] is None else f"{p['threshold']:.3g}"
            lo_hi = p.get("estimate_interval") or [None, None]
            est = "—" if p.get("estimate") is None else f"{_pct(p['estimate'])} [{_pct(lo_hi[0])}, {_pct(lo_hi[1])}]"
            cert = f", {_pct(p['certified_bound'])}" if per_class_promise else ""
            lines.append(f"    {p['class']}: {thr}, {est}{cert}, {p['auto_labeled']}")
        if not certified:
            lines.append("  no class is certified yet: more validation or training labels are needed")
        elif per_class_promise:
            lines.append("  each class's certified bound covers that class's auto-labels (jointly, with probability"
                         f" ≥ {1 - s['delta']:.0%}); the estimates are estimates, not promises")
        elif s["union_error_bound"] is not None:
            lines.append(f"  overall certified bound on the share of wrong auto-labels (all classes together): "
                         f"{_pct(s['union_error_bound'])}; the per-class figures are estimates, not promises")
    return "\n".join(lines)


def _next_hint(s: dict[str, Any], directory: Path) -> str:
    if s["stop_reason"]:
        return (f"Stopped: {stop_reason_text(s['stop_reason'])}. Export the labels: "
                f"surelabel export {directory} --out labels.parquet")
    if s["pending"]:
        return f"{s['pending']} item(s) wait for answers: surelabel next {directory} --out batch.csv"
    return f"Every item of round {s['round']} is answered: surelabel step {directory}"


@main.command("init")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--items", "items", type=click.Path(path_type=Path),
              help="The items: a .csv, .parquet or .jsonl file.")
@click.option("--images", "images", type=click.Path(path_type=Path),
              help="Instead of --items: a folder of images (one subfolder per class gives a 'label' column).")
@click.option("--featurizer", help="Embed raw --text or --image items: tfidf (default for text), text-fast, text, "
              "image (default for images) or pixels.")
@click.option("--image-size", type=int, help="Side images are resized to before embedding "
              "[default: 224 for image, 28 for pixels].")
@click.option("--id", "id_column", help="Column with unique item ids (with --images: the relative path).")
@click.option("--features", help="Comma-separated feature columns (or one column holding vectors).")
@click.option("--feature-prefix", help="Use every column whose name starts with this prefix.")
@click.option("--text", "text", help="Column with the text people read.")
@click.option("--image", "image", help="Column with an image path (relative to the items file).")
@click.option("--media-root", "media_roots", multiple=True, type=click.Path(path_type=Path),
              help="A folder image paths may point into, besides the items file's (or --images) folder; "
                   "repeatable. Images anywhere else are refused.")
@click.option("--classes", required=True, help="Comma-separated class names, e.g. cat,dog,bird.")
@click.option("--epsilon", type=float, default=0.05, show_default=True, help="Largest share of wrong auto-labels.")
@click.option("--delta", type=float, default=0.05, show_default=True, help="Allowed failure probability.")
@click.option("--bound", type=click.Choice(["clopper-pearson", "hoeffding", "paper"]), default="clopper-pearson",
              show_default=True)
@click.option("--budget", type=int, required=True, help="Human labels in all, validation included.")
@click.option("--validation-size", type=int, help="Validation labels (default: half the budget).")
@click.option("--seed-size", type=int, help="Random training labels in round 0 (default: 20% of the rest).")
@click.option("--batch-size", type=int, help="Training labels asked per round (default: 5% of the rest).")
@click.option("--model", default="logreg", show_default=True,
              help="logreg, linear-svm, paper-svm, random-forest, hist-gb, knn, naive-bayes.")
@click.option("--score", default="max_proba", show_default=True, help="max_proba, margin, neg_entropy or energy.")
@click.option("--query", default="random", show_default=True,
              type=click.Choice(["random", "margin", "least_confident", "entropy", "margin_random", "mixed"]),
              help="Which items people label next: random among those not auto-labeled, or by uncertainty.")
@click.option("--guarantee", type=click.Choice(["overall", "per-class"]), default="overall", show_default=True,
              help="What the promise covers: all auto-labels together, or every class on its own (stored).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Random seed, stored: the same items, settings, seed and answers give the same labels.")
@click.option("--price", type=float, help="Price of one human label: status reports the money spent.")
@click.option("--prices", type=click.Path(path_type=Path), help="Price per class: CSV (class,price) or JSON.")
@click.option("--price-per-second", type=float,
              help="Money per second of recorded labeling time (web page, Label Studio lead_time).")
@_db_option
@_json_option
@friendly_errors
def init_cmd(directory: Path, items: Path | None, images: Path | None, featurizer: str | None,
             image_size: int | None, id_column: str | None, features: str | None, feature_prefix: str | None,
             text: str | None, image: str | None, media_roots: tuple[Path, ...], classes: str, epsilon: float,
             delta: float, bound: str,
             budget: int, validation_size: int | None, seed_size: int | None, batch_size: int | None, model: str,
             score: str, query: str, guarantee: str, seed: int, price: float | None, prices: Path | None,
             price_per_second: float | None, db: str | None, as_json: bool) -> None:
    """Create a labeling project in DIR from an items file.

    Round 0's work is queued at once: a random validation batch and a random seed batch.

    Example: surelabel init proj --items items.csv --id id --feature-prefix px --classes 0,1,2 --budget 300
    """
    from .project import Project, has_password

    if (items is None) == (images is None):
        raise SurelabelError("Give the items with exactly one of --items FILE or --images FOLDER.")
    if images is not None:
        from .featurize import read_image_folder

        items = read_image_folder(images)
        id_column, image = id_column or "id", image or "image"
        media_roots = (images, *media_roots)
    elif not id_column:
        raise SurelabelError("Missing option '--id': the column with unique item ids.")
    if media_roots and not image:
        raise InputError("--media-root applies to images: add --image COLUMN or --images FOLDER.")
    for root in media_roots:
        if not root.is_dir():
            raise InputError(f"--media-root {root} is not a folder; give the folder the images are in.")
    cols = [c.strip() for c in features.split(",") if c.strip()] if features else None
    cost = _cost_model(price, prices, price_per_second)
    if image_size is not None:
        if not image:
            raise SurelabelError("--image-size applies to images: add --image COLUMN or --images FOLDER.")
        from .featurize import featurizer_from_options

        featurizer = featurizer_from_options(featurizer, "image", image_size=image_size)
    if has_password(db):
        click.echo(f"Warning: the password in the --db URL is used for this command but not stored in {directory}; "
                   "later commands take it from PGPASSWORD or ~/.pgpass (or SURELABEL_DB, or ask).", err=True)

    def create(url: str | None) -> Any:
        return Project.create(directory, items, id_column=id_column, featurizer=featurizer, features=cols,
                              feature_prefix=feature_prefix,
                              text=text, image=image, classes=[c for c in classes.split(",")], epsilon=epsilon,
                              delta=delta, bound=bound, model=model, budget=budget, validation_size=validation_size,
                              seed_size=seed_size, batch_size=batch_size, score=score, query=query, seed=seed,
                              guarantee=guarantee,
                              db=url, cost=cost, media_roots=list(media_roots))

    with _with_password(create, db)[0] as project:
        s = project.status()
        config = project.config
    if s["budget"] < budget:
        click.echo(f"Note: --budget {budget} is more labels than the {s['n_items']} items; "
                   f"capped at {s['budget']}.", err=True)
    if as_json:
        emit_json(_clean({**s, "config": config}))
        return
    click.echo(f"Created project {directory}: {s['n_items']} items, classes {', '.join(s['classes'])}, "
               f"budget {s['budget']} (validation {config['validation_size']}, seed {config['seed_size']}, "
               f"batches of {config['batch_size']}), seed {config['seed']}.")
    feat = config.get("featurizer")
    if feat:
        click.echo(f"Embedded the items with {feat['name']} ({feat['version']}, {feat['dim']}-d); the vectors are "
                   f"cached in {directory}/embeddings.")
    click.echo(_next_hint(s, directory))


@main.command("next")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "labelstudio"]),
              help="File format (default: from --out's extension, else csv).")
@click.option("--out", type=click.Path(path_type=Path), help="Write the items to this file (default: print them).")
@click.option("--label-config", type=click.Path(path_type=Path),
              help="Also write the matching Label Studio labeling config (XML) here.")
@click.option("--image-url", type=click.Choice(["local-files", "surelabel"]),
              help="Label Studio tasks: write images as URLs Label Studio opens — its local file serving "
                   "(with --document-root) or surelabel serve's /api/image (with --serve-url).")
@click.option("--document-root", type=click.Path(path_type=Path),
              help="With --image-url local-files: Label Studio's LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT.")
@click.option("--serve-url", help="With --image-url surelabel: where surelabel serve runs, e.g. "
                                  "http://localhost:8765.")
@_db_option
@_json_option
@friendly_errors
def next_cmd(directory: Path, fmt: str | None, out: Path | None, label_config: Path | None,
             image_url: str | None, document_root: Path | None, serve_url: str | None, db: str | None,
             as_json: bool) -> None:
    """The items people should label now (validation first, then training), as a file to hand out.

    Fill in the label column and give the file back with surelabel import.

    Example: surelabel next proj --out batch.csv

    Label Studio with images: surelabel next proj --out batch.json --image-url local-files --document-root ~/data
    """
    from .exchange import batch_rows, check_out_folder, image_urls, write_batch
    from .exchange import label_config as make_config

    by_suffix = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "labelstudio"}
    if out is not None:
        suffix = out.suffix.lower()
        if suffix not in by_suffix:
            raise InputError(f"Cannot write {out}: use a .csv, .jsonl or .json (Label Studio) file name.")
        if fmt is not None and by_suffix[suffix] != fmt:
            raise InputError(f"--format {fmt} does not match {out}'s extension; rename the file or drop --format.")
        check_out_folder(out)
    if label_config is not None:
        check_out_folder(label_config)
    if fmt is None:
        fmt = by_suffix.get(out.suffix.lower(), "csv") if out is not None else "csv"
    if (image_url or document_root or serve_url) and fmt != "labelstudio":
        raise InputError("--image-url, --document-root and --serve-url are for Label Studio tasks; "
                         "add --format labelstudio (or write a .json file).")
    with _open(directory, db) as project:
        urls = image_urls(project, image_url, document_root=document_root, serve_url=serve_url)
        pending = project.pending()
        s = project.status()
        text = write_batch(project, pending, out, fmt, urls) if (out is not None or not as_json) else ""
        rows = batch_rows(project, pending) if as_json else []
        config = make_config(project.classes, "image" if project.config.get("image_column") else "text")
    if label_config is not None:
        label_config.write_text(config, encoding="utf-8")
    if as_json:
        emit_json(_clean({"count": len(pending), "round": s["round"], "stop_reason": s["stop_reason"],
                          "out": None if out is None else str(out), "format": fmt,
                          "pending_batches": s["pending_batches"], "items": rows,
                          **({"label_config": config} if fmt == "labelstudio" else {})}))
        return
    if out is None:
        click.echo(text, nl=False)
        if not pending:
            click.echo(f"Nothing to label. {_next_hint(s, directory)}", err=True)
        return
    if pending:
        parts = ", ".join(f"batch {b['batch']} ({b['kind']}, {b['size'] - b['answered']})"
                          for b in s["pending_batches"] if b["size"] > b["answered"])
        click.echo(f"Wrote {len(pending)} item(s) to label to {out}: {parts}.")
    else:
        click.echo(f"Nothing to label. {_next_hint(s, directory)}")


@main.command("import")
@click.argument("directory", type=click.Path(path_type=Path))
@click.argument("answers", type=click.Path(path_type=Path))
@click.option("--annotator", help="Who answered (when the file does not say).")
@click.option("--replay", is_flag=True,
              help="Answer batch after batch from ANSWERS, running each round as its batch completes "
                   "(rebuilds a project from a full export of another copy of it).")
@_db_option
@_json_option
@friendly_errors
def import_cmd(directory: Path, answers: Path, annotator: str | None, replay: bool, db: str | None,
               as_json: bool) -> None:
    """Record the answers in ANSWERS (CSV, JSONL or a Label Studio JSON export).

    Every row is checked first; nothing is written unless the whole file is valid. With
    --replay the file may answer later rounds too: they are run as their batches complete.

    Example: surelabel import proj answers.csv
    """
    if replay:
        with _open(directory, db) as project:
            s = project.replay(answers, annotator=annotator)
        for w in s.get("warnings", []):
            click.echo(f"Warning: {w}", err=True)
        if as_json:
            emit_json(_clean(s))
            return
        r = s["replay"]
        click.echo(f"Replayed {r['recorded']} answer(s) from {answers} over {r['rounds_run']} round(s)"
                   + (f"; {r['unused']} answer(s) were for items no batch asked for" if r["unused"] else "") + ".")
        click.echo(status_text(s))
        click.echo(_next_hint(s, directory))
        return
    from .project import NOT_RECORDED

    with _open(directory, db) as project:
        summary = project.import_answers(answers, annotator=annotator)
        s = project.status()
    for kind, n in summary.not_recorded.items():
        click.echo(f"Note: {n} {NOT_RECORDED[kind]}.", err=True)
    if as_json:
        emit_json(_clean({**summary.to_dict(), "round": s["round"], "pending": s["pending"]}))
        return
    click.echo(f"Recorded {summary.recorded} answer(s) from {answers} ({summary.unchanged} already recorded, "
               f"{summary.corrected} corrected"
               + (f", {summary.reviewed} correction(s) of auto-labels as a review" if summary.reviewed else "")
               + (f"; {sum(summary.not_recorded.values())} not recorded" if summary.not_recorded else "") + ").")
    click.echo(_next_hint(s, directory))


@main.command("step")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--partial", is_flag=True,
              help="Run the round even if some items are unanswered (they go back to the pool).")
@_db_option
@_json_option
@friendly_errors
def step_cmd(directory: Path, partial: bool, db: str | None, as_json: bool) -> None:
    """Run a round with the answers received: train, certify thresholds, auto-label, queue the next batch.

    Example: surelabel step proj
    """
    with _open(directory, db) as project, round_progress(f"step {directory.name}", None,
                                                          "training, certifying, auto-labeling"):
        result = project.step(partial=partial)
        s = project.status()
    for w in result.warnings:
        click.echo(f"Warning: {w}", err=True)
    if as_json:
        emit_json(_clean({**result.to_dict(), "status": s}))
        return
    if result.already_done:
        click.echo(f"Round {result.round} was run by another process meanwhile.")
        click.echo(_next_hint(s, directory))
        return
    rep = result.report
    bound = rep.get("union_upper_bound")
    click.echo(f"Round {result.round}: {result.n_auto_labeled} item(s) auto-labeled, coverage "
               f"{_pct(result.coverage, 1)}, certified error bound {_pct(bound)} (promise ≤ {_pct(s['epsilon'], 1)}).")
    why = first_rounds_note(result.round, result.n_auto_labeled_total)
    if why:  # 0 % coverage early on is expected, not a failure: say so
        click.echo(why)
    if result.stop_reason:
        click.echo(f"Stopped: {stop_reason_text(result.stop_reason)}. Export the labels: "
                   f"surelabel export {directory} --out labels.parquet")
    else:
        click.echo(f"Batch {result.next_batch}: {result.n_queried} item(s) to label: surelabel next {directory} "
                   "--out batch.csv")


@main.command("status")
@click.argument("directory", type=click.Path(path_type=Path))
@_db_option
@_json_option
@friendly_errors
def status_cmd(directory: Path, db: str | None, as_json: bool) -> None:
    """Coverage, certified error bound per class, labels spent and left, pending batches, stop reason.

    Example: surelabel status proj --json
    """
    with _open(directory, db) as project:
        s = project.status()
    if as_json:
        emit_json(_clean(s))
        return
    click.echo(status_text(s))
    click.echo(_next_hint(s, directory))


@main.command("report")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="The .html file to write.")
@_db_option
@_json_option
@friendly_errors
def report_cmd(directory: Path, out: Path, db: str | None, as_json: bool) -> None:
    """One self-contained HTML page about the project, to look at or send.

    Coverage and the certified bound round by round, per-class thresholds and estimates, score
    histograms, spot checks and cost.

    For a run on an items file, write it with the run: surelabel run ... --report report.html

    Example: surelabel report proj --out report.html
    """
    from .report import write_report

    path = _with_password(lambda url: write_report(directory, out, db=url), db)[0]
    if as_json:
        emit_json({"out": str(path)})
        return
    click.echo(f"Report written to {path}")


@main.command("export")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="labels.parquet, .csv, .jsonl, or a .json file with --format labelstudio.")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv", "jsonl", "labelstudio"]),
              help="Default: from the extension (.json means labelstudio).")
@click.option("--label-config", type=click.Path(path_type=Path),
              help="Also write the matching Label Studio labeling config (XML) here.")
@click.option("--image-url", type=click.Choice(["local-files", "surelabel"]),
              help="Label Studio tasks: images as URLs Label Studio opens (as for surelabel next).")
@click.option("--document-root", type=click.Path(path_type=Path),
              help="With --image-url local-files: Label Studio's LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT.")
@click.option("--serve-url", help="With --image-url surelabel: where surelabel serve runs.")
@_db_option
@_json_option
@friendly_errors
def export_cmd(directory: Path, out: Path, fmt: str | None, label_config: Path | None, image_url: str | None,
               document_root: Path | None, serve_url: str | None, db: str | None, as_json: bool) -> None:
    """Write every item's label with its source, round and score (or Label Studio tasks).

    In Label Studio format auto-labels are predictions (score, model version) and human labels
    annotations, so machine and human labels stay apart.

    Example: surelabel export proj --out labels.parquet
    """
    from .exchange import check_out_folder, export_format, image_urls, write_labels
    from .exchange import label_config as make_config

    check_out_folder(out)
    if label_config is not None:
        check_out_folder(label_config)
    if (image_url or document_root or serve_url) and export_format(out, fmt) != "labelstudio":
        raise InputError("--image-url, --document-root and --serve-url are for Label Studio tasks; "
                         "add --format labelstudio (or write a .json file).")
    with _open(directory, db) as project:
        urls = image_urls(project, image_url, document_root=document_root, serve_url=serve_url)
        path = write_labels(project, out, fmt, urls) if urls is not None else project.export(out, fmt)
        s = project.status()
        config = make_config(project.classes, "image" if project.config.get("image_column") else "text")
    if label_config is not None:
        label_config.write_text(config, encoding="utf-8")
    if as_json:
        emit_json(_clean({"out": str(path), "n_items": s["n_items"], "n_auto": s["n_auto"],
                          "human_labels": s["human_labels"], "coverage": s["coverage"],
                          "stop_reason": s["stop_reason"]}))
        return
    click.echo(f"Wrote {s['n_items']} item(s) to {path}: {s['n_auto']} auto-labeled, "
               f"{s['human_labels']['total']} labeled by people.")


@main.command("check")
@click.argument("directory", type=click.Path(path_type=Path))
@_db_option
@_json_option
@friendly_errors
def check_cmd(directory: Path, db: str | None, as_json: bool) -> None:
    """Verify the project's store without changing it: prints "ok" (exit 0) or each problem (exit 1).

    Checks the database (SQLite integrity_check, schema version and tables), the stored settings,
    items.parquet against the stored items, and every label against the classes.

    Example: surelabel check proj
    """
    from .check import check_project

    problems = _with_password(lambda url: check_project(directory, db=url), db)[0]
    if as_json:
        emit_json({"project": str(directory), "ok": not problems, "problems": problems})
    elif not problems:
        click.echo("ok")
    else:
        for p in problems:
            click.echo(f"Problem: {p}.")
        click.echo(f"Error: {directory} has {len(problems)} problem(s); restore the damaged file(s) from a backup.",
                   err=True)
    if problems:
        sys.exit(1)


def simulate_project(directory: Path, column: str, out: Path | None, db: str | None, as_json: bool,
                     report: Path | None = None) -> None:
    """``surelabel run DIR --simulate-from COL``: answer every batch from COL, through the same steps as people."""
    with _open(directory, db) as project, round_progress(f"run {directory.name}", None,
                                                          "answering batches, running rounds"):
        s = project.simulate(column)
        if out is not None:
            project.export(out)
        if report is not None:
            from .report import write_report

            write_report(project, report)
    for w in s.get("warnings", []):
        click.echo(f"Warning: {w}", err=True)
    if as_json:
        emit_json(_clean({**s, "out": None if out is None else str(out),
                          **({"report": str(report)} if report is not None else {})}))
        return
    click.echo(status_text(s))
    if out is not None:
        click.echo(f"Labels written to {out}")
    if report is not None:
        click.echo(f"Report written to {report}")


@main.command("serve")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (local only by default). Any other address needs annotator tokens.")
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="Another name browsers may reach the server by (the Host header), e.g. the public name behind "
                   "a reverse proxy; repeatable. Others are refused (stops DNS rebinding).")
@click.option("--media-root", "media_roots", multiple=True, type=click.Path(path_type=Path),
              help="Also serve images from this folder (besides those allowed at init); repeatable.")
@click.option("--require-tokens", is_flag=True,
              help="Require annotator tokens on localhost too (always required beyond localhost, and with "
                   "--allowed-host or --trusted-proxy).")
@click.option("--trusted-proxy", metavar="ADDR",
              help="Address of a reverse proxy whose X-Forwarded-Proto/-Host/-For headers are believed.")
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Requests served at once.")
@_db_option
@_json_option
@friendly_errors
def serve_cmd(directory: Path, host: str, port: int, allowed_hosts: tuple[str, ...], media_roots: tuple[Path, ...],
              require_tokens: bool, trusted_proxy: str | None, threads: int, db: str | None, as_json: bool) -> None:
    """Serve a web page where people label the project's items, one at a time (waitress, a production server).

    Several people can label at once; when a batch is complete the next round runs in the background.
    Beyond localhost every annotator needs a token: surelabel annotators add DIR NAME prints their link.

    Example: surelabel serve proj --port 8000
    """
    try:
        from waitress.server import create_server

        from .web import create_app, is_loopback
    except ModuleNotFoundError as exc:  # flask and waitress are an extra
        raise InputError(f"The web page needs {exc.name}: pip install 'surelabel[web]'.") from None
    for root in media_roots:
        if not root.is_dir():
            raise InputError(f"--media-root {root} is not a folder; give the folder the images are in.")
    from .project import Project

    project, db = _with_password(lambda url: Project.open(directory, db=url), db)  # db: with an asked password
    project.close()
    _check_port_free(host, port)
    # reached from elsewhere (another address, a public name, a proxy): only annotators with a token get in
    exposed = require_tokens or not is_loopback(host) or bool(allowed_hosts) or bool(trusted_proxy)
    app = create_app(directory, db=db, host=host, allowed_hosts=allowed_hosts, media_roots=media_roots,
                     require_tokens=exposed)
    lab = app.config["SURELABEL"]
    proxy = {} if not trusted_proxy else {
        "trusted_proxy": trusted_proxy, "trusted_proxy_headers": {"x-forwarded-proto", "x-forwarded-host",
                                                                  "x-forwarded-for"}}
    try:
        server = create_server(app, host=host, port=port, threads=threads, ident="surelabel",
                               max_request_body_size=1024 * 1024, clear_untrusted_proxy_headers=True, **proxy)
    except OSError as exc:
        lab.shutdown()
        raise InputError(f"Cannot serve on {host}:{port}: {exc.strerror or exc}; pick another port with --port.") \
            from None
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    if as_json:
        emit_json({"url": url, "project": str(directory)})
    else:
        click.echo(f"Labeling page for {directory} at {url} (Ctrl+C to stop)")
        if exposed:
            click.echo(f"Annotators sign in with their own link (surelabel annotators add {directory} NAME)"
                       + ("." if trusted_proxy else "; put a TLS reverse proxy in front before exposing it to a "
                          "network (see Security in docs/project.md)."))
    sys.stdout.flush()
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        lab.shutdown()


@main.group("annotators")
def annotators_group() -> None:
    """Who may use the labeling page: per-annotator access tokens (stored hashed in the project).

    Example: surelabel annotators add proj ana --host labels.example.org --port 443
    """


@annotators_group.command("add")
@click.argument("directory", type=click.Path(path_type=Path))
@click.argument("name")
@click.option("--host", default="127.0.0.1", show_default=True, help="Host shown in the printed link.")
@click.option("--port", type=int, default=8000, show_default=True, help="Port shown in the printed link.")
@click.option("--url", "base_url", metavar="URL",
              help="The page's public address for the link instead of --host/--port (e.g. https://labels.example.org/).")
@click.option("--replace", is_flag=True, help="Issue a new token for an annotator who has one (the old link stops).")
@_db_option
@_json_option
@friendly_errors
def annotators_add_cmd(directory: Path, name: str, host: str, port: int, base_url: str | None, replace: bool,
                       db: str | None, as_json: bool) -> None:
    """Give NAME an access token and print their link (shown once; only its hash is stored).

    The name in the token is recorded with every answer given through that link.

    Example: surelabel annotators add proj ana
    """
    from .access import add_annotator

    with _open(directory, db) as project:
        token = add_annotator(project, name, replace=replace)
    name = name.strip()
    shown = f"[{host}]" if ":" in host else host
    base = base_url.rstrip("/") + "/" if base_url else f"http://{shown}:{port}/"
    link = f"{base}?token={token}"
    if as_json:
        emit_json({"annotator": name, "token": token, "link": link})
        return
    click.echo(f"Access link for {name} (keep it secret; it is shown only this once):")
    click.echo(link)


@annotators_group.command("list")
@click.argument("directory", type=click.Path(path_type=Path))
@_db_option
@_json_option
@friendly_errors
def annotators_list_cmd(directory: Path, db: str | None, as_json: bool) -> None:
    """The annotators who have a token (never the tokens).

    Example: surelabel annotators list proj
    """
    from .access import annotators

    with _open(directory, db) as project:
        known = annotators(project)
    if as_json:
        emit_json({"annotators": [{"annotator": n, "created_at": e.get("created_at")}
                                  for n, e in sorted(known.items())]})
        return
    if not known:
        click.echo(f"No annotator has a token; add one with: surelabel annotators add {directory} NAME")
    for n, e in sorted(known.items()):
        click.echo(f"{n} (since {e.get('created_at', '?')})")


@annotators_group.command("remove")
@click.argument("directory", type=click.Path(path_type=Path))
@click.argument("name")
@_db_option
@_json_option
@friendly_errors
def annotators_remove_cmd(directory: Path, name: str, db: str | None, as_json: bool) -> None:
    """Withdraw NAME's token: their link stops working at once (their answers stay).

    Example: surelabel annotators remove proj ana
    """
    from .access import remove_annotator

    with _open(directory, db) as project:
        remove_annotator(project, name)
    if as_json:
        emit_json({"removed": name.strip()})
        return
    click.echo(f"Removed the token of {name.strip()}.")


def _check_port_free(host: str, port: int) -> None:
    """Refuse a port another program holds before anything is printed, in one line."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise InputError(f"Cannot serve on host {host!r}: {exc.strerror or exc}; try --host 127.0.0.1.") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            raise InputError(f"Cannot serve on {host}:{port}: {exc.strerror or exc}; "
                             "pick another port with --port.") from None


@main.command("example")
@click.argument("name", type=click.Choice(["digits", "unit-ball"]))
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--n", "n", type=int, default=2000, show_default=True, help="Items (unit-ball only).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Random seed (unit-ball only).")
@_json_option
@friendly_errors
def example_cmd(name: str, out: Path, n: int, seed: int, as_json: bool) -> None:
    """Write a small example items file from built-in data, with its true labels in a 'label' column.

    digits: 1,797 handwritten digits, 64 pixel features px00..px63 and a 'picture' text column;
    unit-ball: the paper's two-class data, features f0..f4.

    Example: surelabel example digits items.csv
    """
    from .examples import write_example

    frame = write_example(name, out, n=n, seed=seed)
    if as_json:
        emit_json({"out": str(out), "n_items": int(len(frame)), "columns": list(map(str, frame.columns))})
        return
    click.echo(f"Wrote {len(frame)} {name} items to {out} (columns: {', '.join(frame.columns[:4])}, …, label).")
