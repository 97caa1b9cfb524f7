"""Label Studio for real: hotkeys as on surelabel's page, annotator names, lenient re-import of full
exports, image URLs Label Studio can open."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from _cli import assert_one_line_error, invoke
from _projects import small_items
from surelabel.exchange import label_config, shortcut_keys


def _hotkeys(xml: str) -> dict[str, str | None]:
    out = {}
    for m in re.finditer(r"<Choice value=\"([^\"]*)\"( hotkey=\"([^\"]*)\")?/>", xml):
        out[m.group(1)] = m.group(3)
    return out


# ------------------------------------------------------------------ 1. hotkeys


@pytest.mark.parametrize("classes", [["no", "yes"], ["0", "1", "7"], ["3", "1"], [f"c{i}" for i in range(10)],
                                     [f"c{i}" for i in range(13)], [f"c{i}" for i in range(40)], ["1", "1x"]])
def test_label_config_hotkeys_are_the_keys_of_surelabels_page(classes):
    keys = shortcut_keys(classes)
    assert _hotkeys(label_config(classes, "text")) == {c: (k or None) for c, k in zip(classes, keys)}


def test_label_config_digit_classes_use_the_digit_and_others_count_from_one():
    assert _hotkeys(label_config(["0", "1"], "image")) == {"0": "0", "1": "1"}
    assert _hotkeys(label_config(["cat", "dog"], "image")) == {"cat": "1", "dog": "2"}
    many = _hotkeys(label_config([f"c{i}" for i in range(12)], "text"))
    assert many["c8"] == "9" and many["c9"] == "0" and many["c10"] == "a" and many["c11"] == "b"
    lots = _hotkeys(label_config([f"c{i}" for i in range(40)], "text"))
    assert "s" not in lots.values() and "u" not in lots.values() and lots["c33"] == "z" and lots["c34"] is None


def test_next_label_config_file_has_the_hotkeys(proj, tmp_path):
    r = invoke("next", proj, "--format", "labelstudio", "--out", tmp_path / "b.json",
               "--label-config", tmp_path / "c.xml")
    assert r.exit_code == 0, r.output
    assert _hotkeys((tmp_path / "c.xml").read_text()) == {"no": "1", "yes": "2"}


# ------------------------------------------------------------------ 2. annotator names


def ls_export(batch_tasks, truth, *, completed_by=1, start_id=1, label_of=None, extra=None):
    """A Label Studio 1.x JSON export of ``batch_tasks`` as Label Studio writes it (ids, timestamps,
    ``created_username``, the surelabel ``meta`` kept), each answered with its true label."""
    out = []
    for n, task in enumerate(batch_tasks):
        item = task["data"]["item_id"]
        label = label_of(item) if label_of else truth[item]
        by = completed_by(n) if callable(completed_by) else completed_by
        ann = {"id": 100 + n, "completed_by": by,
               "result": [{"value": {"choices": [label]}, "id": f"r{n}", "from_name": "label", "to_name": "text",
                           "type": "choices", "origin": "manual"}],
               "was_cancelled": False, "ground_truth": False, "created_at": "2026-12-02T10:00:00.000000Z",
               "updated_at": "2026-12-02T10:00:00.000000Z", "draft_created_at": None, "lead_time": 3.5,
               "prediction": {}, "result_count": 1, "unique_id": f"u-{n}", "import_id": None,
               "last_action": None, "bulk_created": False, "task": start_id + n, "project": 1,
               "updated_by": by if isinstance(by, int) else by.get("id"), "parent_prediction": None,
               "parent_annotation": None, "last_created_by": None}
        if extra:
            ann.update(extra(n))
        out.append({"id": start_id + n, "annotations": [ann], "file_upload": "b.json", "drafts": [],
                    "predictions": [], "data": task["data"], "meta": task.get("meta", {}),
                    "created_at": "2026-12-02T09:00:00.000000Z", "updated_at": "2026-12-02T10:00:00.000000Z",
                    "inner_id": start_id + n, "total_annotations": 1, "cancelled_annotations": 0,
                    "total_predictions": 0, "comment_count": 0, "unresolved_comment_count": 0,
                    "last_comment_updated_at": None, "project": 1, "updated_by": None, "comment_authors": []})
    return out


@pytest.fixture
def truth(items_csv):
    return pd.read_csv(items_csv, dtype={"id": str}).set_index("id")["label"].to_dict()


def _batch(proj, tmp_path, name="b.json"):
    r = invoke("next", proj, "--format", "labelstudio", "--out", tmp_path / name)
    assert r.exit_code == 0, r.output
    return json.loads((tmp_path / name).read_text())


def _annotators(proj):
    from surelabel.project import Project

    with Project.open(proj) as p:
        frame = p.labels()
    return frame[frame.source.isin(["human", "validation"])].set_index("id")["annotator"].to_dict()


def test_import_names_the_annotator_by_email_or_name_else_the_id(proj, tmp_path, truth):
    tasks = _batch(proj, tmp_path)
    people = [{"id": 1, "first_name": "", "last_name": "", "email": "ana@example.org", "avatar": None,
               "initials": "an"},
              {"id": 2, "first_name": "Bo", "last_name": "Li", "email": "", "avatar": None, "initials": "BL"},
              2, 3, {"id": 5, "first_name": "", "last_name": "", "email": ""}]

    def extra(n):  # Label Studio's "First Last email, id" next to a bare id
        return {"created_username": " cy@example.org, 3"} if n % 5 == 3 else {}

    export = ls_export(tasks, truth, completed_by=lambda n: people[n % 5], extra=extra)
    (tmp_path / "export.json").write_text(json.dumps(export))
    r = invoke("import", proj, tmp_path / "export.json")
    assert r.exit_code == 0, r.output
    who = _annotators(proj)
    ids = [t["data"]["item_id"] for t in tasks]
    assert who[ids[0]] == "ana@example.org"
    assert who[ids[1]] == "Bo Li"
    assert who[ids[2]] == "2"  # a bare id and nothing else: the id, as before
    assert who[ids[3]] == "cy@example.org"  # a bare id, named by created_username
    assert who[ids[4]] == "5"


# ------------------------------------------------------------------ 3. re-importing a full export


def _round(proj, tmp_path, truth, n):
    tasks = _batch(proj, tmp_path, f"b{n}.json")
    (tmp_path / f"e{n}.json").write_text(json.dumps(ls_export(tasks, truth)))
    r = invoke("import", proj, tmp_path / f"e{n}.json")
    assert r.exit_code == 0, r.output
    r = invoke("step", proj)
    assert r.exit_code == 0, r.output


@pytest.fixture
def ran(proj, tmp_path, truth):
    """Two rounds run through Label Studio files: auto-labels exist, the third batch waits."""
    for n in range(2):
        _round(proj, tmp_path, truth, n)
    return proj


def _full_export(proj, tmp_path):
    r = invoke("export", proj, "--out", tmp_path / "all.json", "--format", "labelstudio")
    assert r.exit_code == 0, r.output
    return json.loads((tmp_path / "all.json").read_text())


LATER = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()  # after every label surelabel recorded


def _annotate(task, label, by=7):
    """A person's annotation made in Label Studio after the export (the latest one wins)."""
    task.setdefault("annotations", []).append(
        {"id": 900, "completed_by": {"id": by, "email": f"user{by}@example.org", "first_name": "", "last_name": ""},
         "result": [{"value": {"choices": [label]}, "from_name": "label", "to_name": "text", "type": "choices"}],
         "was_cancelled": False, "created_at": LATER, "updated_at": LATER, "lead_time": 2.0})


