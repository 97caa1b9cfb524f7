"""The project commands as a user drives them: help and JSON everywhere, one-line errors, nothing half-done."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

from _cli import assert_one_line_error, invoke
from _projects import small_items
from surelabel.cli import main
from surelabel.exchange import read_answers
from surelabel.project import Project

COMMANDS = ["init", "next", "import", "step", "status", "export", "serve", "example", "run"]


def fill(batch_csv, items_csv, out):
    truth = pd.read_csv(items_csv, index_col="id")["label"]
    b = pd.read_csv(batch_csv)
    b["label"] = b["id"].map(truth)
    b.to_csv(out, index=False)
    return out


def events(d):
    with Project.open(d) as p, p.store.read() as conn:
        return len(p.store.human_events(conn)) + len(p.store.auto_events(conn)), p.status()["round"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_project_command_has_help_with_json_option(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0 and "Usage" in result.output and "--json" in result.output


def test_the_whole_workflow_by_file_with_json_output(proj, items_csv, tmp_path):
    s = json.loads(invoke("status", proj, "--json").output)
    assert (s["round"], s["pending"], s["stop_reason"]) == (0, 140, None)
    nxt = json.loads(invoke("next", proj, "--out", tmp_path / "batch.csv", "--json").output)
    assert nxt["count"] == 140 and nxt["items"][0]["kind"] == "validation"
    batch = pd.read_csv(tmp_path / "batch.csv")
    assert list(batch.columns[:5]) == ["id", "label", "batch", "kind", "round"] and batch["label"].isna().all()
    answers = fill(tmp_path / "batch.csv", items_csv, tmp_path / "answers.csv")
    imp = json.loads(invoke("import", proj, answers, "--json").output)
    assert imp["recorded"] == 140 and imp["pending"] == 0 and imp["round_complete"]
    step = json.loads(invoke("step", proj, "--json").output)
    assert step["round"] == 0 and step["status"]["round"] == 1
    s = json.loads(invoke("status", proj, "--json").output)
    assert s["human_labels"] == {"validation": 120, "training": 20, "total": 140} and s["budget_left"] == 100
    for c in s["per_class"]:
        assert {"class", "threshold", "estimate", "estimate_interval", "certified_bound"} <= set(c)
        assert c["certified_bound"] is None  # overall promise: no class shows the pooled bound as its own
    run = json.loads(invoke("run", proj, "--simulate-from", "label", "--json").output)
    assert run["stop_reason"] in ("budget_spent", "pool_exhausted", "validation_exhausted")
    for fmt in ("parquet", "csv", "jsonl"):
        out = tmp_path / f"labels.{fmt}"
        exp = json.loads(invoke("export", proj, "--out", out, "--json").output)
        frame = {"parquet": pd.read_parquet, "csv": pd.read_csv,
                 "jsonl": lambda p: pd.read_json(p, lines=True)}[fmt](out)
        assert list(frame.columns[:5]) == ["id", "label", "source", "round", "score"]
        assert len(frame) == 600 and frame["id"].is_unique and exp["n_auto"] == (frame["source"] == "auto").sum()
    text = invoke("status", proj).output
    assert "stopped" in text and "coverage" in text


def test_run_on_a_project_folder_and_on_its_items_file_agree(proj, items_csv, tmp_path):
    invoke("run", proj, "--simulate-from", "label", "--out", tmp_path / "a.csv")
    invoke("run", items_csv, "--feature-prefix", "f", "--label-column", "label", "--id-column", "id", "--budget", 240,
           "--validation-size", 120, "--seed-size", 20, "--batch-size", 20, "--epsilon", 0.15, "--seed", 0,
           "--out", tmp_path / "b.csv")
    a, b = pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv")
    pd.testing.assert_frame_equal(a[["id", "label", "source", "round", "score"]], b)
    clash = invoke("run", proj, "--simulate-from", "label", "--budget", 5)
    assert_one_line_error(clash, "is a project", "--budget")


def test_the_seed_is_stored_so_the_same_inputs_give_the_same_labels(items_csv, tmp_path):
    outs = []
    for name in ("one", "two"):
        invoke("init", tmp_path / name, "--items", items_csv, "--id", "id", "--feature-prefix", "f",
               "--classes", "no,yes", "--budget", 150, "--validation-size", 90, "--epsilon", 0.1, "--seed", 7)
        invoke("run", tmp_path / name, "--simulate-from", "label")
        invoke("export", tmp_path / name, "--out", tmp_path / f"{name}.csv")
        outs.append(pd.read_csv(tmp_path / f"{name}.csv")[["id", "label", "source", "round", "score"]])
    pd.testing.assert_frame_equal(*outs)
    assert json.loads(invoke("status", tmp_path / "one", "--json").output)["seed"] == 7


def answers_file(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def pending_rows(proj, n=3):
    with Project.open(proj) as p:
        pend = p.pending()[:n]
        truth = dict(zip(p.frame["id"], p.frame["label"]))
    return [(x.item_id, truth[x.item_id]) for x in pend]


@pytest.mark.parametrize("case", ["unknown id", "unknown class", "duplicate", "empty", "header only",
                                  "wrong columns", "malformed json", "malformed jsonl", "not pending",
                                  "bad seconds", "wrong suffix", "missing file"])
def test_bad_answers_give_one_line_naming_file_and_row_and_write_nothing(case, proj, tmp_path):
    *rows, spare = pending_rows(proj, 4)
    csv = "id,label\n" + "".join(f"{i},{lab}\n" for i, lab in rows)
    with Project.open(proj) as p:
        pending_ids = {x.item_id for x in p.pending()}
        outside = next(i for i in p.item_ids if i not in pending_ids)
    files = {
        "unknown id": ("a.csv", csv + "ghost,yes\n", ["a.csv, row 5", "unknown item id 'ghost'"]),
        "unknown class": ("a.csv", csv + f"{spare[0]},maybe\n", ["row 5", "unknown class"]),
        "duplicate": ("a.csv", csv + f"{rows[0][0]},{rows[0][1]}\n", ["row 5", "answered twice", "row 2"]),
        "empty": ("a.csv", "", ["a.csv is empty"]),
        "header only": ("a.csv", "id,label\n", ["no rows"]),
        "wrong columns": ("a.csv", "item,answer\nx,y\n", ["wrong columns", "'id'", "'label'"]),
        "malformed json": ("a.json", '[{"data": {"item_id": "x"}, ', ["a.json: malformed JSON"]),
        "malformed jsonl": ("a.jsonl", '{"id": "a", "label": "yes"}\n{"id": \n', ["a.jsonl, line 2", "malformed"]),
        "not pending": ("a.csv", csv + f"{outside},yes\n", ["row 5", "not in any pending batch"]),
        "bad seconds": ("a.csv", "id,label,seconds\n" + f"{rows[0][0]},{rows[0][1]},-3\n", ["row 2", "seconds"]),
        "wrong suffix": ("a.txt", csv, ["a.txt", ".csv"]),
        "missing file": (None, None, ["not found"]),
    }
    name, text, needles = files[case]
    path = tmp_path / "missing.csv" if name is None else answers_file(tmp_path, name, text)
    before = events(proj)
    assert_one_line_error(invoke("import", proj, path), *needles)
    assert events(proj) == before


def test_commands_on_a_missing_folder_or_a_folder_that_is_not_a_project(tmp_path):
    (tmp_path / "plain").mkdir()
    for command in (["status"], ["next"], ["step"], ["export", "--out", tmp_path / "x.csv"]):
        assert_one_line_error(invoke(command[0], tmp_path / "nowhere", *command[1:]), "does not exist")
        assert_one_line_error(invoke(command[0], tmp_path / "plain", *command[1:]), "is not a surelabel project")
    assert_one_line_error(invoke("import", tmp_path / "plain", tmp_path / "a.csv"), "not a surelabel project")


def test_init_refuses_bad_settings_with_one_line(items_csv, tmp_path):
    base = ["init", tmp_path / "p", "--items", items_csv, "--id", "id", "--feature-prefix", "f", "--budget", 100]
    assert_one_line_error(invoke(*base, "--classes", "yes"), "at least two")
    assert_one_line_error(invoke(*base, "--classes", "no,yes", "--epsilon", 2), "epsilon")
    assert_one_line_error(invoke(*base[:-2], "--budget", 1000, "--classes", "no,yes", "--validation-size", 700),
                          "validation_size")
    assert_one_line_error(invoke(*base, "--classes", "no,yes", "--text", "nope"), "'nope' not found")
    assert not (tmp_path / "p" / "surelabel-project.json").exists()


def test_step_with_missing_answers_says_how_to_go_on(proj):
    assert_one_line_error(invoke("step", proj), "140 unanswered", "--partial")


def test_next_writes_jsonl_and_labelstudio_with_a_label_config(proj, tmp_path):
    invoke("next", proj, "--out", tmp_path / "b.jsonl")
    rows = [json.loads(line) for line in (tmp_path / "b.jsonl").read_text().splitlines()]
    assert len(rows) == 140 and rows[0]["text"].startswith("<b>item")
    out = json.loads(invoke("next", proj, "--format", "labelstudio", "--out", tmp_path / "b.json",
                            "--label-config", tmp_path / "config.xml", "--json").output)
    tasks = json.loads((tmp_path / "b.json").read_text())
    assert tasks[0]["data"]["item_id"] == rows[0]["id"]
    assert "<Choice value=\"yes\" hotkey=\"2\"/>" in out["label_config"]
    assert (tmp_path / "config.xml").read_text() == out["label_config"]


def test_a_labelstudio_export_round_trips_the_human_labels(proj, tmp_path):
    invoke("run", proj, "--simulate-from", "label")
    invoke("export", proj, "--format", "labelstudio", "--out", tmp_path / "ls.json")
    tasks = json.loads((tmp_path / "ls.json").read_text())
    with Project.open(proj) as p:
        labels = p.labels()
        answers, channel = read_answers(tmp_path / "ls.json", p)
    human = labels[labels["source"].isin(["human", "validation"])]
    assert channel == "labelstudio"
    assert {(a.item_id, a.label) for a in answers} == set(zip(human["id"], human["label"]))
    auto = labels[labels["source"] == "auto"]
    preds = [t for t in tasks if "predictions" in t]
    assert len(preds) == len(auto) and all("annotations" not in t for t in preds)
    assert preds[0]["predictions"][0]["model_version"].startswith("logreg@round")
    assert 0 < preds[0]["predictions"][0]["score"] <= 1
    again = json.loads(invoke("import", proj, tmp_path / "ls.json", "--json").output)
    assert again["recorded"] == 0 and again["unchanged"] == len(human)


def test_a_labelstudio_export_keeps_annotator_and_lead_time(proj, tmp_path):
    (a_id, a_lab), (b_id, b_lab), (c_id, _) = pending_rows(proj)
    other = "no" if b_lab == "yes" else "yes"
    tasks = [
        {"id": 1, "data": {"item_id": a_id}, "annotations": [
            {"completed_by": 7, "lead_time": 3.5, "result": [{"type": "choices", "value": {"choices": [a_lab]}}]}]},
        {"id": 2, "data": {"item_id": b_id}, "annotations": [
            {"completed_by": {"email": "x@y.z"}, "lead_time": 1, "updated_at": "2024-01-01T00:00:00Z",
             "result": [{"type": "choices", "value": {"choices": [other]}}]},
            {"completed_by": {"email": "ana@y.z"}, "lead_time": 2, "updated_at": "2024-01-02T00:00:00Z",
             "result": [{"type": "choices", "value": {"choices": [b_lab]}}]},
            {"was_cancelled": True, "result": []}]},
        {"id": 3, "data": {"item_id": c_id}, "annotations": [],
         "predictions": [{"result": [{"type": "choices", "value": {"choices": ["yes"]}}]}]},
    ]
    path = answers_file(tmp_path, "export.json", json.dumps(tasks))
    assert json.loads(invoke("import", proj, path, "--json").output)["recorded"] == 2
    with Project.open(proj) as p:
        with p.store.read() as conn:
            ev = {e["item"]: e for e in p.store.human_events(conn)}
        a, b = ev[p.index_of(a_id)], ev[p.index_of(b_id)]
    assert (a["annotator"], a["seconds"], a["channel"]) == ("7", 3.5, "labelstudio")
    assert (b["annotator"], b["seconds"], b["label"]) == ("ana@y.z", 2.0, b_lab)


def test_example_writes_items_that_init_accepts(tmp_path):
    out = json.loads(invoke("example", "unit-ball", tmp_path / "ball.parquet", "--n", 300, "--json").output)
    assert out["n_items"] == 300 and "label" in out["columns"]
    result = invoke("init", tmp_path / "p", "--items", tmp_path / "ball.parquet", "--id", "id", "--feature-prefix",
                    "f", "--classes", "neg,pos", "--budget", 100, "--json")
    assert json.loads(result.output)["n_items"] == 300


def test_serve_without_a_project_is_a_one_line_error(tmp_path):
    assert_one_line_error(invoke("serve", tmp_path / "nowhere"), "does not exist")


def test_serve_prints_its_url_as_json_and_binds_to_localhost(proj):
    import os
    import socket
    import subprocess
    import sys
    import urllib.request
    from pathlib import Path

    import surelabel

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    src = str(Path(surelabel.__file__).resolve().parent.parent)
    proc = subprocess.Popen([sys.executable, "-m", "surelabel.cli", "serve", str(proj), "--port", str(port), "--json"],
                            env=dict(os.environ, PYTHONPATH=src), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    try:
        line = proc.stdout.readline()
        assert json.loads(line) == {"url": f"http://127.0.0.1:{port}/", "project": str(proj)}
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5) as r:
                    assert json.loads(r.read())["pending"] == 140
                break
            except OSError:
                import time

                time.sleep(0.1)
        else:
            raise AssertionError("the page did not answer")
    finally:
        proc.terminate()
        proc.wait(30)
        proc.stdout.close()


def test_jsonl_and_labelstudio_json_min_answers_are_read(proj, tmp_path):
    (a_id, a_lab), (b_id, b_lab), (c_id, c_lab) = pending_rows(proj)
    jsonl = answers_file(tmp_path, "a.jsonl", json.dumps({"id": a_id, "label": a_lab, "annotator": "cy",
                                                          "seconds": 4}) + "\n\n")
    assert json.loads(invoke("import", proj, jsonl, "--json").output)["recorded"] == 1
    json_min = answers_file(tmp_path, "min.json", json.dumps([
        {"id": 11, "item_id": b_id, "label": b_lab, "annotator": "dee@x", "lead_time": 2.5},
        {"id": 12, "item_id": c_id, "label": {"choices": [c_lab]}},
    ]))
    assert json.loads(invoke("import", proj, json_min, "--json").output)["recorded"] == 2
    with Project.open(proj) as p:
        labels = p.labels().set_index("id")
    assert labels.loc[a_id, "annotator"] == "cy" and labels.loc[a_id, "seconds"] == 4
    assert labels.loc[b_id, "annotator"] == "dee@x" and labels.loc[b_id, "channel"] == "labelstudio"
    assert labels.loc[c_id, "label"] == c_lab


def test_feature_only_batches_list_the_features(items_csv, tmp_path):
    invoke("init", tmp_path / "p", "--items", items_csv, "--id", "id", "--features", "f0,f1", "--classes", "no,yes",
           "--budget", 60)
    out = invoke("next", tmp_path / "p").output
    assert out.splitlines()[0] == "id,label,batch,kind,round,f0,f1"


def test_whole_number_labels_written_by_a_float_column_are_the_classes(tmp_path):
    items = small_items()
    items["label"] = (items["label"] == "yes").astype(int)
    items.to_csv(tmp_path / "items.csv", index=False)
    d = tmp_path / "num"
    assert invoke("init", d, "--items", tmp_path / "items.csv", "--id", "id", "--feature-prefix", "f",
                  "--classes", "0,1", "--budget", 240, "--validation-size", 120).exit_code == 0
    with Project.open(d) as p:
        ids = [x.item_id for x in p.pending()[:4]]
    truth = items.set_index("id")["label"]
    answers_file(tmp_path, "a.csv", "id,label\n" + "".join(f"{i},{float(truth[i])}\n" for i in ids))
    result = json.loads(invoke("import", d, tmp_path / "a.csv", "--json").output)
    assert result["recorded"] == 4
    with Project.open(d) as p:
        got = p.labels().set_index("id").loc[ids, "label"]
    assert list(got) == [str(truth[i]) for i in ids]


@pytest.mark.parametrize("args, needle", [(["--out", "b.parquet"], "use a .csv, .jsonl or .json"),
                                          (["--format", "jsonl", "--out", "b.csv"], "does not match"),
                                          (["--out", "no-such-folder/b.csv"], "does not exist")])
def test_next_refuses_a_file_name_it_would_not_honour(proj, tmp_path, args, needle):
    args = [tmp_path / a if a.endswith((".csv", ".parquet")) else a for a in args]
    assert_one_line_error(invoke("next", proj, *args), needle)


def test_serve_on_a_port_in_use_says_so_in_one_line(proj):
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        assert_one_line_error(invoke("serve", proj, "--port", port), f"127.0.0.1:{port}", "--port")


def test_next_on_a_stopped_project_says_why_nothing_is_left(proj):
    invoke("run", proj, "--simulate-from", "label")
    result = CliRunner().invoke(main, ["next", str(proj)])
    assert result.exit_code == 0 and "Nothing to label" in result.stderr


def test_a_project_with_prices_reports_the_money_spent(items_csv, tmp_path):
    d = tmp_path / "priced"
    assert invoke("init", d, "--items", items_csv, "--id", "id", "--feature-prefix", "f", "--classes", "no,yes",
                  "--epsilon", 0.15, "--budget", 240, "--validation-size", 120, "--price", 0.25).exit_code == 0
    assert json.loads(invoke("status", d, "--json").output)["cost"]["total"] == 0
    invoke("run", d, "--simulate-from", "label")
    s = json.loads(invoke("status", d, "--json").output)
    assert s["cost"]["total"] == pytest.approx(0.25 * s["human_labels"]["total"])
    assert s["cost"]["validation"] == pytest.approx(0.25 * s["human_labels"]["validation"])
    assert "cost $" in invoke("status", d).output
    prices = answers_file(tmp_path, "prices.csv", "class,price\nno,0.1\nmaybe,0.2\n")
    assert_one_line_error(invoke("init", tmp_path / "p2", "--items", items_csv, "--id", "id", "--feature-prefix",
                                 "f", "--classes", "no,yes", "--budget", 240, "--prices", prices), "'maybe'")
    assert_one_line_error(invoke("init", tmp_path / "p3", "--items", items_csv, "--id", "id", "--feature-prefix",
                                 "f", "--classes", "no,yes", "--budget", 240, "--price", -1), ">= 0")
    assert not (tmp_path / "p2").exists() and not (tmp_path / "p3").exists()


def test_a_full_labelstudio_export_rebuilds_a_fresh_copy_of_the_project(proj, tmp_path):
    fresh = tmp_path / "fresh-copy"
    shutil.copytree(proj, fresh)  # the same items, settings and seed, nothing answered yet
    invoke("run", proj, "--simulate-from", "label")
    invoke("export", proj, "--format", "labelstudio", "--out", tmp_path / "ls.json")
    plain = invoke("import", fresh, tmp_path / "ls.json")  # without --replay only the open batches
    assert plain.exit_code == 0 and "Note: 40 answer(s) for items no batch asked for" in plain.stderr
    assert "--replay" in plain.stderr
    result = json.loads(invoke("import", fresh, tmp_path / "ls.json", "--replay", "--json").output)
    assert result["stop_reason"] is not None and result["replay"]["unused"] == 0
    cols = ["id", "label", "source", "round"]
    with Project.open(proj) as a, Project.open(fresh) as b:
        pd.testing.assert_frame_equal(a.labels()[cols], b.labels()[cols])
