"""Bad inputs, table-driven: every one ends in one clear line, no traceback, and an unchanged store.

Each case runs a CLI command (through click's CliRunner) or a Python API call against a small
project (or a damaged copy of it) and asserts: exit code 1 (or the library's exception), exactly
one line ``Error: …`` naming the problem, no traceback, and the same database tables and folder
listing before and after. A hypothesis property test then throws arbitrary answers files (CSV,
JSON lines, Label Studio JSON) at the importer: it records valid answers only and refuses
everything else with one line, leaving the store as it was.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from _projects import small_items
from surelabel.cli import main
from surelabel.exceptions import InputError, SurelabelError
from surelabel.exchange import csv_cell, csv_uncell
from surelabel.limits import MAX_NAME, fit_budget
from surelabel.project import Answer, Project

N_ITEMS = 200
#: Ids that used to be rewritten: spaces at either end, leading zeros, formula starters, "NA".
ODD_IDS = {0: " sp ", 1: "=cmd|' /C calc'!A0", 2: "-5", 3: "'=x", 4: "NA", 5: "@at", 6: "+1+1", 7: "\tTab"}
SETTINGS = ["--classes", "no,yes", "--budget", 100, "--validation-size", 60, "--seed-size", 10,
            "--batch-size", 10, "--epsilon", 0.15]


def item_ids() -> list[str]:
    ids = [f"{i:04d}" for i in range(N_ITEMS)]
    for i, v in ODD_IDS.items():
        ids[i] = v
    return ids


def invoke(*args: Any) -> Any:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)


# ---------------------------------------------------------------- a dump of the store and the folder


def dump(folder: Path) -> dict[str, Any]:
    """Every table's rows (read-only) and every file's bytes (hashed) under ``folder``'s parent."""
    out: dict[str, Any] = {}
    parent = folder.parent
    for p in sorted(parent.rglob("*")):
        rel = str(p.relative_to(parent))
        if p.name.endswith(("-wal", "-shm", ".steplock", ".lock")) or rel.startswith("scratch"):
            continue
        if p.is_dir():
            out[rel] = "dir"
        elif p.name == "project.db" and p.stat().st_size:
            out[rel] = _tables(p)
        else:
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _tables(db: Path) -> Any:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {n: sorted(map(repr, conn.execute(f'SELECT * FROM "{n}"'))) for n in names}
    except sqlite3.DatabaseError as exc:  # a damaged file: its bytes stand for it
        return f"unreadable: {exc}; {hashlib.sha256(db.read_bytes()).hexdigest()}"
    finally:
        conn.close()


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A project with odd ids (round 0 waiting) and the files the cases use; never changed by a case."""
    root = tmp_path_factory.mktemp("bad")
    frame = small_items(N_ITEMS)
    frame["id"] = item_ids()
    items = root / "items.csv"
    frame.to_csv(items, index=False)
    result = invoke("init", root / "proj", "--items", items, "--id", "id", "--feature-prefix", "f", *SETTINGS)
    assert result.exit_code == 0, result.output
    with Project.open(root / "proj") as p:
        pending = [x.item_id for x in p.pending()]
    _write_inputs(root, frame, pending)
    return root


def _write_inputs(root: Path, frame: Any, pending: list[str]) -> None:
    files = root / "files"
    files.mkdir()
    truth = dict(zip(frame["id"], frame["label"]))
    first = pending[0]

    def answers_csv(name: str, rows: list[dict[str, Any]]) -> None:
        keys = list(dict.fromkeys(k for r in rows for k in r)) or ["id", "label"]
        with open(files / name, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=keys)
            w.writeheader()
            w.writerows(rows)

    answers_csv("stripped_id.csv", [{"id": "sp", "label": truth[" sp "]}])
    answers_csv("unpadded_id.csv", [{"id": "9", "label": "no"}])  # the item is "0009"
    answers_csv("long_annotator.csv", [{"id": first, "label": truth[first], "annotator": "a" * 5000}])
    answers_csv("long_label.csv", [{"id": first, "label": "l" * 2000}])
    answers_csv("unknown_class.csv", [{"id": first, "label": "maybe"}])
    answers_csv("no_label_column.csv", [{"id": first, "answer": "no"}])
    answers_csv("twice.csv", [{"id": first, "label": "no"}, {"id": first, "label": "yes"}])
    answers_csv("seconds_text.csv", [{"id": first, "label": "no", "seconds": "abc"}])
    answers_csv("seconds_negative.csv", [{"id": first, "label": "no", "seconds": "-1"}])
    answers_csv("seconds_huge.csv", [{"id": first, "label": "no", "seconds": "9" * 400}])
    answers_csv("not_pending.csv", [{"id": next(i for i in item_ids() if i not in pending), "label": "no"}])
    answers_csv("all_or_nothing.csv", [{"id": first, "label": truth[first]}, {"id": "nope", "label": "no"}])
    (files / "empty.csv").write_text("")
    (files / "header_only.csv").write_text("id,label\n")
    (files / "latin1.csv").write_bytes("id,label\n0010,n\xe9\n".encode("latin-1"))
    (files / "answers.txt").write_text("id,label\n0010,no\n")
    (files / "bad.jsonl").write_text('{"id": "0010", "label": "no"}\n{"id": \n')
    (files / "list.jsonl").write_text('["0010", "no"]\n')
    (files / "two_labels.jsonl").write_text(json.dumps({"id": first, "label": ["no", "yes"]}) + "\n")
    (files / "object_id.jsonl").write_text(json.dumps({"id": {"x": 1}, "label": "no"}) + "\n")
    (files / "string.json").write_text('"hello"')
    (files / "data_not_object.json").write_text(json.dumps([{"data": "0010", "annotations": []}]))
    (files / "two_choices.json").write_text(json.dumps([{"data": {"item_id": first}, "annotations": [
        {"result": [{"value": {"choices": ["no", "yes"]}}]}]}]))
    (files / "deep.json").write_text("[" * 5000 + "]" * 5000)
    short = frame.head(5).copy()
    short.loc[2, "id"] = ""
    short.to_csv(files / "empty_id.csv", index=False)
    dup = frame.head(5).copy()
    dup["id"] = ["0001", "0002", "0001", "0003", "0004"]
    dup.to_csv(files / "dup_id.csv", index=False)
    long = frame.head(5).copy()
    long.loc[1, "id"] = "i" * 2000
    long.to_csv(files / "long_id.csv", index=False)
    frame.drop(columns=["id"]).to_csv(files / "no_id.csv", index=False)


@pytest.fixture
def case_dir(base, tmp_path):
    """A fresh copy of the base project (cases may damage it) beside a scratch folder."""
    root = tmp_path / "case"
    root.mkdir()
    shutil.copytree(base / "proj", root / "proj")
    return root


# ---------------------------------------------------------------- damage


def _sql(statement: str) -> Callable[[Path], None]:
    def damage(proj: Path) -> None:
        conn = sqlite3.connect(proj / "project.db")
        conn.execute(statement)
        conn.commit()
        conn.close()

    return damage


def _fewer_rows(proj: Path) -> None:
    import pandas as pd

    pd.read_parquet(proj / "items.parquet").head(150).to_parquet(proj / "items.parquet")


def _truncate_db(proj: Path) -> None:
    (proj / "project.db").write_bytes(b"")


def _garbage_db(proj: Path) -> None:
    (proj / "project.db").write_bytes(b"this is not a database" * 100)


def _answer_one(proj: Path) -> None:
    with Project.open(proj) as p:
        first = p.pending()[0]
        p.record_answers([Answer(first.item_id, "no")])


DAMAGE = {
    "fewer_rows": _fewer_rows,
    "schema_back": _sql("UPDATE meta SET value = '1' WHERE key = 'schema_version'"),
    "schema_text": _sql("UPDATE meta SET value = 'three' WHERE key = 'schema_version'"),
    "config_empty": _sql("UPDATE meta SET value = '' WHERE key = 'config'"),
    "config_no_classes": _sql("UPDATE meta SET value = '{\"epsilon\": 0.1}' WHERE key = 'config'"),
    "truncated": _truncate_db,
    "garbage": _garbage_db,
    "no_items": lambda proj: (proj / "items.parquet").unlink(),
    "bad_marker": lambda proj: (proj / "surelabel-project.json").write_text("{not json"),
}


def _bad_label(proj: Path) -> None:
    _answer_one(proj)
    _sql("UPDATE label_event SET label = 'maybe'")(proj)


DAMAGE["label_not_a_class"] = _bad_label

# ---------------------------------------------------------------- the table

P, F, T = "{proj}", "{files}", "{tmp}"
INIT = ["init", f"{T}/new", "--id", "id", "--feature-prefix", "f"]

#: (case id, damage or None, CLI arguments, words the one line must hold)
CLI_CASES: list[tuple[str, str | None, list[Any], list[str]]] = [
    # ids are compared exactly (issue 11, item 4)
    ("import-stripped-id", None, ["import", P, f"{F}/stripped_id.csv"], ["unknown item id 'sp'"]),
    ("import-unpadded-id", None, ["import", P, f"{F}/unpadded_id.csv"], ["unknown item id '9'"]),
    # field lengths as on the web page (item 10)
    ("import-long-annotator", None, ["import", P, f"{F}/long_annotator.csv"],
     ["annotator name", f"at most {MAX_NAME}"]),
    ("import-long-label", None, ["import", P, f"{F}/long_label.csv"], ["2000 characters"]),
    ("import-annotator-option", None, ["import", P, f"{F}/unknown_class.csv", "--annotator", "b" * 200],
     ["annotator", f"at most {MAX_NAME}"]),
    # answers files
    ("import-unknown-class", None, ["import", P, f"{F}/unknown_class.csv"], ["unknown class 'maybe'", "row 2"]),
    ("import-no-label-column", None, ["import", P, f"{F}/no_label_column.csv"], ["'label' column"]),
    ("import-twice", None, ["import", P, f"{F}/twice.csv"], ["answered twice"]),
    ("import-seconds-text", None, ["import", P, f"{F}/seconds_text.csv"], ["'abc' is not a number"]),
    ("import-seconds-negative", None, ["import", P, f"{F}/seconds_negative.csv"], [">= 0"]),
    ("import-seconds-huge", None, ["import", P, f"{F}/seconds_huge.csv"], ["seconds"]),
    ("import-not-pending", None, ["import", P, f"{F}/not_pending.csv"], ["not in any pending batch"]),
    ("import-all-or-nothing", None, ["import", P, f"{F}/all_or_nothing.csv"], ["'nope'"]),
    ("import-empty", None, ["import", P, f"{F}/empty.csv"], ["empty"]),
    ("import-header-only", None, ["import", P, f"{F}/header_only.csv"], ["no rows"]),
    ("import-not-utf8", None, ["import", P, f"{F}/latin1.csv"], ["not UTF-8"]),
    ("import-txt", None, ["import", P, f"{F}/answers.txt"], [".csv, .jsonl"]),
    ("import-missing-file", None, ["import", P, f"{F}/nowhere.csv"], ["not found"]),
    ("import-bad-jsonl", None, ["import", P, f"{F}/bad.jsonl"], ["line 2", "malformed JSON"]),
    ("import-jsonl-list", None, ["import", P, f"{F}/list.jsonl"], ["line 1", "JSON object"]),
    ("import-jsonl-two-labels", None, ["import", P, f"{F}/two_labels.jsonl"], ["one label, got 2"]),
    ("import-jsonl-object-id", None, ["import", P, f"{F}/object_id.jsonl"], ["item id must be text"]),
    ("import-json-string", None, ["import", P, f"{F}/string.json"], ["Label Studio export"]),
    ("import-ls-data", None, ["import", P, f"{F}/data_not_object.json"], ["task 1", "'data'"]),
    ("import-ls-two-choices", None, ["import", P, f"{F}/two_choices.json"], ["2 choices"]),
    ("import-deep-json", None, ["import", P, f"{F}/deep.json"], ["deep.json"]),
    # init (item 5, 7, 12, 13)
    ("init-budget-zero", None, [*INIT, "--items", f"{F}/../items.csv", "--classes", "a,b", "--budget", 0], ["budget"]),
    ("init-seed-negative", None, [*INIT, "--items", f"{F}/../items.csv", "--classes", "a,b", "--budget", 50,
                                  "--seed", -1], ["--seed"]),
    ("init-one-class", None, [*INIT, "--items", f"{F}/../items.csv", "--classes", "a", "--budget", 50],
     ["at least two"]),
    ("init-same-class", None, [*INIT, "--items", f"{F}/../items.csv", "--classes", "a,a", "--budget", 50], ["unique"]),
    ("init-bad-db-url", None, [*INIT, "--items", f"{F}/../items.csv", "--classes", "a,b", "--budget", 50,
                               "--db", "foo://x"], ["Unsupported database 'foo'"]),
    ("init-db-unreachable", None, [*INIT, "--items", f"{F}/../items.csv", "--classes", "a,b", "--budget", 50,
                                   "--db", "postgresql://nobody@127.0.0.1:1/none"], ["cannot be used"]),
    ("init-db-not-a-url", None, [*INIT, "--items", f"{F}/../items.csv", "--classes", "a,b", "--budget", 50,
                                 "--db", "::"], ["not a database URL"]),
    ("init-over-project", None, ["init", P, "--items", f"{F}/../items.csv", "--id", "id", "--feature-prefix", "f",
                                 "--classes", "a,b", "--budget", 50], ["already exists"]),
    ("init-empty-id", None, [*INIT, "--items", f"{F}/empty_id.csv", "--classes", "a,b", "--budget", 3],
     ["row 3", "empty"]),
    ("init-duplicate-id", None, [*INIT, "--items", f"{F}/dup_id.csv", "--classes", "a,b", "--budget", 3],
     ["'0001' appears more than once"]),
    ("init-long-id", None, [*INIT, "--items", f"{F}/long_id.csv", "--classes", "a,b", "--budget", 3],
     ["row 2", "2000 characters"]),
    ("init-no-id-column", None, [*INIT, "--items", f"{F}/no_id.csv", "--classes", "a,b", "--budget", 3],
     ["'id' not found"]),
    # reading commands never create or alter files (item 8); one --out rule (item 13)
    ("status-new-db", None, ["status", P, "--db", f"sqlite:///{T}/NEW.db"], ["does not exist"]),
    ("status-memory-db", None, ["status", P, "--db", "sqlite://"], ["not a database file"]),
    ("next-out-missing-folder", None, ["next", P, "--out", f"{T}/nowhere/b.csv"], ["does not exist"]),
    ("export-out-missing-folder", None, ["export", P, "--out", f"{T}/nowhere/l.csv"], ["does not exist"]),
    ("next-label-config-missing-folder", None, ["next", P, "--out", f"{T}/b.csv", "--label-config",
                                                f"{T}/nowhere/c.xml"], ["does not exist"]),
    ("next-out-txt", None, ["next", P, "--out", f"{T}/b.txt"], ["b.txt"]),
    ("export-out-txt", None, ["export", P, "--out", f"{T}/l.txt"], ["l.txt"]),
    ("export-out-folder", None, ["export", P, "--out", f"{T}"], ["Cannot write"]),
    ("step-unanswered", None, ["step", P], ["70 unanswered", "--partial"]),
    ("run-seed-negative", None, ["run", f"{F}/../items.csv", "--feature-prefix", "f", "--label-column", "label",
                                 "--budget", 50, "--seed", -1], ["--seed"]),
    ("demo-seed-negative", None, ["demo", "--seed", -5], ["--seed"]),
    ("example-seed-negative", None, ["example", "unit-ball", f"{T}/x.csv", "--seed", -1], ["--seed"]),
    ("spot-check-seed-negative", None, ["spot-check", P, "--n", 3, "--seed", -2], ["--seed"]),
    # a damaged store: one line naming the damage (item 9)
    ("status-fewer-rows", "fewer_rows", ["status", P], ["items.parquet", "150 rows", "200 items"]),
    ("next-fewer-rows", "fewer_rows", ["next", P], ["150 rows"]),
    ("export-fewer-rows", "fewer_rows", ["export", P, "--out", f"{T}/l.csv"], ["150 rows"]),
    ("status-schema-back", "schema_back", ["status", P], ["schema_version says 1"]),
    ("step-schema-back", "schema_back", ["step", P], ["schema_version says 1"]),
    ("status-schema-text", "schema_text", ["status", P], ["malformed schema version"]),
    ("status-config-empty", "config_empty", ["status", P], ["configuration", "damaged"]),
    ("import-config-empty", "config_empty", ["import", P, f"{F}/unknown_class.csv"], ["configuration"]),
    ("status-config-no-classes", "config_no_classes", ["status", P], ["lacks classes"]),
    ("status-label-not-a-class", "label_not_a_class", ["status", P], ["'maybe'", "not one of the project's classes"]),
    ("export-label-not-a-class", "label_not_a_class", ["export", P, "--out", f"{T}/l.csv"], ["'maybe'"]),
    ("status-truncated-db", "truncated", ["status", P], ["empty (0 bytes)"]),
    ("next-truncated-db", "truncated", ["next", P], ["empty (0 bytes)"]),
    ("status-garbage-db", "garbage", ["status", P], ["cannot be used"]),
    ("status-no-items", "no_items", ["status", P], ["items.parquet is missing"]),
    ("status-bad-marker", "bad_marker", ["status", P], ["damaged"]),
]


def _fill(args: list[Any], root: Path, base: Path) -> list[str]:
    subs = {P: str(root / "proj"), F: str(base / "files"), T: str(root / "scratch")}
    out = []
    for a in args:
        a = str(a)
        for k, v in subs.items():
            a = a.replace(k, v)
        out.append(a)
    return out


def assert_one_line(text: str, needles: list[str]) -> None:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text[:2000]
    assert lines[0].startswith("Error: "), lines[0][:500]
    assert "Traceback" not in text
    assert len(lines[0]) < 600, f"an error line of {len(lines[0])} characters"
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize("case_id, damage, args, needles", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_a_bad_cli_input_gives_one_line_and_changes_nothing(base, tmp_path, case_id, damage, args, needles):
    root = tmp_path / "case"
    shutil.copytree(base / "proj", root / "proj")
    (root / "scratch").mkdir()
    if damage:
        DAMAGE[damage](root / "proj")
    before = dump(root / "proj")
    result = invoke(*_fill(args, root, base))
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert_one_line(result.output, needles)
    assert dump(root / "proj") == before
    assert sorted(p.name for p in (root / "scratch").iterdir()) == []  # no half-made folder, no stray file


# ---------------------------------------------------------------- the Python API (item 12)


def _create(root: Path, **kw: Any) -> Any:
    items = small_items(50)
    args = dict(id_column="id", feature_prefix="f", classes=["no", "yes"], budget=30, validation_size=10)
    args.update(kw)
    return Project.create(root / "scratch" / "new", items, **args)


def _first(p: Project) -> str:
    return p.pending()[0].item_id


API_CASES: list[tuple[str, Callable[[Project, Path], Any], type[Exception], list[str]]] = [
    ("create-classes-string", lambda p, r: _create(r, classes="neg,pos"), InputError, ["list of class names"]),
    ("create-classes-number", lambda p, r: _create(r, classes=5), InputError, ["list of class names"]),
    ("create-class-list", lambda p, r: _create(r, classes=[["a"], "b"]), InputError, ["Each class"]),
    ("create-seed-negative", lambda p, r: _create(r, seed=-1), InputError, ["seed", ">= 0"]),
    ("create-seed-float", lambda p, r: _create(r, seed=1.5), InputError, ["seed"]),
    ("create-budget-text", lambda p, r: _create(r, budget="30"), InputError, ["budget"]),
    ("create-budget-zero", lambda p, r: _create(r, budget=0), InputError, ["budget"]),
    ("create-items-number", lambda p, r: Project.create(r / "scratch" / "n", 123, id_column="id",
                                                        feature_prefix="f", classes=["a", "b"], budget=5),
     InputError, ["items must be"]),
    ("answer-label-list", lambda p, r: p.record_answers([Answer(_first(p), ["no"])]), InputError,
     ["label must be a class name", "list"]),
    ("answer-seconds-text", lambda p, r: p.record_answers([Answer(_first(p), "no", seconds="5")]), InputError,
     ["labeling time", "str"]),
    ("answer-seconds-huge", lambda p, r: p.record_answers([Answer(_first(p), "no", seconds=10**400)]), InputError,
     ["labeling time"]),
    ("answer-id-list", lambda p, r: p.record_answers([Answer(["x"], "no")]), InputError, ["item id must be text"]),
    ("answer-long-annotator", lambda p, r: p.record_answers([Answer(_first(p), "no")], annotator="a" * 100),
     InputError, [f"at most {MAX_NAME}"]),
    ("answers-not-a-list", lambda p, r: p.record_answers("0010,no"), InputError, ["list of Answer"]),
    ("answers-tuples", lambda p, r: p.record_answers([("0010", "no")]), InputError, ["Answer(item_id, label)"]),
    ("answer-stripped-id", lambda p, r: p.record_answers([Answer("sp", "yes")]), InputError, ["unknown item id"]),
    ("web-answer-label-list", lambda p, r: p.answer("ana", _first(p), ["no"]), InputError, ["label"]),
    ("web-answer-seconds-text", lambda p, r: p.answer("ana", _first(p), "no", seconds="5"), InputError,
     ["labeling time"]),
    ("open-missing", lambda p, r: Project.open(r / "scratch" / "nowhere"), SurelabelError, ["does not exist"]),
    ("open-new-db", lambda p, r: Project.open(p.path, db=f"sqlite:///{r}/scratch/NEW.db"), SurelabelError,
     ["does not exist"]),
]


@pytest.mark.parametrize("case_id, call, error, needles", API_CASES, ids=[c[0] for c in API_CASES])
def test_python_api_misuse_raises_input_error_with_a_sentence(case_dir, case_id, call, error, needles):
    (case_dir / "scratch").mkdir()
    before = dump(case_dir / "proj")
    with Project.open(case_dir / "proj") as project:
        with pytest.raises(error) as info:
            call(project, case_dir)
    message = str(info.value)
    assert "\n" not in message and message.endswith("."), message
    for needle in needles:
        assert needle in message, message
    assert dump(case_dir / "proj") == before
    assert list((case_dir / "scratch").iterdir()) == []


# ---------------------------------------------------------------- what the cases promise, shown working


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [{k: csv_uncell(v) for k, v in r.items()} for r in csv.DictReader(fh)]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
def test_ids_round_trip_byte_for_byte_through_next_import_and_export(case_dir, fmt):
    proj, truth = case_dir / "proj", dict(zip(item_ids(), small_items(N_ITEMS)["label"]))
    out = case_dir / f"batch.{fmt}"
    assert invoke("next", proj, "--out", out).exit_code == 0
    if fmt == "csv":
        rows = _rows(out)
        for r in rows:
            r["label"] = truth[r["id"]]
        with open(case_dir / "answers.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows({k: csv_cell(v) for k, v in r.items()} for r in rows)
        answers = case_dir / "answers.csv"
        handed = [r["id"] for r in rows]
    elif fmt == "jsonl":
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        answers = case_dir / "answers.jsonl"
        answers.write_text("".join(json.dumps({**r, "label": truth[r["id"]]}) + "\n" for r in rows))
        handed = [r["id"] for r in rows]
    else:
        tasks = json.loads(out.read_text(encoding="utf-8"))
        for t in tasks:
            t["annotations"] = [{"result": [{"value": {"choices": [truth[t["data"]["item_id"]]]}}]}]
        answers = case_dir / "answers.json"
        answers.write_text(json.dumps(tasks))
        handed = [t["data"]["item_id"] for t in tasks]
    assert len(set(handed) & set(ODD_IDS.values())) >= 3  # odd ids are among the items handed out
    result = invoke("import", proj, answers, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["recorded"] == 70
    invoke("export", proj, "--out", case_dir / "labels.csv")
    invoke("export", proj, "--out", case_dir / "labels.jsonl")
    invoke("export", proj, "--format", "labelstudio", "--out", case_dir / "labels.json")
    assert [r["id"] for r in _rows(case_dir / "labels.csv")] == item_ids()
    jl = [json.loads(line) for line in (case_dir / "labels.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in jl] == item_ids()
    ls = json.loads((case_dir / "labels.json").read_text(encoding="utf-8"))
    assert [t["data"]["item_id"] for t in ls] == item_ids()
    labelled = {r["id"]: r["label"] for r in _rows(case_dir / "labels.csv") if r["source"] == "validation"}
    assert all(labelled[i] == truth[i] for i in handed if i in labelled) and len(labelled) == 60


def test_csv_for_people_starts_no_cell_with_a_formula_and_reads_back_exactly(case_dir):
    proj = case_dir / "proj"
    invoke("next", proj, "--out", case_dir / "b.csv")
    invoke("export", proj, "--out", case_dir / "l.csv")
    for name in ("b.csv", "l.csv"):
        with open(case_dir / name, newline="", encoding="utf-8") as fh:
            cells = [c for row in csv.reader(fh) for c in row]
        risky = [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")
                 or (c[:1] == "-" and not c.lstrip("-").replace(".", "", 1).replace("e-", "", 1).isdigit())]
        assert risky == [], risky[:5]
    assert "'=cmd|' /C calc'!A0" in (case_dir / "b.csv").read_text()
    assert [r["id"] for r in _rows(case_dir / "l.csv")] == item_ids()
    for v in ["=x", "'=x", "''=x", "-1", "-x", "+1", "@", "a=b", "", "'", "\tx", "-1e-5", "--1"]:
        assert csv_uncell(csv_cell(v)) == v


def test_a_budget_beyond_the_items_is_capped_with_a_note(base, tmp_path):
    result = invoke("init", tmp_path / "p", "--items", base / "items.csv", "--id", "id", "--feature-prefix", "f",
                    "--classes", "no,yes", "--budget", 10**15, "--validation-size", 60, "--seed-size", 10,
                    "--batch-size", 1, "--json")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"Note: --budget {10**15} is more labels than the {N_ITEMS} items; capped at {N_ITEMS}."
    assert json.loads(lines[1])["budget"] == N_ITEMS
    assert fit_budget(10**15, 7) == 7 and fit_budget(5, 7) == 5


def test_check_says_ok_for_a_sound_project_and_names_each_problem(case_dir):
    proj = case_dir / "proj"
    before = dump(proj)
    ok = invoke("check", proj)
    assert (ok.exit_code, ok.output) == (0, "ok\n")
    assert json.loads(invoke("check", proj, "--json").output) == {"project": str(proj), "ok": True, "problems": []}
    _fewer_rows(proj)
    _sql("UPDATE meta SET value = '2' WHERE key = 'schema_version'")(proj)
    bad = invoke("check", proj, "--json")
    assert bad.exit_code == 1
    problems = json.loads(bad.output)["problems"]
    assert any("schema_version is 2" in p for p in problems)
    text = invoke("check", proj)
    assert text.exit_code == 1 and "Traceback" not in text.output
    assert text.output.splitlines()[-1].startswith("Error: ") and "Problem: " in text.output
    _sql("UPDATE meta SET value = '3' WHERE key = 'schema_version'")(proj)
    assert any("150 rows" in p for p in json.loads(invoke("check", proj, "--json").output)["problems"])
    assert dump(proj) != before  # (the damage above) ...
    damaged = dump(proj)
    invoke("check", proj)
    assert dump(proj) == damaged  # ... and check itself changed nothing


def test_the_step_lock_is_a_portable_file_lock(case_dir, monkeypatch):
    from filelock import FileLock

    from surelabel.store import ProjectBusyError

    monkeypatch.setenv("SURELABEL_BUSY_TIMEOUT", "0.2")
    with Project.open(case_dir / "proj") as p:
        with FileLock(str(p.store.lock_path)), pytest.raises(ProjectBusyError, match="busy"):
            p.step(partial=True)


# ---------------------------------------------------------------- property: arbitrary answers files


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30), st.floats(allow_nan=True), _TEXT,
                    st.sampled_from(["no", "yes", " no", "NA", "", "'=x", "-5"] + list(ODD_IDS.values())),
                    st.sampled_from(item_ids()))
_VALUE = st.recursive(_SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(_TEXT, inner, max_size=3)), max_leaves=6)
_KEYS = st.sampled_from(["id", "item_id", "label", "annotator", "seconds", "lead_time", "data", "annotations"])
_RECORD = st.dictionaries(_KEYS, _VALUE, max_size=5)


def _csv_text(rows: list[dict[str, Any]]) -> str:
    import io

    keys = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    w.writerows({k: v if isinstance(v, str) else json.dumps(v) for k, v in r.items()} for r in rows)
    return buf.getvalue()


_LIKELY = st.lists(st.fixed_dictionaries({"id": st.sampled_from(item_ids()), "label": st.sampled_from(["no", "yes"])},
                                         optional={"annotator": _SCALAR, "seconds": _SCALAR}), min_size=1, max_size=2)

_FILES = st.one_of(
    st.tuples(st.just("csv"), _LIKELY.map(_csv_text)),
    st.tuples(st.just("jsonl"), _LIKELY.map(lambda rs: "".join(json.dumps(r) + "\n" for r in rs))),
    st.tuples(st.just("csv"), st.lists(_RECORD, max_size=4).map(_csv_text)),
    st.tuples(st.just("csv"), _TEXT),
    st.tuples(st.just("jsonl"), st.lists(_VALUE, max_size=4).map(lambda rs: "".join(json.dumps(r) + "\n"
                                                                                    for r in rs))),
    st.tuples(st.just("jsonl"), _TEXT),
    st.tuples(st.just("json"), st.lists(st.fixed_dictionaries({}, optional={
        "data": st.one_of(_VALUE, st.fixed_dictionaries({"item_id": _SCALAR})),
        "annotations": st.one_of(_VALUE, st.lists(st.fixed_dictionaries({}, optional={
            "result": st.one_of(_VALUE, st.lists(st.fixed_dictionaries({"value": st.one_of(
                _VALUE, st.fixed_dictionaries({"choices": st.lists(_SCALAR, max_size=2)}))}), max_size=2)),
            "was_cancelled": st.booleans(), "completed_by": _VALUE, "lead_time": _SCALAR}), max_size=2)),
    }), max_size=3).map(json.dumps)),
    st.tuples(st.just("json"), _TEXT),
)


@pytest.fixture(scope="module")
def live(base, tmp_path_factory):
    """One open copy of the project for the property test (answers it records stay recorded)."""
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(base / "proj", root / "proj")
    project = Project.open(root / "proj")
    yield project, root
    project.close()


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(file=_FILES)
def test_no_answers_file_crashes_the_importer_or_changes_the_store_unless_valid(live, file):
    project, root = live
    suffix, text = file
    path = root / f"answers.{suffix}"
    path.write_text(text, encoding="utf-8")
    before = _tables(root / "proj" / "project.db")
    pending = {p.item_id for p in project.pending()}
    try:
        summary = project.import_answers(path)
    except SurelabelError as exc:
        event("refused")
        message = str(exc)
        assert message and "\n" not in message, message
        assert _tables(root / "proj" / "project.db") == before
        return
    event("recorded")
    after = _tables(root / "proj" / "project.db")
    assert {k: v for k, v in after.items() if k != "label_event"} == \
        {k: v for k, v in before.items() if k != "label_event"}
    new = sorted(set(after["label_event"]) - set(before["label_event"]))
    assert len(new) == summary.recorded + summary.corrected
    ids = project.item_ids
    for row in map(eval, new):  # (id, item, label, source, …) as sqlite3 returns it
        assert row[2] in project.classes and (ids[row[1]] in pending or summary.corrected)
