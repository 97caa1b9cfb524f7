"""Shared fixtures and hypothesis profiles (``ci``, deterministic, whenever ``CI`` is set)."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings
from threadpoolctl import threadpool_limits

# one BLAS/OpenMP thread per process: the tests run many small fits (and joblib workers),
# where extra threads only fight over the machine's two cores
threadpool_limits(1)

settings.register_profile("ci", max_examples=150, derandomize=True, deadline=None)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture
def ball():
    """A small unit-ball problem (2,000 items in R^5)."""
    from surelabel import datasets

    return datasets.unit_ball(2000, d=5, random_state=0)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# ---------------------------------------------------------------- labeling projects

sys.path.insert(0, str(Path(__file__).parent))  # tests import their helpers from _projects.py

from _projects import PG_ENV, PROJECT_SETTINGS, pg_url_with_schema, small_items  # noqa: E402

if os.environ.get(PG_ENV) and "PGPASSWORD" not in os.environ:
    # a project keeps its URL without the password: later opens take it from PGPASSWORD, as a user's would
    from sqlalchemy.engine import make_url

    if make_url(os.environ[PG_ENV]).password:
        os.environ["PGPASSWORD"] = make_url(os.environ[PG_ENV]).password


@contextlib.contextmanager
def _pg_schema():
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set (CI sets it; see .ci/postgres.sh)")
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(make_url(base).set(drivername="postgresql+psycopg"), poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield pg_url_with_schema(base, schema)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request):
    """``None`` (the project's own SQLite file) or a PostgreSQL URL on a fresh schema."""
    if request.param == "sqlite":
        yield None
        return
    with _pg_schema() as url:
        yield url


@pytest.fixture
def pg_url():
    """A PostgreSQL URL on a fresh schema (skipped only when SURELABEL_TEST_POSTGRES_URL is unset)."""
    with _pg_schema() as url:
        yield url


@pytest.fixture
def make_project(tmp_path, db_url):
    """``make_project(**overrides) -> Project`` on the small items; every project made is closed afterwards."""
    from surelabel.project import Project

    made = []

    def make(name="proj", items=None, **overrides):
        settings = {**PROJECT_SETTINGS, **overrides}
        project = Project.create(tmp_path / name, small_items() if items is None else items, id_column="id",
                                 feature_prefix="f", text="text", classes=["no", "yes"], db=db_url, **settings)
        made.append(project)
        return project

    yield make
    for p in made:
        p.close()


CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1100,900"]


@pytest.fixture
def browser(monkeypatch):
    """Debian's headless Chromium driven by Selenium (installed by ``.ci/run``; nothing is downloaded)."""
    import shutil
    import tempfile

    webdriver = pytest.importorskip("selenium.webdriver", reason="pip install 'surelabel[browser-tests]'")
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):  # pragma: no cover
        pytest.skip("apt-get install chromium chromium-driver")
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never fetch a browser or driver
    profile = tempfile.mkdtemp(prefix="surelabel-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={profile}"]:
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def items_csv(tmp_path):
    """The small items table as a CSV file (a test module may define its own ``items_csv``)."""
    from _projects import small_items

    path = tmp_path / "items.csv"
    small_items().to_csv(path, index=False)
    return path


@pytest.fixture
def proj(tmp_path, items_csv):
    """A project made by ``surelabel init`` on the small items (round 0's batches queued)."""
    from _cli import invoke

    d = tmp_path / "proj"
    result = invoke("init", d, "--items", items_csv, "--id", "id", "--feature-prefix", "f", "--text", "text",
                    "--classes", "no,yes", "--epsilon", 0.15, "--budget", 240, "--validation-size", 120,
                    "--seed-size", 20, "--batch-size", 20, "--seed", 0)
    assert result.exit_code == 0, result.output
    return d
