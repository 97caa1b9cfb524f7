"""Crash and concurrency: SIGKILL at many points of an import, a round and a web answer, then reopen.

A crash point (``SURELABEL_CRASH_AT=<point>:<n>``, see ``surelabel/crash.py``) makes the process
kill itself with SIGKILL the n-th time it passes that point. After each crash the project is
reopened and checked: every acknowledged answer is there, nothing half-written is visible (the
rounds, their auto-labels, retired validation points and next batches agree), and finishing the
run gives exactly the labels of a run that was never interrupted.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

import surelabel
from _projects import PROJECT_SETTINGS, small_items
from surelabel.project import Answer, Project

SRC = str(Path(surelabel.__file__).resolve().parent.parent)
COLS = ["id", "label", "source", "round", "score"]


def env(**extra):
    e = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    e.pop("SURELABEL_CRASH_AT", None)
    e.update({k: str(v) for k, v in extra.items()})
    return e


def cli(*args, timeout=180, **extra):
    return subprocess.run([sys.executable, "-m", "surelabel.cli", *map(str, args)], env=env(**extra),
                          capture_output=True, text=True, timeout=timeout)


def create(path, db=None):
    Project.create(path, small_items(), id_column="id", feature_prefix="f", text="text", classes=["no", "yes"],
                   db=db, **PROJECT_SETTINGS).close()


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A fresh project, and the labels an uninterrupted run ends with."""
    root = tmp_path_factory.mktemp("durability")
    create(root / "template")
    shutil.copytree(root / "template", root / "reference")
    with Project.open(root / "reference") as p:
        p.simulate("label")
        expected = p.labels()[COLS]
    return root / "template", expected


def fresh(template, tmp_path, name="proj"):
    d = tmp_path / name
    shutil.copytree(template, d)
    return d


def assert_consistent(d, db=None):
    """Nothing half-written: rounds, auto-labels, retirements and batches tell one story."""
    with Project.open(d, db=db) as p:
        with p.store.read() as conn:
            rounds = p.store.rounds(conn)
            auto = p.store.auto_events(conn)
            retired = p.store.retirements(conn)
            batches = p.store.batches(conn)
            items = {b["id"]: [i for _, i, _ in p.store.batch_items(conn, [b["id"]])] for b in batches}
            snap = p._snapshot(conn)
        for r in rounds:
            rep = r["report"]
            assert sum(a["round"] == r["round"] for a in auto) == rep["n_auto_labeled"]
            if r["stop_reason"] is None:
                nxt = [b for b in batches if b["round"] == r["round"] + 1]
                assert len(nxt) == 1 and len(items[nxt[0]["id"]]) == rep["n_queried"] > 0
        assert len(retired) == sum(r["report"]["n_retired_validation"] for r in rounds)
        assert len(auto) == len({a["item"] for a in auto})
        assert not {a["item"] for a in auto} & set(snap.current)
        assert all(b["round"] == len(rounds) for b in batches if b["status"] == "open")
        assert p.store.integrity_check() == "ok"
        return p.labels()[COLS], p.status()


def finish(d, db=None):
    with Project.open(d, db=db) as p:
        p.simulate("label")
        return p.labels()[COLS]


# Each point is passed by `surelabel run DIR --simulate-from label`; the numbers pick different rounds.
RUN_POINTS = ["answers.commit:1", "answers.done:1", "answers.commit:3", "step.compute:1", "step.write:2",
              "step.commit:1", "step.done:2", "step.write:4"]


@pytest.mark.parametrize("point", RUN_POINTS)
def test_a_run_killed_at_any_point_resumes_to_the_same_labels(point, template, tmp_path):
    tmpl, expected = template
    d = fresh(tmpl, tmp_path)
    crashed = cli("run", d, "--simulate-from", "label", SURELABEL_CRASH_AT=point)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert_consistent(d)
    pd.testing.assert_frame_equal(finish(d), expected)


@pytest.mark.parametrize("point, kept", [("answers.write:1", False), ("answers.commit:1", False),
                                          ("answers.done:1", True), (None, True)])
