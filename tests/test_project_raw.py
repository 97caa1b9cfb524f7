"""Raw texts and image folders become labeling projects with no feature columns (issue #6)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from surelabel import datasets
from surelabel.cli import main
from surelabel.project import Project


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_a_csv_of_raw_texts_is_auto_labeled_with_the_certified_bound(tmp_path):
    datasets.reviews(1500, random_state=0).to_csv(tmp_path / "reviews.csv", index=False)
    proj = tmp_path / "proj"
    r = invoke("init", proj, "--items", tmp_path / "reviews.csv", "--id", "id", "--text", "review",
               "--classes", "negative,positive", "--featurizer", "tfidf", "--budget", 500,
               "--validation-size", 300, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["config"]["featurizer"]["name"] == "tfidf"
    assert (proj / "embeddings").is_dir()  # the vectors are cached with the project
    r = invoke("run", proj, "--simulate-from", "label", "--json")
    assert r.exit_code == 0, r.output
    invoke("export", proj, "--out", tmp_path / "labels.csv")
    labels = pd.read_csv(tmp_path / "labels.csv")
    truth = pd.read_csv(tmp_path / "reviews.csv").set_index("id")["label"]
    auto = labels[labels["source"] == "auto"]
    assert len(auto) > 0.3 * len(labels)
    wrong = (auto["label"].astype(str).to_numpy() != truth.loc[auto["id"]].astype(str).to_numpy()).mean()
    assert wrong <= 0.05


def test_a_folder_of_images_in_class_subfolders_becomes_a_project(tmp_path):
    datasets.write_digit_images(tmp_path / "photos", n_per_class=80)
    proj = tmp_path / "img"
    r = invoke("init", proj, "--images", tmp_path / "photos", "--featurizer", "pixels",
               "--classes", ",".join(str(i) for i in range(10)), "--epsilon", 0.1, "--budget", 500,
               "--validation-size", 300, "--seed-size", 50, "--batch-size", 25)
    assert r.exit_code == 0, r.output
    r = invoke("run", proj, "--simulate-from", "label", "--json")
    assert r.exit_code == 0, r.output
    status = json.loads(invoke("status", proj, "--json").output)
    assert status["coverage"] > 0.2
    r = invoke("next", proj, "--format", "jsonl")  # items keep their image path for the web page
    assert r.exit_code == 0


def test_init_embeds_images_at_the_size_asked_for(tmp_path):
    datasets.write_digit_images(tmp_path / "photos", n_per_class=3)
    dims = {}
    for size in (8, 12):
        proj = tmp_path / f"img{size}"
        r = invoke("init", proj, "--images", tmp_path / "photos", "--featurizer", "pixels", "--image-size", size,
                   "--classes", ",".join(str(i) for i in range(10)), "--budget", 20, "--validation-size", 10)
        assert r.exit_code == 0, r.output
        with Project.open(proj) as p:
            dims[size] = p.X.shape[1]
    assert dims == {8: 64, 12: 144}  # pixels: one feature per grey pixel of the resized image


def test_reopening_never_recomputes_and_a_second_init_reuses_the_cache(tmp_path):
    frame = datasets.reviews(300, random_state=1)
    frame.to_csv(tmp_path / "r.csv", index=False)
    args = ["--items", tmp_path / "r.csv", "--id", "id", "--text", "review", "--classes", "negative,positive",
            "--budget", 200, "--validation-size", 100]
    assert invoke("init", tmp_path / "a", *args).exit_code == 0
    before = sorted(p.name for p in (tmp_path / "a" / "embeddings").rglob("*"))
    # the project folder holds only the cache: init may run again and reuses it
    for p in (tmp_path / "a").iterdir():
        if p.name != "embeddings":
            p.unlink()
    assert invoke("init", tmp_path / "a", *args).exit_code == 0
    assert sorted(p.name for p in (tmp_path / "a" / "embeddings").rglob("*")) == before


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--classes", "a,b", "--budget", 10], "exactly one of --items FILE or --images FOLDER"),
        (["--items", "r.csv", "--text", "review", "--classes", "a,b", "--budget", 10], "--id"),
        (["--items", "r.csv", "--id", "id", "--feature-prefix", "x", "--featurizer", "tfidf",
          "--classes", "a,b", "--budget", 10], "--featurizer needs raw items"),
        (["--images", "nowhere", "--classes", "a,b", "--budget", 10], "not found"),
    ],
)
def test_raw_input_mistakes_get_one_line_errors(tmp_path, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    pd.DataFrame({"id": [1, 2], "review": ["good", "bad"], "x1": [0.1, 0.2]}).to_csv("r.csv", index=False)
    r = invoke("init", tmp_path / "p", *args)
    assert r.exit_code == 1
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and needle in lines[0], r.output