def test_reimporting_a_full_export_records_the_pending_and_reports_the_rest(ran, tmp_path, truth):
    pending = {t["data"]["item_id"] for t in _batch(ran, tmp_path, "open.json")}
    tasks = _full_export(ran, tmp_path)
    human = [t for t in tasks if t["meta"]["surelabel"]["source"] in ("human", "validation")]
    auto = [t for t in tasks if t["meta"]["surelabel"]["source"] == "auto"]
    assert human and len(auto) >= 2 and pending
    flip = {"yes": "no", "no": "yes"}
    edited = human[0]
    _annotate(edited, flip[edited["annotations"][0]["result"][0]["value"]["choices"][0]])
    corrected, confirmed = auto[0], auto[1]
    _annotate(corrected, flip[corrected["predictions"][0]["result"][0]["value"]["choices"][0]])
    _annotate(confirmed, confirmed["predictions"][0]["result"][0]["value"]["choices"][0])
    for t in tasks:
        if t["data"]["item_id"] in pending:
            _annotate(t, truth[t["data"]["item_id"]])
    (tmp_path / "full.json").write_text(json.dumps(tasks))

    r = invoke("import", ran, tmp_path / "full.json")
    assert r.exit_code == 0, r.output
    assert "1 edit(s) of answers in closed rounds" in r.stderr
    assert "1 annotation(s) agreeing with the auto-label" in r.stderr
    assert len([line for line in r.stderr.splitlines() if line.startswith("Note: ")]) == 2
    assert "1 correction(s) of auto-labels as a review" in r.stdout

    from surelabel.project import Project

    with Project.open(ran) as p:
        labels = p.labels().set_index("id")
        assert not p.pending()
    cid = corrected["data"]["item_id"]
    assert labels.loc[cid, "source"] == "human" and labels.loc[cid, "label"] == corrected["annotations"][-1][
        "result"][0]["value"]["choices"][0] and labels.loc[cid, "annotator"] == "user7@example.org"
    eid = edited["data"]["item_id"]
    assert labels.loc[eid, "label"] == edited["annotations"][0]["result"][0]["value"]["choices"][0]  # unchanged
    assert labels.loc[confirmed["data"]["item_id"], "source"] == "auto"
    assert all(labels.loc[i, "label"] == truth[i] for i in pending)

    again = json.loads(invoke("import", ran, tmp_path / "full.json", "--json").stdout)  # idempotent
    assert again["recorded"] == 0 and again["reviewed"] == 0
    assert again["not_recorded"] == {"closed_edits": 1, "auto_confirmed": 1}
    assert invoke("step", ran).exit_code == 0