def test_an_import_is_all_or_nothing_and_acknowledged_answers_are_kept(point, kept, template, tmp_path):
    tmpl, expected = template
    d = fresh(tmpl, tmp_path)
    with Project.open(d) as p:
        truth = dict(zip(p.frame["id"], p.frame["label"]))
        ids = [x.item_id for x in p.pending()]
    pd.DataFrame({"id": ids, "label": [truth[i] for i in ids]}).to_csv(tmp_path / "answers.csv", index=False)
    result = cli("import", d, tmp_path / "answers.csv", **({"SURELABEL_CRASH_AT": point} if point else {}))
    assert result.returncode == (0 if point is None else -signal.SIGKILL), result.stderr
    _, status = assert_consistent(d)
    assert status["human_labels"]["total"] == (len(ids) if kept else 0)
    with Project.open(d) as p:  # importing the same file again is safe
        again = p.import_answers(tmp_path / "answers.csv")
        assert again.recorded + again.unchanged == len(ids) and again.pending_left == 0
    pd.testing.assert_frame_equal(finish(d), expected)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``surelabel serve`` in a subprocess."""

    def __init__(self, d, **extra):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc = subprocess.Popen([sys.executable, "-m", "surelabel.cli", "serve", str(d), "--port",
                                      str(self.port)], env=env(**extra), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.get("api/status")
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("the server exited") from None
                time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=10) as r:
            return json.loads(r.read())

    def post(self, path, payload):
        req = urllib.request.Request(self.url + path, data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(20)


def label_through_the_page(server, truth, limit=1000):
    """Answer items as a person would until the server dies; returns the acknowledged (item, label)."""
    acked = []
    for _ in range(limit):
        try:
            code, data = server.post("api/next", {"annotator": "ana"})
            if data.get("item") is None:
                time.sleep(0.1)
                continue
            item = data["item"]
            code, _ = server.post("api/answer", {"annotator": "ana", "item_id": item["id"], "batch": item["batch"],
                                                 "label": truth[item["id"]], "seconds": 1.5})
        except (OSError, http.client.HTTPException, ValueError):  # the server died mid-request
            break
        if code == 200:
            acked.append((item["id"], truth[item["id"]]))
    return acked


@pytest.mark.parametrize("point", ["answers.commit:3", "answers.write:9", "step.write:1", "step.commit:1"])
# answers.commit:3 falls in round 0, answers.write:9 in round 1 (after a background round); step.* in the first round
def test_a_web_server_killed_mid_answer_or_mid_round_loses_no_acknowledged_answer(point, template, tmp_path):
    tmpl, expected = template
    d = fresh(tmpl, tmp_path)
    with Project.open(d) as p:  # people answered most of round 0 by file; the page gets the rest
        truth = dict(zip(p.frame["id"], p.frame["label"]))
        p.record_answers([Answer(x.item_id, truth[x.item_id]) for x in p.pending()[:-6]])
    server = Server(d, SURELABEL_CRASH_AT=point)
    try:
        acked = label_through_the_page(server, truth)
        server.proc.wait(60)
    finally:
        server.stop()
    assert server.proc.returncode == -signal.SIGKILL
    labels, status = assert_consistent(d)
    got = labels.set_index("id")
    for item_id, label in acked:
        assert got.loc[item_id, "label"] == label and got.loc[item_id, "source"] in ("validation", "human")
    if point.startswith("step."):
        assert status["round"] == 0 and status["pending"] == 0  # the killed round left nothing; answers stay
    pd.testing.assert_frame_equal(finish(d), expected)


def test_two_processes_running_one_project_at_once_both_finish_or_say_busy(template, tmp_path):
    tmpl, expected = template
    d = fresh(tmpl, tmp_path)
    procs = [subprocess.Popen([sys.executable, "-m", "surelabel.cli", "run", str(d), "--simulate-from", "label"],
                              env=env(SURELABEL_BUSY_TIMEOUT=30), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0 or (p.returncode == 1 and "is busy" in err), err
    assert any(p.returncode == 0 for p in procs)
    labels, _ = assert_consistent(d)
    pd.testing.assert_frame_equal(labels, expected)


def test_two_imports_at_once_both_land(template, tmp_path):
    tmpl, expected = template
    d = fresh(tmpl, tmp_path)
    with Project.open(d) as p:
        truth = dict(zip(p.frame["id"], p.frame["label"]))
        ids = [x.item_id for x in p.pending()]
    halves = [ids[::2], ids[1::2]]
    for k, half in enumerate(halves):
        pd.DataFrame({"id": half, "label": [truth[i] for i in half]}).to_csv(tmp_path / f"h{k}.csv", index=False)
    procs = [subprocess.Popen([sys.executable, "-m", "surelabel.cli", "import", str(d), str(tmp_path / f"h{k}.csv")],
                              env=env(SURELABEL_BUSY_TIMEOUT=30), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for k in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err
    _, status = assert_consistent(d)
    assert status["human_labels"]["total"] == len(ids)
    pd.testing.assert_frame_equal(finish(d), expected)


def test_a_crash_while_creating_a_project_leaves_no_project(tmp_path):
    items = tmp_path / "items.csv"
    small_items().to_csv(items, index=False)
    result = cli("init", tmp_path / "p", "--items", items, "--id", "id", "--feature-prefix", "f", "--classes",
                 "no,yes", "--budget", 100, SURELABEL_CRASH_AT="init.write:1")
    assert result.returncode == -signal.SIGKILL
    status = cli("status", tmp_path / "p")  # built in a temporary folder: nothing at p, nothing blocks a retry
    assert status.returncode == 1 and "does not exist" in status.stderr
    assert [p.name.split("-")[0] for p in tmp_path.iterdir() if p.name.startswith(".p.")] == [".p.init"]
    again = cli("init", tmp_path / "p", "--items", items, "--id", "id", "--feature-prefix", "f", "--classes",
                "no,yes", "--budget", 100)
    assert again.returncode == 0, again.stderr
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".p.")]  # the killed build is cleared away


def test_a_round_killed_on_postgresql_leaves_nothing_half_written(template, tmp_path, pg_url):
    db_url = pg_url
    _, expected = template
    d = tmp_path / "pg"
    create(d, db=db_url)
    crashed = cli("run", d, "--simulate-from", "label", SURELABEL_CRASH_AT="step.write:2")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert_consistent(d, db=db_url)
    pd.testing.assert_frame_equal(finish(d, db=db_url), expected)


def _waits_on(proc, path):
    """True once ``proc`` holds ``path`` open (Linux): a step opens its lock file only after reading the round."""
    try:
        return any(os.path.realpath(f"/proc/{proc.pid}/fd/{fd}") == str(path)
                   for fd in os.listdir(f"/proc/{proc.pid}/fd"))
    except (FileNotFoundError, ProcessLookupError):
        return False


def _sleeps(proc):
    """True while ``proc`` sleeps in ``time.sleep`` (Linux): a step only sleeps between tries of the round lock."""
    try:
        with open(f"/proc/{proc.pid}/wchan") as fh:
            return "nanosleep" in fh.read()
    except OSError:
        return False


def test_two_steps_at_once_run_the_round_once_and_both_succeed(template, tmp_path):
    tmpl, _ = template
    d = fresh(tmpl, tmp_path)
    with Project.open(d) as p:
        truth = dict(zip(p.frame["id"], p.frame["label"]))
        p.record_answers([Answer(x.item_id, truth[x.item_id]) for x in p.pending()])
        lock = Path(p.store.lock_path).resolve()
        # Hold the round lock until both processes wait on it, so both were asked for round 0: without
        # this, one that starts after the other has finished is (rightly) asked for round 1.
        with p.store.step_lock():
            procs = [subprocess.Popen([sys.executable, "-m", "surelabel.cli", "step", str(d), "--json"],
                                      env=env(SURELABEL_BUSY_TIMEOUT=120), stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True) for _ in range(2)]
            try:
                # the portable lock polls: a waiting step opens the lock file, fails to lock it, closes it and
                # tries again 50 ms later, so watch closely and remember each process once it was seen there
                deadline = time.monotonic() + 120
                seen: set[int] = set()
                while len(seen) < len(procs) and time.monotonic() < deadline:
                    assert all(q.poll() is None for q in procs), [q.communicate() for q in procs]
                    seen |= {q.pid for q in procs if _waits_on(q, lock) or _sleeps(q)}
                    time.sleep(0.002)
            except BaseException:
                for q in procs:
                    q.kill()
                    q.communicate()
                raise
    outs = [q.communicate(timeout=180) for q in procs]
    for q, (_, err) in zip(procs, outs):
        assert q.returncode == 0, err
    results = [json.loads(out) for out, _ in outs]
    assert sorted(r["already_done"] for r in results) == [False, True]
    assert all(r["round"] == 0 for r in results)
    _, status = assert_consistent(d)
    assert status["round"] == 1
