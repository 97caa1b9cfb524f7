"""Secrets stay off the disk (issue 11, item 2): a PostgreSQL password given at ``init`` is used, never stored.

The project file keeps the database URL without its password and is readable by its owner only
(the folder 0700, the file and project.db 0600); later commands take the password from
PGPASSWORD, ~/.pgpass (libpq reads both), a full URL in SURELABEL_DB / --db, or a prompt on a
terminal, and without any of them fail with one line saying which variable to set.

The tests that need a server run when SURELABEL_TEST_POSTGRES_URL is set (see .ci/postgres.sh);
the others stand a SQLite store in for the PostgreSQL one, to check what ``init`` writes.
"""

from __future__ import annotations

import json
import os
import stat

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from _projects import PROJECT_SETTINGS, small_items
from surelabel import cli_project
from surelabel import project as project_module
from surelabel.cli import main
from surelabel.project import PROJECT_FILE, Project, has_password, without_password
from surelabel.store import PasswordNeededError, Store

SECRET = "s3cret-Pa55"
FAKE_PG = f"postgresql://ana:{SECRET}@db.invalid:5432/labels?options=-csearch_path%3Dp1"

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def invoke(*args, **kw):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False, **kw)


def init_args(d, items_csv, *extra):
    return ["init", d, "--items", items_csv, "--id", "id", "--feature-prefix", "f", "--classes", "no,yes",
            "--epsilon", 0.15, "--budget", 240, "--validation-size", 120, "--seed-size", 20, "--batch-size", 20,
            *extra]


@pytest.fixture
def sqlite_for_pg(tmp_path, monkeypatch):
    """Projects "on PostgreSQL" whose store is really a SQLite file: what init writes, without a server."""
    db_file = tmp_path / "stand-in.db"
    seen = []

    def store(url, **kw):
        seen.append(url)
        if make_url(url).get_backend_name() == "postgresql":
            url = f"sqlite:///{db_file}"
        return Store(url, **kw)

    monkeypatch.setattr(project_module, "Store", store)
    return seen


def folder_bytes(folder):
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def no_password_env(monkeypatch, tmp_path):
    """Nothing supplies a password: no PGPASSWORD, no password file, no SURELABEL_DB."""
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.delenv("SURELABEL_DB", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))


# ---------------------------------------------------------------- what is written


def test_without_password_removes_only_the_password():
    assert without_password(FAKE_PG) == "postgresql://ana@db.invalid:5432/labels?options=-csearch_path%3Dp1"
    assert without_password("postgresql+psycopg://ana:pw@h/db") == "postgresql+psycopg://ana@h/db"
    assert without_password("postgresql://ana@h/db?password=pw&sslmode=require") == \
        "postgresql://ana@h/db?sslmode=require"
    for kept in ("postgresql://ana@h/db", "postgresql:///db?host=/var/run/postgresql", "sqlite:////tmp/x.db"):
        assert without_password(kept) == kept  # verbatim, not re-rendered
    assert has_password(FAKE_PG) and has_password("postgresql://ana:@h/db")
    assert not has_password("postgresql://ana@h/db") and not has_password(None)


def test_create_never_writes_the_password(tmp_path, sqlite_for_pg):
    with Project.create(tmp_path / "p", small_items(), id_column="id", feature_prefix="f", classes=["no", "yes"],
                        db=FAKE_PG, **PROJECT_SETTINGS) as p:
        assert p.status()["round"] == 0
    assert sqlite_for_pg[0] == FAKE_PG  # this command did use the password
    marker = json.loads((tmp_path / "p" / PROJECT_FILE).read_text())
    assert marker["db"] == "postgresql://ana@db.invalid:5432/labels?options=-csearch_path%3Dp1"
    assert SECRET.encode() not in folder_bytes(tmp_path / "p")


def test_init_warns_once_and_stores_no_password(tmp_path, items_csv, sqlite_for_pg):
    result = invoke(*init_args(tmp_path / "p", items_csv, "--db", FAKE_PG))
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1, result.stderr
    assert "not stored" in warnings[0] and "PGPASSWORD" in warnings[0] and SECRET not in warnings[0]
    assert "Warning" not in result.stdout and SECRET not in result.output
    assert SECRET.encode() not in folder_bytes(tmp_path / "p")


def test_init_without_a_password_does_not_warn(tmp_path, items_csv, sqlite_for_pg):
    result = invoke(*init_args(tmp_path / "p", items_csv, "--db", without_password(FAKE_PG)))
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.output


