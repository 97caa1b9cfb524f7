"""The CLI in pipes and scripts: a closed pipe, piped tables, start-up imports, plain sentences, progress."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from _projects import small_items
from surelabel.cli import main

SRC = str(Path(__file__).resolve().parents[1] / "src")


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def env(**extra: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k != "COLUMNS"}  # as in a script: no terminal, no COLUMNS
    e["PYTHONPATH"] = SRC + os.pathsep + os.environ.get("PYTHONPATH", "")
    return {**e, **extra}


def cli(*args, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "surelabel.cli", *map(str, args)], env=env(), stdout=stdout,
                          stderr=subprocess.PIPE, text=True, timeout=300)


@pytest.fixture
def items_csv(tmp_path):
    path = tmp_path / "items.csv"
    frame = small_items()
    frame["label"] = frame["label"].map({"no": "negative", "yes": "positive"})  # names wider than a cut cell
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def proj(tmp_path, items_csv):
    d = tmp_path / "proj"
    result = invoke("init", d, "--items", items_csv, "--id", "id", "--feature-prefix", "f", "--text", "text",
                    "--classes", "negative,positive", "--epsilon", 0.15, "--budget", 240, "--validation-size", 120,
                    "--seed-size", 20, "--batch-size", 20, "--seed", 0)
    assert result.exit_code == 0, result.output
    return d


def answers_for(proj, items_csv, tmp_path) -> Path:
    assert invoke("next", proj, "--out", tmp_path / "batch.csv").exit_code == 0
    truth = pd.read_csv(items_csv, index_col="id")["label"]
    batch = pd.read_csv(tmp_path / "batch.csv")
    batch["label"] = batch["id"].map(truth)
    batch.to_csv(tmp_path / "answers.csv", index=False)
    return tmp_path / "answers.csv"


def test_a_closed_pipe_exits_0_quietly_after_the_answers_are_saved(proj, items_csv, tmp_path):
    """`surelabel import DIR answers.csv | head -1`, with the reader gone before the first line."""
    answers = answers_for(proj, items_csv, tmp_path)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has left: every write to stdout fails with EPIPE
    try:
        done = cli("import", proj, answers, stdout=write_end)
    finally:
        os.close(write_end)
    assert done.returncode == 0 and done.stderr == ""
    status = json.loads(invoke("status", proj, "--json").output)
    assert status["human_labels"]["total"] == 140 and status["pending"] == 0  # the work was saved


def test_a_closed_pipe_on_a_long_output_exits_0_quietly(proj):
    """`surelabel next DIR | head -1`: the reader leaves after one line of many."""
    with subprocess.Popen([sys.executable, "-m", "surelabel.cli", "next", str(proj)], env=env(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stdout.readline().startswith("id,")
        proc.stdout.close()
        stderr = proc.stderr.read()
        assert proc.wait(timeout=300) == 0 and stderr == ""


def test_piped_tables_keep_every_cell_whole(items_csv):
    done = cli("run", items_csv, "--feature-prefix", "f", "--label-column", "label", "--budget", 300,
               "--validation-size", 200, "--class-report")
    assert done.returncode == 0, done.stderr
    assert "…" not in done.stdout.replace("≥", "")  # no cell cut to fit 80 columns
    for whole in ("negative", "positive", "bought (incl. next batch)", "certified", "thresholds"):
        assert whole in done.stdout
    assert "\x1b[" not in done.stdout  # no colour codes in a pipe


def test_class_report_without_a_price_counts_labels_and_prints_no_money(items_csv):
    args = ["run", items_csv, "--feature-prefix", "f", "--label-column", "label", "--budget", 300,
            "--validation-size", 200, "--class-report"]
    plain = invoke(*args)
    assert plain.exit_code == 0, plain.output
    assert "$" not in plain.output and "extra labels" in plain.output
    priced = invoke(*args, "--price", 0.5)
    assert priced.exit_code == 0 and "$" in priced.output and "extra cost" in priced.output


def test_help_imports_neither_numpy_nor_scikit_learn():
    code = ("import sys\nfrom click.testing import CliRunner\nfrom surelabel.cli import main\n"
            "r = CliRunner().invoke(main, ['--help'])\nassert r.exit_code == 0 and 'status' in r.output\n"
            "heavy = ['sklearn', 'scipy', 'pandas', 'cleanlab', 'matplotlib', 'sqlalchemy', 'numpy']\n"
            "print([m for m in heavy if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], env=env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_public_api_is_still_there_on_demand():
    import surelabel

    for name in surelabel.__all__:
        assert getattr(surelabel, name) is not None
    assert "AutoLabeler" in dir(surelabel)
    with pytest.raises(AttributeError):
        surelabel.no_such_name  # noqa: B018


def test_stop_reasons_print_as_sentences_and_the_first_round_says_why_nothing_is_auto_labeled(proj, items_csv,
                                                                                               tmp_path):
    from surelabel.cli import stop_reason_text
    from surelabel.cli_project import status_text

    assert stop_reason_text("validation_exhausted").startswith("too few validation points")
    answers = answers_for(proj, items_csv, tmp_path)
    assert invoke("import", proj, answers).exit_code == 0
    step = invoke("step", proj)
    assert step.exit_code == 0 and "Round 0: 0 item(s) auto-labeled" in step.output
    assert "Round 0 trains on the seed labels only" in step.output
    s = json.loads(invoke("status", proj, "--json").output)
    s["stop_reason"] = "validation_exhausted"
    text = status_text(s)
    assert "validation_exhausted" not in text and "too few validation points" in text


def test_run_with_progress_reports_every_round_when_the_loop_takes_a_callback(monkeypatch):
    from surelabel import cli

    class Loop:
        budget = 10

        def run(self, X, oracle, *, callback=None):
            for r in range(3):
                if callback is not None:
                    callback(type("R", (), {"round": r, "coverage": 0.1 * r, "n_auto_labeled_total": r,
                                            "human_labels_total": 3 * r})())
            return "done"

    class OldLoop:  # a loop without the callback still runs
        def run(self, X, oracle):
            return "old"

    seen = []

    def spy(description, total, info=""):
        import contextlib

        @contextlib.contextmanager
        def cm():
            yield seen.append

        return cm()

    monkeypatch.setattr(cli, "round_progress", spy)
    assert cli.run_with_progress(Loop(), None, None, "x") == "done"
    assert [r.round for r in seen] == [0, 1, 2]
    assert cli.run_with_progress(OldLoop(), None, None, "x") == "old"


def test_progress_is_quiet_when_not_a_terminal(items_csv):
    done = cli("run", items_csv, "--feature-prefix", "f", "--label-column", "label", "--budget", 300,
               "--validation-size", 200, "--json")
    assert done.returncode == 0 and done.stderr == ""
    json.loads(done.stdout)


def test_the_loop_reports_each_round_to_a_callback():
    """``AutoLabeler.run(..., callback=)`` calls back once per round with its RoundReport."""
    import inspect

    from surelabel import AutoLabeler, RoundReport, SimulatedOracle, datasets
    from surelabel.models import make_model

    if "callback" not in inspect.signature(AutoLabeler.run).parameters:
        pytest.skip("AutoLabeler.run has no callback yet (loop.py)")
    X, y = datasets.unit_ball(1500, d=4, random_state=0)
    seen: list[RoundReport] = []
    result = AutoLabeler(make_model("logreg", 0), epsilon=0.05, budget=500, validation_size=300,
                         random_state=0).run(X, SimulatedOracle(y), callback=seen.append)
    assert seen == result.history and all(isinstance(r, RoundReport) for r in seen)
