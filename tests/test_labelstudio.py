"""Label Studio for real: hotkeys as on surelabel's page, annotator names, lenient re-import of full
exports, image URLs Label Studio can open."""

from __future__ import annotations

import re

import pytest

from _cli import invoke
from _projects import small_items
from surelabel.exchange import label_config, shortcut_keys


@pytest.fixture
def items_csv(tmp_path):
    path = tmp_path / "items.csv"
    small_items().to_csv(path, index=False)
    return path


@pytest.fixture
def proj(tmp_path, items_csv):
    d = tmp_path / "proj"
    result = invoke("init", d, "--items", items_csv, "--id", "id", "--feature-prefix", "f", "--text", "text",
                    "--classes", "no,yes", "--epsilon", 0.15, "--budget", 240, "--validation-size", 120,
                    "--seed-size", 20, "--batch-size", 20, "--seed", 0)
    assert result.exit_code == 0, result.output
    return d


def _hotkeys(xml: str) -> dict[str, str | None]:
    out = {}
    for m in re.finditer(r"<Choice value=\"([^\"]*)\"( hotkey=\"([^\"]*)\")?/>", xml):
        out[m.group(1)] = m.group(3)
    return out


# ------------------------------------------------------------------ 1. hotkeys


@pytest.mark.parametrize("classes", [["no", "yes"], ["0", "1", "7"], ["3", "1"], [f"c{i}" for i in range(10)],
                                     [f"c{i}" for i in range(13)], [f"c{i}" for i in range(40)], ["1", "1x"]])
def test_label_config_hotkeys_are_the_keys_of_surelabels_page(classes):
    keys = shortcut_keys(classes)
    assert _hotkeys(label_config(classes, "text")) == {c: (k or None) for c, k in zip(classes, keys)}
    web = pytest.importorskip("surelabel.web")
    assert keys == web.shortcut_keys(classes)


def test_label_config_digit_classes_use_the_digit_and_others_count_from_one():
    assert _hotkeys(label_config(["0", "1"], "image")) == {"0": "0", "1": "1"}
    assert _hotkeys(label_config(["cat", "dog"], "image")) == {"cat": "1", "dog": "2"}
    many = _hotkeys(label_config([f"c{i}" for i in range(12)], "text"))
    assert many["c8"] == "9" and many["c9"] == "0" and many["c10"] == "a" and many["c11"] == "b"
    lots = _hotkeys(label_config([f"c{i}" for i in range(40)], "text"))
    assert "s" not in lots.values() and "u" not in lots.values() and lots["c33"] == "z" and lots["c34"] is None


def test_next_label_config_file_has_the_hotkeys(proj, tmp_path):
    r = invoke("next", proj, "--format", "labelstudio", "--out", tmp_path / "b.json",
               "--label-config", tmp_path / "c.xml")
    assert r.exit_code == 0, r.output
    assert _hotkeys((tmp_path / "c.xml").read_text()) == {"no": "1", "yes": "2"}