@posix_only
def test_project_files_are_the_owners_alone(tmp_path, items_csv):
    d = tmp_path / "p"
    assert invoke(*init_args(d, items_csv)).exit_code == 0
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert stat.S_IMODE((d / PROJECT_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE((d / "project.db").stat().st_mode) == 0o600
    with Project.open(d) as p:  # SQLite's -wal / -shm files take the database file's mode
        p.status()
        for side in d.glob("project.db-*"):
            assert stat.S_IMODE(side.stat().st_mode) & 0o077 == 0, side


@posix_only
def test_project_files_are_private_on_postgresql_too(tmp_path, sqlite_for_pg):
    Project.create(tmp_path / "p", small_items(), id_column="id", feature_prefix="f", classes=["no", "yes"],
                   db=FAKE_PG, **PROJECT_SETTINGS).close()
    assert stat.S_IMODE((tmp_path / "p").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "p" / PROJECT_FILE).stat().st_mode) == 0o600


# ---------------------------------------------------------------- where the password comes from later


def test_no_password_and_no_terminal_is_one_line(tmp_path, monkeypatch):
    """The CLI plumbing, without a server: a store that wants a password gives one line naming the variables."""
    d = tmp_path / "p"
    d.mkdir()
    (d / PROJECT_FILE).write_text("{}")  # a project folder, for the commands that look before opening

    def wants_password(path, db=None):
        raise PasswordNeededError("The database postgresql://ana@h/db of p needs a password and none was given: "
                                  "set PGPASSWORD, add it to ~/.pgpass, or set SURELABEL_DB to the full URL.",
                                  "postgresql://ana@h/db")

    monkeypatch.setattr(Project, "open", staticmethod(wants_password))
    monkeypatch.delenv("SURELABEL_DB", raising=False)
    for command in (["status", d], ["next", d], ["audit", d]):
        result = invoke(*command)
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert result.exit_code == 1 and len(lines) == 1, result.output
        assert lines[0].startswith("Error: ") and "PGPASSWORD" in lines[0] and "SURELABEL_DB" in lines[0]


def test_a_terminal_is_asked_once(monkeypatch):
    calls = []

    def call(db):
        calls.append(db)
        if db is None:
            raise PasswordNeededError("needs a password", "postgresql://ana@h/db?options=-csearch_path%3Dp1")
        return "opened"

    monkeypatch.setattr(cli_project, "_stdin_is_tty", lambda: True)
    asked = []
    monkeypatch.setattr(cli_project.click, "prompt", lambda text, **kw: asked.append((text, kw)) or "pw")
    assert cli_project._with_password(call, None) == ("opened", "postgresql://ana:pw@h/db?options=-csearch_path%3Dp1")
    assert len(asked) == 1 and asked[0][1]["hide_input"] and asked[0][1]["err"]  # hidden, on stderr
    assert "pw" not in asked[0][0]
    monkeypatch.setattr(cli_project, "_stdin_is_tty", lambda: False)
    with pytest.raises(PasswordNeededError):
        cli_project._with_password(call, None)


@pytest.fixture
def pg_project(tmp_path, pg_url, items_csv):
    """A project made with ``init --db`` and a full URL (the password in it) on a real server."""
    assert make_url(pg_url).password, "the test server's URL must hold a password"
    d = tmp_path / "p"
    result = invoke(*init_args(d, items_csv, "--db", pg_url))
    assert result.exit_code == 0, result.output
    assert result.stderr.count("Warning:") == 1
    return d


def userinfo(url):
    """``user:password@`` as it appears in the URL (the test server's password may equal its user name)."""
    u = make_url(url)
    return f"{u.username}:{u.password}@"


def test_postgresql_project_file_holds_no_password(pg_project, pg_url):
    stored = json.loads((pg_project / PROJECT_FILE).read_text())["db"]
    assert stored == without_password(pg_url) and make_url(stored).password is None
    assert userinfo(pg_url).encode() not in folder_bytes(pg_project)


def test_postgresql_reopens_with_pgpassword(pg_project, pg_url, monkeypatch, tmp_path):
    no_password_env(monkeypatch, tmp_path)
    with pytest.raises(PasswordNeededError, match="PGPASSWORD.*SURELABEL_DB"):
        Project.open(pg_project)
    monkeypatch.setenv("PGPASSWORD", make_url(pg_url).password)
    with Project.open(pg_project) as p:
        assert p.status()["round"] == 0
    result = invoke("status", pg_project, "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["round"] == 0


def test_postgresql_reopens_with_a_password_file(pg_project, pg_url, monkeypatch, tmp_path):
    no_password_env(monkeypatch, tmp_path)
    u = make_url(pg_url)
    passfile = tmp_path / "pgpass"  # ~/.pgpass unless PGPASSFILE says otherwise
    passfile.write_text(f"*:*:*:{u.username}:{u.password}\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    assert invoke("status", pg_project).exit_code == 0


def test_postgresql_reopens_with_surelabel_db(pg_project, pg_url, monkeypatch, tmp_path):
    no_password_env(monkeypatch, tmp_path)
    monkeypatch.setenv("SURELABEL_DB", pg_url)
    result = invoke("status", pg_project)
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.output  # only init warns


def test_postgresql_without_password_is_one_line(pg_project, monkeypatch, tmp_path):
    no_password_env(monkeypatch, tmp_path)
    for command in (["status", pg_project], ["check", pg_project], ["step", pg_project]):
        result = invoke(*command)
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert result.exit_code == 1 and len(lines) == 1, result.output
        assert lines[0].startswith("Error: ") and "needs a password" in lines[0]
        assert "PGPASSWORD" in lines[0] and "SURELABEL_DB" in lines[0]


def test_postgresql_asks_on_a_terminal(pg_project, pg_url, monkeypatch, tmp_path):
    no_password_env(monkeypatch, tmp_path)
    monkeypatch.setattr(cli_project, "_stdin_is_tty", lambda: True)
    password = make_url(pg_url).password
    result = invoke("status", pg_project, "--json", input=password + "\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["round"] == 0  # the prompt went to stderr, the JSON is clean
    assert "Password for" in result.stderr and userinfo(pg_url) not in result.output
    assert make_url(json.loads((pg_project / PROJECT_FILE).read_text())["db"]).password is None
