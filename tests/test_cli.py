"""The command line, as a user drives it: help everywhere, JSON that parses, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from _cli import assert_one_line_error, invoke
from surelabel import datasets
from surelabel.cli import main


@pytest.fixture
def items_csv(tmp_path):
    X, y = datasets.unit_ball(1500, d=4, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(4)])
    frame.insert(0, "id", [f"item-{i}" for i in range(len(y))])
    frame["label"] = np.where(y == 1, "yes", "no")
    path = tmp_path / "items.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("command", [[], ["demo"], ["run"]])
def test_every_command_has_help(command):
    result = invoke(*command, "--help")
    assert result.exit_code == 0 and "Usage" in result.output


def test_demo_prints_rounds_and_totals_as_json():
    result = invoke("demo", "--json")
    assert result.exit_code == 0
    runs = json.loads(result.output)["runs"]
    assert [r["dataset"] for r in runs] == ["unit-ball", "digits"]
    for r in runs:
        assert r["coverage"] > 0.3 and r["auto_error"] <= r["epsilon"]
        assert r["human_labels"]["total"] <= r["budget"]
        assert r["rounds"] and "thresholds" in r["rounds"][0]
        assert r["rounds"][-1]["auto_error"] == pytest.approx(r["auto_error"])  # the realised error, round by round


def test_demo_prints_tables():
    result = invoke("demo")
    assert result.exit_code == 0
    assert "unit-ball" in result.output and "coverage" in result.output


def test_run_writes_every_item_with_its_provenance(items_csv, tmp_path):
    out = tmp_path / "labels.parquet"
    result = invoke("run", items_csv, "--feature-prefix", "f", "--label-column", "label", "--id-column", "id",
                    "--budget", 500, "--validation-size", 300, "--epsilon", 0.05, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    labels = pd.read_parquet(out)
    assert list(labels.columns) == ["id", "label", "source", "round", "score"]
    assert len(labels) == 1500 and labels["id"].is_unique
    assert (labels["source"] == "auto").sum() == summary["n_auto"] > 0
    assert set(labels["label"].dropna()) <= {"yes", "no"}
    assert summary["human_labels"]["total"] <= 500


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_run_reads_parquet_and_jsonl(items_csv, tmp_path, fmt):
    frame = pd.read_csv(items_csv)
    path = tmp_path / f"items.{fmt}"
    frame.to_parquet(path) if fmt == "parquet" else frame.to_json(path, orient="records", lines=True)
    result = invoke("run", path, "--features", "f0,f1,f2,f3", "--simulate-from", "label", "--budget", 500, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["coverage"] > 0


def test_same_seed_gives_the_same_labels(items_csv, tmp_path):
    outs = []
    for i in range(2):
        out = tmp_path / f"l{i}.csv"
        invoke("run", items_csv, "--feature-prefix", "f", "--label-column", "label", "--budget", 500, "--seed", 3,
               "--out", out)
        outs.append(pd.read_csv(out))
    pd.testing.assert_frame_equal(outs[0], outs[1])


@pytest.mark.parametrize(
    "args,needles",
    [
        (["--feature-prefix", "f", "--label-column", "label", "--budget", 500], []),  # file replaced below
        (["--feature-prefix", "zz", "--label-column", "label", "--budget", 500], ["zz"]),
        (["--features", "f0,nope", "--label-column", "label", "--budget", 500], ["'nope'", "not found", "Available"]),
        (["--feature-prefix", "f", "--label-column", "lbl", "--budget", 500], ["'lbl'", "not found"]),
        (["--feature-prefix", "f", "--label-column", "label", "--budget", 500, "--epsilon", 1.5], ["epsilon"]),
        (["--feature-prefix", "f", "--label-column", "label", "--budget", 500, "--delta", 0], ["delta"]),
        (["--feature-prefix", "f", "--label-column", "label", "--budget", 100, "--validation-size", 90,
          "--seed-size", 20], ["budget"]),
        (["--feature-prefix", "f", "--label-column", "label", "--budget", 5000, "--validation-size", 4000],
         ["validation_size"]),
        (["--feature-prefix", "f", "--label-column", "label", "--budget", 500, "--out", "x.txt"], ["x.txt"]),
        (["--feature-prefix", "f", "--label-column", "label", "--budget", 500, "--model", "gpt"], ["gpt"]),
        (["--feature-prefix", "f", "--label-column", "label", "--id-column", "dup", "--budget", 500], ["appears more"]),
    ],
)
def test_user_mistakes_get_one_line_errors(items_csv, args, needles):
    frame = pd.read_csv(items_csv)
    frame["dup"] = frame["id"]
    frame.loc[5, "dup"] = frame.loc[4, "dup"]
    frame.to_csv(items_csv, index=False)
    path = items_csv if needles else items_csv.with_name("missing.csv")
    result = invoke("run", path, *args)
    assert_one_line_error(result, *(needles or ["missing.csv", "not found"]))


def test_nan_features_are_named_by_row_and_column(items_csv):
    frame = pd.read_csv(items_csv)
    frame.loc[41, "f2"] = np.nan
    frame.to_csv(items_csv, index=False)
    result = invoke("run", items_csv, "--feature-prefix", "f", "--label-column", "label", "--budget", 500)
    assert_one_line_error(result, "row 42", "'f2'")


def test_a_single_class_column_is_refused(items_csv):
    frame = pd.read_csv(items_csv)
    frame["label"] = "yes"
    frame.to_csv(items_csv, index=False)
    result = invoke("run", items_csv, "--feature-prefix", "f", "--label-column", "label", "--budget", 500)
    assert_one_line_error(result, "fewer than two classes")


def test_unreadable_files_are_refused(tmp_path):
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"not a parquet file")
    result = invoke("run", bad, "--feature-prefix", "f", "--label-column", "label", "--budget", 500)
    assert_one_line_error(result, "broken.parquet")
    jl = tmp_path / "broken.jsonl"
    jl.write_text('{"f0": 1}\n{oops\n')
    result = invoke("run", jl, "--feature-prefix", "f", "--label-column", "label", "--budget", 500)
    assert_one_line_error(result, "broken.jsonl", "line 2")


def test_a_label_column_matching_the_feature_prefix_is_not_a_feature(items_csv):
    frame = pd.read_csv(items_csv)
    frame["f_label"] = frame.pop("label")  # the label's name starts with the feature prefix "f"
    frame.to_csv(items_csv, index=False)
    leak = invoke("run", items_csv, "--feature-prefix", "f", "--label-column", "f_label", "--budget", 600,
                  "--json")
    plain = invoke("run", items_csv, "--features", "f0,f1,f2,f3", "--label-column", "f_label", "--budget", 600,
                   "--json")
    assert leak.exit_code == plain.exit_code == 0
    assert json.loads(leak.output)["coverage"] == json.loads(plain.output)["coverage"]


@pytest.mark.parametrize("features, needle", [("f0,label", "is the label column"),
                                              ("f0,f0", "named more than once")])
def test_the_label_or_a_repeated_column_among_the_features_is_refused(items_csv, features, needle):
    result = invoke("run", items_csv, "--features", features, "--label-column", "label", "--budget", 600)
    assert_one_line_error(result, needle)


def test_a_missing_output_folder_is_refused_before_any_label_is_bought(items_csv, tmp_path):
    result = invoke("run", items_csv, "--feature-prefix", "f", "--label-column", "label", "--budget", 600,
                    "--out", tmp_path / "no-such-folder" / "labels.parquet")
    assert_one_line_error(result, "does not exist")


def test_a_plain_folder_is_not_taken_for_items(tmp_path):
    result = invoke("run", tmp_path, "--feature-prefix", "f", "--label-column", "label", "--budget", 600)
    assert_one_line_error(result, "is a folder but not a surelabel project")


@pytest.mark.parametrize("args, needle", [(["run", "x.csv", "--label-column", "y", "--epsilon", "abc"], "--epsilon"),
                                          (["run", "x.csv", "--label-column", "y", "--nope"], "--nope"),
                                          (["run"], "DATA"), (["no-such-command"], "no-such-command")])
def test_usage_mistakes_end_in_one_line_and_exit_1(args, needle):
    assert_one_line_error(invoke(*args), needle, "--help")


def test_integer_ids_are_named_plainly_when_duplicated(items_csv):
    frame = pd.read_csv(items_csv)
    frame["num"] = np.arange(len(frame)) // 2
    frame.to_csv(items_csv, index=False)
    result = invoke("run", items_csv, "--feature-prefix", "f", "--label-column", "label", "--id-column", "num",
                    "--budget", 600)
    assert_one_line_error(result, "id '0' appears more than once")  # ids are read verbatim, as text


def test_a_validation_set_too_small_to_certify_is_announced(items_csv):
    result = CliRunner().invoke(main, ["run", str(items_csv), "--feature-prefix", "f", "--label-column", "label",
                                       "--budget", 200, "--validation-size", 20, "--json"])
    assert result.exit_code == 0
    assert "Warning: 20 validation labels cannot certify" in result.stderr
    assert json.loads(result.stdout)["coverage"] == 0.0
