"""The labeling server as an attacker (or a careless user) drives it: issue 11's web items, one regression test each.

* image paths: refused at ``init`` outside the allowed folders (``..``, absolute, symlinks,
  the project folder itself) and never served (403) even if they get into a project later;
* the ``Host`` header is checked (DNS rebinding), per-annotator tokens name the annotator,
  are stored hashed and are required beyond localhost; nobody acts or undoes as someone else;
* ``serve`` runs waitress with a request-size limit, not Flask's development server;
* inputs that used to give a 500 (deep JSON, a 400-digit number) give a 4xx; field lengths
  are capped with the limit in the message;
* a hypothesis fuzz of the JSON API: never a 5xx, and the store's event tables change only
  when an answer (or an undo) was accepted.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import MetaData, select

from _cli import assert_one_line_error, invoke
from _projects import PROJECT_SETTINGS, small_items
from surelabel.access import add_annotator, annotators, token_hash
from surelabel.exceptions import InputError
from surelabel.project import Project
from surelabel.web import MAX_BODY, create_app

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def assert_error(resp, status, *needles):
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:300])
    body = resp.get_json()
    assert body["ok"] is False and body["status"] == status and isinstance(body["error"], str) and body["error"]
    assert "Traceback" not in resp.get_data(as_text=True)
    for needle in needles:
        assert needle in body["error"], body["error"]


_REFLECTED: dict[int, MetaData] = {}


def dump(project: Project) -> dict[str, list[tuple]]:
    """Every row of every table but the leases and skips (those move with ``next`` and ``skip``) and the
    items (written once at ``init``)."""
    engine = project.store.engine
    if id(engine) not in _REFLECTED:
        _REFLECTED[id(engine)] = md = MetaData()
        md.reflect(engine)
    out = {}
    with engine.connect() as conn:
        for name, table in sorted(_REFLECTED[id(engine)].tables.items()):
            if name in ("item_lease", "item_skip", "item"):
                continue
            out[name] = sorted(map(tuple, conn.execute(select(table)).fetchall()), key=repr)
    return out


@pytest.fixture
def shutdown():
    """Collects apps and shuts each down after the test."""
    apps = []
    yield apps.append
    for app in apps:
        app.config["SURELABEL"].shutdown()


@pytest.fixture(scope="module")
def text_template(tmp_path_factory):
    """One small text project, made once: tests work on copies of its folder (fast, and each its own store)."""
    folder = tmp_path_factory.mktemp("template") / "proj"
    with Project.create(folder, small_items(), id_column="id", feature_prefix="f", text="text",
                        classes=["no", "yes"], **PROJECT_SETTINGS):
        pass
    return folder


@pytest.fixture
def text_project(text_template, tmp_path):
    shutil.copytree(text_template, tmp_path / "proj")
    return tmp_path / "proj"


def image_items(folder: Path, n: int = 60):
    """Items with a 'picture' column of PNG files written under ``folder/img``."""
    items = small_items(n)
    (folder / "img").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / "img" / f"{i}.png").write_bytes(PNG)
    items["picture"] = [f"img/{i}.png" for i in range(n)]
    return items


def init_images(items_csv: Path, proj: Path, *extra):
    return invoke("init", proj, "--items", items_csv, "--id", "id", "--feature-prefix", "f", "--image", "picture",
                  "--classes", "no,yes", "--budget", 40, *extra)


def pending_image(app):
    project = app.config["SURELABEL"].project
    return project.pending()[0].item_id


# ---------------------------------------------------------------- 1. image paths


@pytest.mark.parametrize("bad", ["../../../../../../../../etc/passwd", "/etc/passwd", "img/../../secret.txt",
                                 "proj/project.db"])
def test_init_refuses_an_image_path_outside_the_items_folder_in_one_line(tmp_path, bad):
    data = tmp_path / "data"
    items = image_items(data)
    items.loc[3, "picture"] = bad
    items.to_csv(data / "items.csv", index=False)
    (tmp_path / "secret.txt").write_text("secret")
    proj = data / "proj" if bad.startswith("proj/") else tmp_path / "proj"
    result = init_images(data / "items.csv", proj)
    assert_one_line_error(result, "items.csv", "row 4", "item-00003", repr(bad))
    assert ("--media-root" in result.output) or ("project folder" in result.output)
    assert not (proj / "project.db").exists()


def test_init_refuses_a_symlink_that_leaves_the_items_folder(tmp_path):
    data = tmp_path / "data"
    items = image_items(data)
    (tmp_path / "secret.txt").write_text("secret")
    (data / "img" / "5.png").unlink()
    (data / "img" / "5.png").symlink_to(tmp_path / "secret.txt")
    items.to_csv(data / "items.csv", index=False)
    assert_one_line_error(init_images(data / "items.csv", tmp_path / "proj"), "row 6", "item-00005",
                          "--media-root")


def test_media_root_allows_images_elsewhere_and_they_are_served(tmp_path, shutdown):
    data, pictures = tmp_path / "data", tmp_path / "pictures"
    items = image_items(pictures)
    items["picture"] = [str(pictures / "img" / f"{i}.png") for i in range(len(items))]
    data.mkdir()
    items.to_csv(data / "items.csv", index=False)
    assert init_images(data / "items.csv", tmp_path / "refused").exit_code == 1
    result = init_images(data / "items.csv", tmp_path / "proj", "--media-root", pictures)
    assert result.exit_code == 0, result.output
    app = create_app(tmp_path / "proj")
    shutdown(app)
    resp = app.test_client().get(f"/api/image?id={pending_image(app)}")
    assert resp.status_code == 200 and resp.data == PNG
    resp.close()


def test_a_media_root_that_is_not_a_folder_is_one_line(tmp_path):
    data = tmp_path / "data"
    image_items(data).to_csv(data / "items.csv", index=False)
    assert_one_line_error(init_images(data / "items.csv", tmp_path / "p", "--media-root", tmp_path / "nope"),
                          "--media-root", "not a folder")


def test_images_that_escape_after_init_are_never_served(tmp_path, shutdown):
    """A file swapped for a symlink, or a project made before roots were stored: 403, never the file."""
    data = tmp_path / "data"
    items = image_items(data)
    items.to_csv(data / "items.csv", index=False)
    assert init_images(data / "items.csv", tmp_path / "proj").exit_code == 0
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    app = create_app(tmp_path / "proj")
    shutdown(app)
    item_id = pending_image(app)
    idx = int(item_id.split("-")[1])
    target = data / "img" / f"{idx}.png"
    target.unlink()
    target.symlink_to(secret)
    resp = app.test_client().get(f"/api/image?id={item_id}")
    assert_error(resp, 403, "--media-root")
    assert b"top secret" not in resp.data


def test_a_project_without_stored_roots_serves_images_only_from_serve_media_root(tmp_path, shutdown):
    data = tmp_path / "data"
    image_items(data).to_csv(data / "items.csv", index=False)
    assert init_images(data / "items.csv", tmp_path / "proj").exit_code == 0
    with Project.open(tmp_path / "proj") as p, p.store.write() as conn:  # as made by an older surelabel
        config = json.loads(p.store.get_meta(conn)["config"])
        del config["media_roots"]
        p.store.set_meta(conn, "config", json.dumps(config))
    app = create_app(tmp_path / "proj")
    shutdown(app)
    assert_error(app.test_client().get(f"/api/image?id={pending_image(app)}"), 403)
    app2 = create_app(tmp_path / "proj", media_roots=[data])
    shutdown(app2)
    resp = app2.test_client().get(f"/api/image?id={pending_image(app2)}")
    assert resp.status_code == 200 and resp.data == PNG
    resp.close()


def test_python_api_refuses_traversal_too(tmp_path):
    items = image_items(tmp_path)
    items.loc[0, "picture"] = "../../../../etc/passwd"
    items.to_csv(tmp_path / "items.csv", index=False)
    with pytest.raises(InputError, match="row 1.*outside the allowed folders"):
        Project.create(tmp_path / "p", tmp_path / "items.csv", id_column="id", feature_prefix="f",
                       image="picture", classes=["no", "yes"], budget=40)


# ---------------------------------------------------------------- 2a. the Host header


@pytest.mark.parametrize("host, status", [
    ("localhost", 200), ("localhost:8000", 200), ("127.0.0.1:8000", 200), ("[::1]:8000", 200),
    ("LOCALHOST", 200), ("labels.example.org", 200),
    ("evil.example", 400), ("evil.example:8000", 400), ("127.0.0.1.evil.example", 400), ("", 400),
])
def test_the_host_header_must_name_this_server(text_project, shutdown, host, status):
    app = create_app(text_project, allowed_hosts=["labels.example.org"])
    shutdown(app)
    resp = app.test_client().get("/api/status", headers={"Host": host})
    if status == 200:
        assert resp.status_code == 200
    else:
        assert_error(resp, 400, "--allowed-host")


def test_a_post_with_a_foreign_host_stores_nothing(text_project, shutdown):
    app = create_app(text_project)
    shutdown(app)
    project = app.config["SURELABEL"].project
    before = dump(project)
    c = app.test_client()
    item = project.pending()[0]
    resp = c.post("/api/answer", headers={"Host": "attacker.example"},
                  json={"annotator": "ana", "item_id": item.item_id, "label": "yes"})
    assert_error(resp, 400)
    assert dump(project) == before


def test_allowed_host_star_accepts_any_name(text_project, shutdown):
    app = create_app(text_project, allowed_hosts=["*"])
    shutdown(app)
    assert app.test_client().get("/api/status", headers={"Host": "anything.example"}).status_code == 200


# ---------------------------------------------------------------- 2b. annotator tokens


def test_annotators_add_prints_a_link_and_stores_only_the_hash(text_project):
    result = invoke("annotators", "add", text_project, "ana", "--host", "labels.local", "--port", 9000)
    assert result.exit_code == 0, result.output
    link = result.output.splitlines()[-1]
    m = re.fullmatch(r"http://labels\.local:9000/\?token=([A-Za-z0-9_-]{40,})", link)
    assert m, link
    token = m.group(1)
    with Project.open(text_project) as p:
        stored = annotators(p)
    assert stored["ana"]["sha256"] == token_hash(token)
    for f in text_project.rglob("*"):
        if f.is_file():
            assert token.encode() not in f.read_bytes(), f
    assert_one_line_error(invoke("annotators", "add", text_project, "ana"), "already has a token", "--replace")
    assert "ana" in invoke("annotators", "list", text_project).output
    assert_one_line_error(invoke("annotators", "add", text_project, "x" * 81), "at most 80")
    assert_one_line_error(invoke("annotators", "remove", text_project, "bob"), "bob")


def test_beyond_localhost_the_server_refuses_to_start_without_tokens(text_project, shutdown):
    with pytest.raises(InputError, match="annotators add"):
        create_app(text_project, host="0.0.0.0")
    import socket

    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        port = s.getsockname()[1]
    assert_one_line_error(invoke("serve", text_project, "--host", "0.0.0.0", "--port", port),
                          "annotators add")


@pytest.mark.parametrize("args", [["--allowed-host", "labels.example.org"], ["--trusted-proxy", "127.0.0.1"],
                                  ["--require-tokens"]])
def test_a_page_reached_from_elsewhere_needs_tokens_even_on_localhost(text_project, args):
    assert_one_line_error(invoke("serve", text_project, "--port", 0, *args), "annotators add")


def test_annotators_add_json_and_public_url(text_project):
    out = json.loads(invoke("annotators", "add", text_project, " cy ", "--url", "https://labels.example.org",
                            "--json").output)
    assert out["annotator"] == "cy" and out["link"] == f"https://labels.example.org/?token={out['token']}"
    listed = json.loads(invoke("annotators", "list", text_project, "--json").output)["annotators"]
    assert [a["annotator"] for a in listed] == ["cy"] and "token" not in json.dumps(listed).replace('"annotators"', "")


@pytest.fixture
def team(text_project, shutdown):
    """A project with tokens for ana and bob, served as if on 0.0.0.0 (tokens required)."""
    with Project.open(text_project) as p:
        tokens = {"ana": add_annotator(p, "ana"), "bob": add_annotator(p, "bob")}
    app = create_app(text_project, host="0.0.0.0")
    shutdown(app)
    return app, tokens


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_with_tokens_required_nothing_answers_without_one(team):
    app, tokens = team
    c = app.test_client()
    assert_error(c.get("/"), 401, "access link")
    assert_error(c.get("/api/status"), 401)
    assert_error(c.post("/api/next", json={"annotator": "ana"}), 401)
    assert_error(c.post("/api/next", json={"annotator": "ana"}, headers=bearer("guess")), 401)
    assert_error(c.get("/?token=wrong"), 401)
    js = c.get("/static/app.js")
    assert js.status_code == 200  # the static files are public (they hold no data)
    js.close()


def test_the_link_sets_a_cookie_and_the_token_names_the_annotator(team):
    app, tokens = team
    c = app.test_client()
    resp = c.get(f"/?token={tokens['ana']}")
    assert resp.status_code == 303 and tokens["ana"] not in resp.headers["Location"]
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert c.get("/").status_code == 200
    assert c.get("/api/status").get_json()["you"] == "ana"
    item = c.post("/api/next", json={}).get_json()["item"]  # the body needs no name: the token is it
    truth = dict(zip(small_items()["id"], small_items()["label"]))
    resp = c.post("/api/answer", json={"item_id": item["id"], "batch": item["batch"], "label": truth[item["id"]]})
    assert resp.status_code == 200
    labels = app.config["SURELABEL"].project.labels().set_index("id")
    assert labels.loc[item["id"], "annotator"] == "ana"


def test_nobody_acts_as_someone_else(team):
    app, tokens = team
    c = app.test_client()
    project = app.config["SURELABEL"].project
    before = dump(project)
    item = project.pending()[0]
    assert_error(c.post("/api/answer", json={"annotator": "ana", "item_id": item.item_id, "label": "yes"},
                        headers=bearer(tokens["bob"])), 403, "signed in as 'bob'")
    assert_error(c.post("/api/skip", json={"annotator": "ana", "item_id": item.item_id},
                        headers=bearer(tokens["bob"])), 403)
    assert dump(project) == before


def test_an_annotator_can_undo_only_their_own_answer(team):
    app, tokens = team
    c = app.test_client()
    project = app.config["SURELABEL"].project
    truth = dict(zip(small_items()["id"], small_items()["label"]))
    item = c.post("/api/next", json={}, headers=bearer(tokens["ana"])).get_json()["item"]
    assert c.post("/api/answer", json={"item_id": item["id"], "batch": item["batch"], "label": truth[item["id"]]},
                  headers=bearer(tokens["ana"])).status_code == 200
    before = dump(project)
    assert_error(c.post("/api/undo", json={"annotator": "ana"}, headers=bearer(tokens["bob"])), 403)
    assert_error(c.post("/api/undo", json={}, headers=bearer(tokens["bob"])), 409)  # bob has nothing to undo
    assert dump(project) == before
    resp = c.post("/api/undo", json={}, headers=bearer(tokens["ana"]))
    assert resp.status_code == 200 and resp.get_json()["item"]["id"] == item["id"]


def test_a_removed_token_stops_working_at_once(team, text_project):
    app, tokens = team
    c = app.test_client()
    assert c.get("/api/status", headers=bearer(tokens["bob"])).status_code == 200
    assert invoke("annotators", "remove", text_project, "bob").exit_code == 0
    assert_error(c.get("/api/status", headers=bearer(tokens["bob"])), 401, "not valid")


def test_on_localhost_tokens_are_optional_but_checked_when_given(text_project, shutdown):
    with Project.open(text_project) as p:
        token = add_annotator(p, "ana")
    app = create_app(text_project)
    shutdown(app)
    c = app.test_client()
    assert c.post("/api/next", json={"annotator": "cy"}).status_code == 200  # today's behaviour
    assert c.get("/api/status").get_json()["you"] is None
    assert c.get("/api/status", headers=bearer(token)).get_json()["you"] == "ana"
    assert_error(c.get("/api/status", headers=bearer("forged")), 401)
    strict = create_app(text_project, require_tokens=True)
    shutdown(strict)
    assert_error(strict.test_client().post("/api/next", json={"annotator": "cy"}), 401)


# ---------------------------------------------------------------- 2d. waitress, size limit


def test_serve_runs_waitress_with_a_body_limit_not_the_development_server(text_project, monkeypatch):
    import waitress.server

    seen = {}

    class FakeServer:
        def run(self):
            seen["ran"] = True

        def close(self):
            seen["closed"] = True

    def fake_create_server(app, **kw):
        seen.update(kw, app=app)
        return FakeServer()

    monkeypatch.setattr(waitress.server, "create_server", fake_create_server)
    result = invoke("serve", text_project, "--port", 8765)
    assert result.exit_code == 0, result.output
    assert seen["ran"] and seen["closed"] and seen["host"] == "127.0.0.1" and seen["port"] == 8765
    assert 0 < seen["max_request_body_size"] <= 1024 * 1024
    assert seen["app"].config["MAX_CONTENT_LENGTH"] == MAX_BODY
    assert "development server" not in result.output.lower()


def test_serve_on_a_taken_port_is_one_line(text_project):
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        assert_one_line_error(invoke("serve", text_project, "--port", port), f"127.0.0.1:{port}", "--port")


def test_a_body_over_the_limit_is_413(text_project, shutdown):
    app = create_app(text_project)
    shutdown(app)
    resp = app.test_client().post("/api/answer", data=json.dumps({"annotator": "a" * (MAX_BODY + 10)}),
                                  content_type="application/json")
    assert_error(resp, 413, "too large")


# ---------------------------------------------------------------- 3 and 4. no 500s, capped fields


def test_deeply_nested_json_is_a_400_not_a_500(text_project, shutdown):
    app = create_app(text_project)
    shutdown(app)
    c = app.test_client()
    for path in ("/api/next", "/api/answer", "/api/undo", "/api/skip"):
        assert_error(c.post(path, data="[" * 20_000 + "]" * 20_000, content_type="application/json"), 400)
        assert_error(c.post(path, data='{"a":' * 10_000 + "1" + "}" * 10_000, content_type="application/json"), 400)


def test_a_400_digit_seconds_is_a_400_not_a_500(text_project, shutdown):
    app = create_app(text_project)
    shutdown(app)
    project = app.config["SURELABEL"].project
    before = dump(project)
    item = project.pending()[0]
    c = app.test_client()
    for seconds in ("1" + "0" * 400, "-" + "9" * 400, "1e400"):
        raw = f'{{"annotator": "ana", "item_id": "{item.item_id}", "label": "yes", "seconds": {seconds}}}'
        assert_error(c.post("/api/answer", data=raw, content_type="application/json"), 400, "'seconds'")
    assert dump(project) == before


@pytest.mark.parametrize("field, value, limit", [
    ("annotator", "a" * 81, "at most 80"), ("item_id", "i" * 1001, "at most 1000"),
    ("label", "l" * 1001, "at most 1000"), ("annotator", "ana\x00", "control characters"),
    ("annotator", "bo\nb", "control characters"),
])
def test_field_lengths_are_capped_and_the_limit_is_named(text_project, shutdown, field, value, limit):
    app = create_app(text_project)
    shutdown(app)
    project = app.config["SURELABEL"].project
    before = dump(project)
    payload = {"annotator": "ana", "item_id": project.pending()[0].item_id, "label": "yes", field: value}
    assert_error(app.test_client().post("/api/answer", json=payload), 400, limit)
    assert dump(project) == before


def test_a_too_long_image_id_or_token_is_refused_without_echoing_it(text_project, shutdown):
    app = create_app(text_project)
    shutdown(app)
    c = app.test_client()
    resp = c.get("/api/image?id=" + "x" * 5000)
    assert_error(resp, 404)
    assert len(resp.get_data()) < 2000
    assert_error(c.get("/api/status", headers=bearer("t" * 5000)), 401, "too long")


# ---------------------------------------------------------------- the fuzz


@pytest.fixture(scope="module")
def fuzz_app(text_template, tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz") / "proj"
    shutil.copytree(text_template, folder)
    app = create_app(folder, start_rounds=False)
    yield app
    app.config["SURELABEL"].shutdown()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=10**300, max_value=10**400)
    | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
NAMES = st.sampled_from(["ana", "bob", "", " ", "a" * 81, "ana\x00"]) | st.text(max_size=90)
LABELS = st.sampled_from(["no", "yes", "No", " yes", "maybe", ""]) | JSON


@st.composite
def api_requests(draw):
    """A path and a body: pure noise, or an almost-valid request with one field drawn at random."""
    path = draw(st.sampled_from(["/api/next", "/api/answer", "/api/undo", "/api/skip"]))
    if draw(st.booleans()):
        return path, draw(JSON)
    item_ids = st.sampled_from(["item-00000", "item-00001", " item-00002", "ghost", ""]) | JSON
    body = {"annotator": draw(NAMES), "item_id": draw(item_ids), "label": draw(LABELS)}
    for key, values in (("batch", st.integers(-2, 3) | JSON), ("seconds", JSON), ("extra", JSON)):
        if draw(st.booleans()):
            body[key] = draw(values)
    return path, body


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(req=api_requests())
def test_fuzzed_json_never_gives_a_5xx_and_stores_only_accepted_answers(fuzz_app, req):
    path, payload = req
    project = fuzz_app.config["SURELABEL"].project
    before = dump(project)
    resp = fuzz_app.test_client().post(path, data=json.dumps(payload), content_type="application/json")
    assert resp.status_code < 500, resp.get_data(as_text=True)[:300]
    body = resp.get_json()
    assert isinstance(body, dict) and body["ok"] is (resp.status_code == 200)
    after = dump(project)
    if resp.status_code == 200 and path in ("/api/answer", "/api/undo"):
        added = len(after["label_event"]) - len(before["label_event"])
        assert added == 1 and {k: v for k, v in after.items() if k != "label_event"} == \
            {k: v for k, v in before.items() if k != "label_event"}
    else:
        assert after == before


HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(item_id=st.text(max_size=40), host=HEADER_TEXT, auth=HEADER_TEXT, cookie=st.none() | HEADER_TEXT)
def test_fuzzed_ids_and_headers_never_give_a_5xx(fuzz_app, item_id, host, auth, cookie):
    from urllib.parse import quote

    c = fuzz_app.test_client()
    if cookie is not None:
        c.set_cookie("surelabel_token", cookie)
    for path in (f"/api/image?id={quote(item_id, safe='')}", "/api/status", f"/?token={quote(auth, safe='')}"):
        for headers in ({}, {"Host": host}, {"Authorization": auth}):
            resp = c.get(path, headers=headers)
            assert resp.status_code < 500, (path, headers, resp.get_data(as_text=True)[:300])
            resp.close()
