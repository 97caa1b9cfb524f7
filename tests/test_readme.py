"""The README's promises hold: its Python example runs, its first commands are the real ones."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_opens_with_the_install_and_test_commands():
    first = _blocks("bash")[0].splitlines()
    assert first[0].startswith('python3 -m pip install -e ".[all]" && surelabel demo')
    assert first[1].startswith("python3 -m pytest")
    ci = (README.parent / ".ci" / "run").read_text()
    assert "python3 -m pytest" in ci  # CI runs the README's test command


def test_readme_python_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    example = _blocks("python")[0]
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    result = namespace["result"]
    assert result.coverage > 0.3 and result.auto_error(namespace["y"]) <= 0.05
    assert (tmp_path / "labels.parquet").exists()
