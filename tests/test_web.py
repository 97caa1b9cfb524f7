"""The labeling page through Flask's test client: the API, its one error shape, escaping, rounds in the background."""

from __future__ import annotations

import time

import pytest

from _projects import small_items
from surelabel.project import Answer, Project
from surelabel.web import create_app


@pytest.fixture
def app(make_project):
    project = make_project()
    app = create_app(project.path, db=project.store.engine.url.render_as_string(hide_password=False)
                     if project.store.dialect == "postgresql" else None)
    yield app
    app.config["SURELABEL"].shutdown()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def truth():
    items = small_items()
    return dict(zip(items["id"], items["label"]))


def assert_error(resp, status):
    assert resp.status_code == status
    body = resp.get_json()
    assert body["ok"] is False and body["status"] == status and isinstance(body["error"], str) and body["error"]
    assert "Traceback" not in resp.get_data(as_text=True)


def test_the_page_shows_classes_as_buttons_with_shortcuts_and_escapes_text(client, app):
    html = client.get("/").get_data(as_text=True)
    assert 'data-label="no"' in html and 'data-key="1"' in html and 'data-key="2"' in html
    js = client.get("/static/app.js")
    assert "<script" in html and ".innerHTML" not in js.get_data(as_text=True)
    js.close()
    first = client.post("/api/next", json={"annotator": "ana"}).get_json()["item"]
    assert first["text"].startswith("<b>item")  # raw in JSON: the page puts it in with textContent
    resp = client.get("/")
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]


def test_class_names_are_escaped_in_the_page(tmp_path):
    items = small_items()
    items["label"] = items["label"].map({"no": "<i>no</i>", "yes": "a&b"})
    with Project.create(tmp_path / "p", items, id_column="id", feature_prefix="f", classes=["<i>no</i>", "a&b"],
                        budget=100):
        pass
    app = create_app(tmp_path / "p")
    try:
        html = app.test_client().get("/").get_data(as_text=True)
        assert "<i>no</i>" not in html and "&lt;i&gt;no&lt;/i&gt;" in html and "a&amp;b" in html
    finally:
        app.config["SURELABEL"].shutdown()


def test_an_answer_is_recorded_at_once_and_progress_is_reported(client, app, truth):
    item = client.post("/api/next", json={"annotator": "ana"}).get_json()["item"]
    assert item["kind"] == "validation" and item["round"] == 0
    resp = client.post("/api/answer", json={"annotator": "ana", "item_id": item["id"], "batch": item["batch"],
                                            "label": truth[item["id"]], "seconds": 2.5})
    assert resp.status_code == 200 and resp.get_json()["pending_left"] == 139
    s = client.get("/api/status").get_json()
    assert s["human_labels"]["total"] == 1 and s["budget_left"] == 239 and s["round"] == 0
    assert {"coverage", "per_class", "stop_reason", "stepping"} <= set(s)
    labels = app.config["SURELABEL"].project.labels().set_index("id")
    assert labels.loc[item["id"], "annotator"] == "ana" and labels.loc[item["id"], "seconds"] == 2.5


def test_two_people_never_get_the_same_item(client):
    seen = set()
    for name in ("ana", "bob", "cy", "dee"):
        item = client.post("/api/next", json={"annotator": name}).get_json()["item"]
        assert item["id"] not in seen
        seen.add(item["id"])
    again = client.post("/api/next", json={"annotator": "ana"}).get_json()["item"]
    assert again["id"] in seen  # ana's own lease comes back on reload


@pytest.mark.parametrize("payload, status", [
    ({"annotator": "ana", "item_id": "item-00000", "label": "maybe"}, 400),
    ({"annotator": "ana", "item_id": "ghost", "label": "yes"}, 400),
    ({"annotator": "", "item_id": "item-00000", "label": "yes"}, 400),
    ({"annotator": "ana", "item_id": "item-00000", "label": 1}, 400),
    ({"annotator": "ana", "item_id": "item-00000", "label": "yes", "batch": "one"}, 400),
    ({"annotator": "ana", "item_id": "item-00000", "label": "yes", "seconds": "long"}, 400),
    ({"annotator": "ana", "item_id": "item-00000", "label": "yes", "seconds": -5}, 400),
    ({"annotator": "ana", "item_id": "item-00000", "label": "yes", "seconds": float("nan")}, 400),
    ({"annotator": "ana", "item_id": "item-00000", "label": "yes", "seconds": float("inf")}, 400),
    ({"annotator": "x" * 200, "item_id": "item-00000", "label": "yes"}, 400),
    (["not", "an", "object"], 400),
])
def test_malformed_submissions_get_a_4xx_json_error_and_store_nothing(client, app, payload, status):
    assert_error(client.post("/api/answer", json=payload), status)
    assert app.config["SURELABEL"].project.status()["human_labels"]["total"] == 0


