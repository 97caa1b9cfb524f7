"""The CLI as tests drive it (imported as ``_cli``; conftest puts tests/ on sys.path)."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner, Result

from surelabel.cli import main


def invoke(*args: Any, **kw: Any) -> Result:
    """Run ``surelabel ARGS`` in-process; arguments are turned into strings (paths, numbers)."""
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False, **kw)


def assert_one_line_error(result: Result, *needles: str) -> None:
    """A user's mistake: exit code 1 and one line ``Error: …`` holding every needle, no traceback."""
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