def test_an_export_with_only_closed_answers_records_nothing_and_says_so(ran, tmp_path):
    tasks = [t for t in _full_export(ran, tmp_path) if t["meta"]["surelabel"]["source"] == "human"][:3]
    for t in tasks:
        t["annotations"][0]["result"][0]["value"]["choices"] = [
            {"yes": "no", "no": "yes"}[t["annotations"][0]["result"][0]["value"]["choices"][0]]]
    (tmp_path / "old.json").write_text(json.dumps(tasks))
    r = invoke("import", ran, tmp_path / "old.json")
    assert r.exit_code == 0, r.output
    assert r.stderr.strip() == ("Note: 3 edit(s) of answers in closed rounds (not recorded: that round has run; "
                                "queue a review with surelabel review to change them).")
    assert r.stdout.startswith("Recorded 0 answer(s)")


def test_plain_answer_files_stay_strict(ran, tmp_path):
    tasks = _full_export(ran, tmp_path)
    t = next(t for t in tasks if t["meta"]["surelabel"]["source"] == "auto")
    label = {"yes": "no", "no": "yes"}[t["predictions"][0]["result"][0]["value"]["choices"][0]]
    (tmp_path / "a.csv").write_text(f"id,label\n{t['data']['item_id']},{label}\n")
    assert_one_line_error(invoke("import", ran, tmp_path / "a.csv"), "not in any pending batch", "auto-labeled")


def test_a_bad_row_in_an_export_is_still_one_error_and_nothing_written(ran, tmp_path):
    tasks = _full_export(ran, tmp_path)
    t = next(t for t in tasks if t["meta"]["surelabel"]["source"] == "auto")
    _annotate(t, "maybe")
    (tmp_path / "bad.json").write_text(json.dumps(tasks))
    assert_one_line_error(invoke("import", ran, tmp_path / "bad.json"), "unknown class", "maybe")


# ------------------------------------------------------------------ 4. image URLs Label Studio opens


