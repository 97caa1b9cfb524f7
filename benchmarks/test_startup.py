"""Start-up benchmarks (pytest-benchmark): how long a CLI call takes before it does any work.

Run: ``python3 -m pytest benchmarks/test_startup.py --benchmark-only -p no:cacheprovider``

Each call is a fresh interpreter (a subprocess, as a user's shell starts it), so the figures
include Python's own start-up and every import the command pays for. Target (issue #12):
``surelabel --help`` and ``surelabel status DIR`` well under a second; scikit-learn, SciPy,
pandas, cleanlab, matplotlib and SQLAlchemy are imported only by the commands that use them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from surelabel.examples import write_example

#: What the ``surelabel`` console script runs, without depending on where it was installed.
ENTRY = "import sys; sys.argv[0] = 'surelabel'; from surelabel.cli import main; main()"


def call(*args: str) -> None:
    subprocess.run([sys.executable, "-c", ENTRY, *args], check=True, stdout=subprocess.DEVNULL)


def imports(*args: str) -> set[str]:
    """Top-level packages imported by one CLI call (run in-process by click's test runner)."""
    code = ("import sys\nfrom click.testing import CliRunner\nfrom surelabel.cli import main\n"
            f"r = CliRunner().invoke(main, {list(args)!r})\nassert r.exit_code == 0, r.output\n"
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return set(out.split())


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A digits project just initialised: round 0's batches wait for answers."""
    d = tmp_path_factory.mktemp("startup")
    write_example("digits", d / "items.csv")
    subprocess.run([sys.executable, "-c", ENTRY, "init", str(d / "proj"), "--items", str(d / "items.csv"), "--id",
                    "id", "--feature-prefix", "px", "--classes", "0,1,2,3,4,5,6,7,8,9", "--budget", "700",
                    "--validation-size", "400"], check=True, stdout=subprocess.DEVNULL)
    return d / "proj"


def test_python_itself(benchmark):
    """The floor: an interpreter that imports nothing of ours."""
    benchmark.pedantic(subprocess.run, args=([sys.executable, "-c", "pass"],), rounds=10, iterations=1)


def test_import_surelabel(benchmark):
    benchmark.pedantic(subprocess.run, args=([sys.executable, "-c", "import surelabel"],), kwargs={"check": True},
                       rounds=10, iterations=1)


def test_help(benchmark):
    benchmark.pedantic(call, args=("--help",), rounds=10, iterations=1)
    assert benchmark.stats.stats.median < 1.0
    heavy = {"sklearn", "scipy", "pandas", "cleanlab", "matplotlib", "sqlalchemy", "numpy"}
    assert not heavy & imports("--help")


def test_status(benchmark, project):
    benchmark.pedantic(call, args=("status", str(project)), rounds=10, iterations=1)
    assert not {"cleanlab", "matplotlib"} & imports("status", str(project))
