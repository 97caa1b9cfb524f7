"""The README's promises hold: its Python example runs, its first commands are the real ones."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


INSTALL = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/surelabel demo"
TEST = '.venv/bin/pip install -e ".[dev]" && .venv/bin/python -m pytest'


def _command(line: str) -> str:
    return line.split("  #")[0].strip()


def test_readme_opens_with_the_install_and_test_commands():
    # Debian's python3 refuses a bare `pip install` (externally-managed-environment): both commands
    # make and use a virtual environment, and the first installs no extra (demo needs none)
    first = _blocks("bash")[0].splitlines()
    assert _command(first[0]) == INSTALL
    assert _command(first[1]) == TEST
    ci = (README.parent / ".ci" / "run").read_text().splitlines()
    assert TEST in ci  # CI runs the README's test command, verbatim, in the same virtual environment
    assert "python3 -m venv .venv" in ci and any(line.startswith(".venv/bin/pip install") and ".[all]" in line
                                                 for line in ci)
    assert "export SURELABEL_REQUIRE_EXTRAS=1" in ci


def test_gitignore_covers_what_the_readme_commands_leave_behind():
    ignored = (README.parent / ".gitignore").read_text().splitlines()
    assert ".venv/" in ignored and "*.egg-info/" in ignored
    for name in ("/items.csv", "/batch.csv", "/answers.csv", "/labels.*", "/digits/"):
        assert name in ignored


def test_readme_first_cli_example_runs_on_the_file_example_writes(tmp_path, monkeypatch):
    """`surelabel example` comes before `run`, and `run`'s columns are the ones `example` writes."""
    import shlex

    from click.testing import CliRunner

    from surelabel.cli import main

    block = next(b for b in _blocks("bash") if "surelabel run items.csv" in b)
    lines = [_command(line) for line in block.replace("\\\n", " ").splitlines()]
    example = next(k for k, line in enumerate(lines) if line.startswith("surelabel example"))
    run = next(k for k, line in enumerate(lines) if line.startswith("surelabel run items.csv"))
    assert example < run
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, shlex.split(lines[example])[1:])
    assert result.exit_code == 0, result.output
    argv = shlex.split(lines[run].replace("[--json]", ""))[1:]
    result = runner.invoke(main, [*argv, "--json"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "labels.parquet").exists()


def test_readme_python_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    example = _blocks("python")[0]
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    result = namespace["result"]
    assert result.coverage > 0.3 and result.auto_error(namespace["y"]) <= 0.05
    assert (tmp_path / "labels.parquet").exists()