@pytest.fixture
def image_proj(tmp_path):
    data = tmp_path / "data"
    (data / "img sub").mkdir(parents=True)
    items = small_items(60)
    for i in range(60):
        (data / "img sub" / f"{i}.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    items["picture"] = [f"img sub/{i}.png" for i in range(60)]
    items.to_csv(data / "items.csv", index=False)
    proj = tmp_path / "iproj"
    r = invoke("init", proj, "--items", data / "items.csv", "--id", "id", "--feature-prefix", "f",
               "--image", "picture", "--classes", "no,yes", "--budget", 40)
    assert r.exit_code == 0, r.output
    return proj, data


def _images(path):
    return [t["data"]["image"] for t in json.loads(path.read_text())]


def test_local_files_urls_are_relative_to_the_document_root(image_proj, tmp_path):
    proj, data = image_proj
    r = invoke("next", proj, "--out", tmp_path / "b.json", "--image-url", "local-files", "--document-root", tmp_path)
    assert r.exit_code == 0, r.output
    images = _images(tmp_path / "b.json")
    assert images and all(re.fullmatch(r"/data/local-files/\?d=data/img%20sub/\d+\.png", u) for u in images)
    ids = [t["data"]["item_id"] for t in json.loads((tmp_path / "b.json").read_text())]
    assert images[0] == f"/data/local-files/?d=data/img%20sub/{int(ids[0].split('-')[-1])}.png"


def test_surelabel_urls_point_at_serves_image_api(image_proj, tmp_path):
    proj, _ = image_proj
    r = invoke("next", proj, "--format", "labelstudio", "--image-url", "surelabel",
               "--serve-url", "http://localhost:8765/")
    assert r.exit_code == 0, r.output
    tasks = json.loads(r.stdout)
    assert tasks[0]["data"]["image"] == f"http://localhost:8765/api/image?id={tasks[0]['data']['item_id']}"


def test_without_image_url_the_paths_are_written_as_before(image_proj, tmp_path):
    proj, _ = image_proj
    invoke("next", proj, "--out", tmp_path / "b.json")
    assert all(u.endswith(".png") and not u.startswith("/data/") for u in _images(tmp_path / "b.json"))


@pytest.mark.parametrize("args, needles", [
    (["--image-url", "local-files"], ["--document-root"]),
    (["--image-url", "local-files", "--document-root", "{tmp}/nope"], ["not a folder"]),
    (["--image-url", "local-files", "--document-root", "{tmp}/iproj"], ["not under --document-root"]),
    (["--image-url", "surelabel"], ["--serve-url"]),
    (["--image-url", "surelabel", "--serve-url", "localhost:8765"], ["not an http(s) address"]),
    (["--document-root", "{tmp}"], ["--image-url"]),
    (["--image-url", "surelabel", "--serve-url", "http://h:1", "--document-root", "{tmp}"], ["local-files"]),
    (["--image-url", "fancy"], ["fancy"]),
])
def test_image_url_mistakes_are_one_line_errors(image_proj, tmp_path, args, needles):
    proj, _ = image_proj
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    r = invoke("next", proj, "--format", "labelstudio", "--out", tmp_path / "b.json", *args)
    assert_one_line_error(r, *needles)
    assert not (tmp_path / "b.json").exists()


def test_image_url_needs_labelstudio_tasks_and_an_image_project(image_proj, proj, tmp_path):
    img, _ = image_proj
    assert_one_line_error(invoke("next", img, "--out", tmp_path / "b.csv", "--image-url", "surelabel",
                                 "--serve-url", "http://localhost:8765"), "--format labelstudio")
    assert_one_line_error(invoke("next", proj, "--format", "labelstudio", "--image-url", "surelabel",
                                 "--serve-url", "http://localhost:8765"), "no images")


def test_a_mistake_in_an_export_with_corrections_leaves_no_review_batch(ran, tmp_path):
    from surelabel.limits import MAX_NAME
    from surelabel.project import Project

    with Project.open(ran) as p:
        before = len(p.pending())
    tasks = _full_export(ran, tmp_path)
    t = next(t for t in tasks if t["meta"]["surelabel"]["source"] == "auto")
    _annotate(t, {"yes": "no", "no": "yes"}[t["predictions"][0]["result"][0]["value"]["choices"][0]])
    (tmp_path / "fix.json").write_text(json.dumps(tasks))
    assert_one_line_error(invoke("import", ran, tmp_path / "fix.json", "--annotator", "x" * (MAX_NAME + 1)),
                          "annotator")
    with Project.open(ran) as p:
        assert len(p.pending()) == before


def test_export_writes_the_same_image_urls(image_proj, tmp_path):
    proj, _ = image_proj
    r = invoke("export", proj, "--out", tmp_path / "all.json", "--image-url", "surelabel",
               "--serve-url", "http://127.0.0.1:9000")
    assert r.exit_code == 0, r.output
    tasks = json.loads((tmp_path / "all.json").read_text())
    assert len(tasks) == 60 and all(t["data"]["image"] == f"http://127.0.0.1:9000/api/image?id={t['data']['item_id']}"
                                    for t in tasks)
    assert_one_line_error(invoke("export", proj, "--out", tmp_path / "all.csv", "--image-url", "local-files",
                                 "--document-root", tmp_path), "--format labelstudio")
