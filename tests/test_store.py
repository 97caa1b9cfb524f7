"""The store: schema versions and migrations, all-or-nothing writes, busy writers — on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from _projects import small_items
from surelabel.cli import main
from surelabel.project import Answer, Project
from surelabel.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    T_EVENT,
    T_META,
    ProjectBusyError,
    SchemaVersionError,
    Store,
)


def store_url(tmp_path, db_url):
    return db_url or f"sqlite:///{tmp_path / 'bare.db'}"


def test_a_fresh_database_gets_every_migration(tmp_path, db_url):
    with Store(store_url(tmp_path, db_url)) as store:
        assert store.schema_version() == 0
        assert store.migrate() == SCHEMA_VERSION == len(MIGRATIONS)
        assert store.migrate() == SCHEMA_VERSION  # idempotent
        with store.read() as conn:
            assert store.get_meta(conn)["schema_version"] == str(SCHEMA_VERSION)


def test_a_database_of_the_previous_schema_is_upgraded_on_open(tmp_path, db_url):
    url = store_url(tmp_path, db_url)
    with Store(url) as store:
        store.migrate(target=1)
        assert store.schema_version() == 1
    with Store(url) as store:
        assert store.migrate() == SCHEMA_VERSION
        with store.write() as conn:  # the v2 tables exist now
            assert store.leases(conn, 0.0) == {}


def test_a_database_from_a_newer_surelabel_is_refused_with_a_clear_message(make_project, db_url):
    project = make_project()
    with project.store.write() as conn:
        conn.execute(update(T_META).where(T_META.c.key == "schema_version").values(value=str(SCHEMA_VERSION + 1)))
    project.close()
    with pytest.raises(SchemaVersionError, match=rf"newer surelabel \(schema {SCHEMA_VERSION + 1} > "
                                                 rf"{SCHEMA_VERSION}\); upgrade surelabel"):
        Project.open(project.path, db=db_url)
    args = ["status", str(project.path)] + (["--db", db_url] if db_url else [])
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert result.output.strip().startswith("Error: ") and "upgrade surelabel" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_failing_write_transaction_leaves_nothing_behind(make_project):
    project = make_project()
    p = project.pending()[0]
    with pytest.raises(RuntimeError), project.store.write() as conn:
        project.store.insert_events(conn, [{"item": p.index, "label": "yes", "source": "validation", "round": 0,
                                            "batch_id": p.batch_id, "channel": "python"}])
        raise RuntimeError("boom")
    with project.store.read() as conn:
        assert conn.execute(select(T_EVENT.c.id)).first() is None


def test_a_second_writer_waits_and_then_reports_the_project_busy(make_project, db_url, monkeypatch):
    monkeypatch.setenv("SURELABEL_BUSY_TIMEOUT", "0.3")
    project = make_project()
    items = small_items()
    truth = dict(zip(items["id"], items["label"]))
    answers = [Answer(p.item_id, truth[p.item_id]) for p in project.pending()]
    with Project.open(project.path, db=db_url) as other:
        with project.store.write():
            with pytest.raises(ProjectBusyError, match="is busy: another surelabel process is writing to it"):
                other.record_answers(answers[:5])
        assert other.record_answers(answers[:5]).recorded == 5  # and works once the writer is done
        with other.store.step_lock():
            with pytest.raises(ProjectBusyError, match="busy"):
                project.step(partial=True, lock_timeout=0.2)


def test_readers_see_a_consistent_snapshot_while_a_round_is_written(make_project, db_url):
    project = make_project()
    items = small_items()
    truth = dict(zip(items["id"], items["label"]))
    project.record_answers([Answer(p.item_id, truth[p.item_id]) for p in project.pending()])
    seen = []
    stop = threading.Event()

    def read_status():
        with Project.open(project.path, db=db_url) as reader:
            while not stop.is_set():
                s = reader.status()
                seen.append((s["round"], s["n_auto"], len(s["history"])))

    t = threading.Thread(target=read_status)
    t.start()
    try:
        project.step()
    finally:
        stop.set()
        t.join()
    final = project.status()
    for rnd, n_auto, n_hist in seen:  # either before the round or after it, never half of it
        assert (rnd, n_auto, n_hist) in {(0, 0, 0), (1, final["n_auto"], 1)}


def test_sqlite_projects_use_wal_and_foreign_keys(tmp_path):
    with Project.create(tmp_path / "p", small_items(), id_column="id", feature_prefix="f", classes=["no", "yes"],
                        budget=100) as project:
        with project.store.read() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
        assert project.store.integrity_check() == "ok"