def test_stale_submissions_are_refused_with_409(client, app, truth):
    project = app.config["SURELABEL"].project
    pending_ids = {p.item_id for p in project.pending()}
    outside = next(i for i in truth if i not in pending_ids)
    assert_error(client.post("/api/answer", json={"annotator": "ana", "item_id": outside, "label": "yes"}), 409)
    item = client.post("/api/next", json={"annotator": "ana"}).get_json()["item"]
    body = {"item_id": item["id"], "batch": item["batch"], "label": truth[item["id"]]}
    assert_error(client.post("/api/answer", json={"annotator": "bob", **body}), 409)  # ana holds it
    assert_error(client.post("/api/answer", json={"annotator": "ana", **body, "batch": item["batch"] + 7}), 409)
    assert client.post("/api/answer", json={"annotator": "ana", **body}).status_code == 200
    assert_error(client.post("/api/answer", json={"annotator": "ana", **body}), 409)  # twice
    assert project.status()["human_labels"]["total"] == 1


def test_other_errors_share_the_shape(client):
    assert_error(client.post("/api/answer", data="{oops", content_type="application/json"), 400)
    assert_error(client.post("/api/answer", data="a=b"), 415)
    assert_error(client.get("/api/nothing"), 404)
    assert_error(client.get("/api/answer"), 405)
    assert_error(client.get("/api/image?id=item-00000"), 404)
    assert_error(client.post("/api/undo", json={"annotator": "nobody"}), 409)


def test_undo_takes_back_the_last_answer_and_skip_passes_an_item_on(client, app, truth):
    first = client.post("/api/next", json={"annotator": "ana"}).get_json()["item"]
    client.post("/api/answer", json={"annotator": "ana", "item_id": first["id"], "batch": first["batch"],
                                     "label": truth[first["id"]]})
    back = client.post("/api/undo", json={"annotator": "ana"}).get_json()
    assert back["item"]["id"] == first["id"]
    assert app.config["SURELABEL"].project.status()["human_labels"]["total"] == 0
    assert client.post("/api/next", json={"annotator": "ana"}).get_json()["item"]["id"] == first["id"]
    assert client.post("/api/skip", json={"annotator": "ana", "item_id": first["id"]}).status_code == 200
    assert client.post("/api/next", json={"annotator": "ana"}).get_json()["item"]["id"] != first["id"]


def test_a_complete_batch_runs_the_next_round_in_the_background(client, app, truth):
    lab = app.config["SURELABEL"]
    lab.project.record_answers([Answer(p.item_id, truth[p.item_id]) for p in lab.project.pending()[:-1]])
    item = client.post("/api/next", json={"annotator": "ana"}).get_json()["item"]
    resp = client.post("/api/answer", json={"annotator": "ana", "item_id": item["id"], "batch": item["batch"],
                                            "label": truth[item["id"]]}).get_json()
    assert resp["round_complete"] is True
    lab.wait()
    deadline = time.monotonic() + 30
    while client.get("/api/status").get_json()["round"] == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    s = client.get("/api/status").get_json()
    assert s["round"] == 1 and s["stepping"] is False and s["error"] is None
    nxt = client.post("/api/next", json={"annotator": "ana"}).get_json()["item"]
    assert nxt["round"] == 1 and nxt["kind"] == "training"


def test_features_only_items_show_their_id_and_fields(tmp_path):
    with Project.create(tmp_path / "p", small_items(), id_column="id", feature_prefix="f", classes=["no", "yes"],
                        budget=100):
        pass
    app = create_app(tmp_path / "p")
    try:
        item = app.test_client().post("/api/next", json={"annotator": "ana"}).get_json()["item"]
        assert set(item["fields"]) == {"f0", "f1", "f2", "f3", "f4"} and "text" not in item
    finally:
        app.config["SURELABEL"].shutdown()


def test_image_items_are_served_from_the_items_folder(tmp_path):
    items = small_items(80)
    (tmp_path / "img").mkdir()
    png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
    paths = []
    for i in range(len(items)):
        (tmp_path / "img" / f"{i}.png").write_bytes(png)
        paths.append(f"img/{i}.png")
    items["picture"] = paths
    items.to_csv(tmp_path / "items.csv", index=False)
    with Project.create(tmp_path / "p", tmp_path / "items.csv", id_column="id", feature_prefix="f",
                        image="picture", classes=["no", "yes"], budget=40):
        pass
    app = create_app(tmp_path / "p")
    try:
        c = app.test_client()
        item = c.post("/api/next", json={"annotator": "ana"}).get_json()["item"]
        assert item["image"].startswith("api/image?id=")
        resp = c.get("/" + item["image"])
        assert resp.status_code == 200 and resp.data == png
        resp.close()
    finally:
        app.config["SURELABEL"].shutdown()
