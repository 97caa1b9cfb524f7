"""The README's "Label with people" workflow, run line by line as a user would type it."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd

import surelabel

ROOT = Path(__file__).resolve().parent.parent
SRC = str(Path(surelabel.__file__).resolve().parent.parent)


def workflow_lines():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- workflow -->\s*```bash\n(.*?)```", text, re.S).group(1)
    block = block.replace("\\\n", " ")
    lines = []
    for line in block.splitlines():
        argv = shlex.split(line, comments=True)
        if argv:
            lines.append(argv)
    return lines


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_readme_workflow_runs_line_by_line(tmp_path):
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("SURELABEL_CRASH_AT", None)
    lines = workflow_lines()
    commands = [argv[1] if argv[0] == "surelabel" else argv[0] for argv in lines]
    assert {"example", "init", "next", "serve", "import", "step", "status", "run", "export"} <= set(commands)
    for argv in lines:
        exe = [sys.executable, "-m", "surelabel.cli", *argv[1:]] if argv[0] == "surelabel" else \
            [sys.executable, *argv[1:]] if argv[0] == "python3" else argv
        if argv[:2] == ["surelabel", "serve"]:  # runs until stopped: check it serves, then stop it
            port = free_port()
            exe[exe.index("--port") + 1] = str(port)
            proc = subprocess.Popen(exe, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                for _ in range(300):
                    try:
                        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5) as r:
                            status = json.loads(r.read())
                        break
                    except OSError:
                        assert proc.poll() is None, "surelabel serve exited"
                        time.sleep(0.1)
                assert status["ok"] and status["round"] == 0 and status["pending"] == 460
            finally:
                proc.terminate()
                proc.wait(30)
            continue
        result = subprocess.run(exe, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"{shlex.join(argv)}\n{result.stdout}\n{result.stderr}"
    labels = pd.read_csv(tmp_path / "labels.csv")
    assert list(labels.columns[:5]) == ["id", "label", "source", "round", "score"] and len(labels) == 1797
    assert (labels["source"] == "auto").mean() > 0.3
    tasks = json.loads((tmp_path / "labels.json").read_text())
    assert len(tasks) == 1797 and "<Choices" in (tmp_path / "config.xml").read_text()
