"""``surelabel report`` and ``run --report``: one self-contained HTML page per project or run.

The page is checked as text (self-contained, the per-round table, estimates called estimates,
the overall bound, escaping) and, when Debian's ``chromium`` and ``chromium-driver`` are
installed (``.ci/run`` installs them), loaded in headless Chromium to see its images render.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner

from _projects import PROJECT_SETTINGS, small_items
from surelabel.cli import main
from surelabel.project import Answer, Project
from surelabel.report import report_html, write_report

EVIL = "<script>alert('x')</script>"


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


class _Links(HTMLParser):
    """Every src/href of the page, and the tags it uses."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href")]


def parse(page: str) -> _Links:
    p = _Links()
    p.feed(page)
    return p


def assert_self_contained(page: str) -> None:
    links = parse(page)
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert all(u.startswith("data:image/png;base64,") for u in links.urls), links.urls
    assert "script" not in links.tags and "link" not in links.tags and "iframe" not in links.tags


@pytest.fixture
def simulated(make_project):
    project = make_project()
    project.simulate("label")
    return project


def test_project_report_is_one_self_contained_page_with_rounds_estimates_and_the_overall_bound(simulated, tmp_path):
    s = simulated.status()
    assert s["guarantee"] == "overall" and s["union_error_bound"] is not None and s["n_auto"] > 0
    out = write_report(simulated, tmp_path / "report.html")
    assert out == tmp_path / "report.html"
    page = out.read_text(encoding="utf-8")
    assert_self_contained(page)
    assert page.count("data:image/png;base64,") == 2  # rounds figure and score histograms
    # the per-round table: one row per round with its coverage
    assert "Round by round" in page and "human labels spent" in page
    for h in s["history"]:
        assert f"{100 * h['coverage']:.1f} %" in page
    assert len(re.findall(r"<tr>", page.split("Round by round")[1].split("Per class")[0])) == len(s["history"]) + 1
    # the overall bound, said to cover all auto-labels together
    assert f"{100 * s['union_error_bound']:.2f} %" in page
    assert "all auto-labels together" in page
    # per-class figures are estimates, never certified bounds in overall mode
    per_class = page.split("<h2>Per class</h2>")[1].split("<h2>")[0]
    assert "estimate" in per_class and "not a bound" in per_class
    assert "certified bound for the class" not in page
    for p in s["per_class"]:
        assert f"{p['auto_labeled']:,}" in per_class
    assert "Spot checks" not in page and "<h2>Cost</h2>" not in page


def test_the_cli_writes_the_project_report(simulated, tmp_path):
    out = tmp_path / "r.html"
    result = invoke("report", simulated.path, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"out": str(out)}
    assert "Round by round" in out.read_text(encoding="utf-8")
    bad = invoke("report", simulated.path, "--out", tmp_path / "r.txt")
    assert bad.exit_code == 1 and bad.output.startswith("Error: ") and ".html" in bad.output
    (tmp_path / "labels.csv").write_text("id,label\n")
    bad = invoke("report", tmp_path / "labels.csv", "--out", out)
    assert bad.exit_code == 1 and "run ... --report" in bad.output


def test_class_names_are_escaped(tmp_path):
    items = small_items(400)
    items["label"] = items["label"].replace({"no": EVIL})
    settings = {**PROJECT_SETTINGS, "budget": 200, "validation_size": 100}
    with Project.create(tmp_path / "proj", items, id_column="id", feature_prefix="f", classes=[EVIL, "yes"],
                        **settings) as project:
        project.simulate("label")
        page = report_html(project, title="<b>mine</b>")
    assert EVIL not in page and "<b>mine</b>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page and "&lt;b&gt;mine&lt;/b&gt;" in page
    assert_self_contained(page)


def test_per_class_promise_shows_each_class_certified_bound(make_project, tmp_path):
    project = make_project(guarantee="per-class")
    project.simulate("label")
    page = report_html(project)
    assert "certified bound for the class" in page and "Per-class promise" in page
    assert "estimates with a 90 % interval, not bounds" in page
    s = project.status()
    bounds = [p["certified_bound"] for p in s["per_class"] if p["certified_bound"] is not None]
    assert bounds, "the per-class project should certify a class"
    # all auto-labels together: the largest class bound (they hold jointly), not the pooled figure of the rounds
    assert f"<b>{100 * max(bounds):.2f} %</b> (the largest of the classes' certified bounds" in page
    pooled = s["union_error_bound"]
    if pooled is not None and f"{100 * pooled:.2f}" != f"{100 * max(bounds):.2f}":
        assert f"{100 * pooled:.2f} %" not in page


def test_spot_checks_and_cost_are_reported(make_project, tmp_path):
    from surelabel.cost import CostModel
    from surelabel.project_quality import queue_spot_check

    project = make_project(cost=CostModel.flat(0.25, currency="€"))
    project.simulate("label")
    truth = dict(zip(small_items()["id"], small_items()["label"]))
    queue_spot_check(project, 20)
    project.record_answers([Answer(p.item_id, truth[p.item_id]) for p in project.pending()])
    page = report_html(project)
    spots = page.split("<h2>Spot checks</h2>")[1].split("<h2>")[0]
    assert "Clopper–Pearson" in spots and "<b>all</b></td><td>20</td>" in spots
    cost = project.status()["cost"]
    assert "<h2>Cost</h2>" in page and f"€{cost['total']:,.2f}" in page


def test_a_run_writes_its_report_with_the_realised_error_and_cost(tmp_path):
    items = small_items(500)
    items.to_csv(tmp_path / "items.csv", index=False)
    out = tmp_path / "run.html"
    result = invoke("run", tmp_path / "items.csv", "--feature-prefix", "f", "--label-column", "label",
                    "--id-column", "id", "--budget", 240, "--validation-size", 120, "--epsilon", 0.15,
                    "--price", 0.1, "--out", tmp_path / "labels.csv", "--report", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["report"] == str(out)
    page = out.read_text(encoding="utf-8")
    assert_self_contained(page)
    assert "realised error so far" in page and "<h2>Cost</h2>" in page and "$" in page
    rounds = page.split("Round by round")[1].split("Per class")[0]
    assert len(re.findall(r"<tr>", rounds)) == len(summary["rounds"]) + 1
    bad = invoke("run", tmp_path / "items.csv", "--feature-prefix", "f", "--label-column", "label",
                 "--budget", 240, "--report", tmp_path / "run.pdf")
    assert bad.exit_code == 1 and "html" in bad.output


def test_a_project_run_writes_its_report(tmp_path):
    items = small_items(400)
    items.to_csv(tmp_path / "items.csv", index=False)
    settings = {**PROJECT_SETTINGS, "budget": 200, "validation_size": 100}
    with Project.create(tmp_path / "proj", items, id_column="id", feature_prefix="f", classes=["no", "yes"],
                        **settings):
        pass
    result = invoke("run", tmp_path / "proj", "--simulate-from", "label", "--report", tmp_path / "p.html")
    assert result.exit_code == 0, result.output
    assert "Report written to" in result.output
    assert "Round by round" in (tmp_path / "p.html").read_text(encoding="utf-8")


def test_a_fresh_project_has_a_report_too(tmp_path):
    with Project.create(tmp_path / "proj", small_items(300), id_column="id", feature_prefix="f",
                        classes=["no", "yes"], **PROJECT_SETTINGS) as project:
        page = report_html(project)
    assert "No round has run yet" in page and "Nothing is auto-labeled yet" in page and "<img" not in page
    assert "nothing certified yet" in page and "wait for answers" in page


def test_without_matplotlib_the_report_has_its_tables_and_a_note(simulated, monkeypatch):
    import surelabel.report as report

    monkeypatch.setattr(report, "_pyplot", lambda: None)
    page = report_html(simulated)
    assert "data:image" not in page and "<img" not in page
    assert "Figures need matplotlib" in page and "Round by round" in page and "Per class" in page


# ---------------------------------------------------------------- headless Chromium

def test_the_page_renders_its_images_in_headless_chromium(simulated, tmp_path, browser):
    from selenium.webdriver.common.by import By

    out = write_report(simulated, tmp_path / "report.html")
    driver = browser
    driver.get(out.resolve().as_uri())
    assert "surelabel report" in driver.title
    images = driver.find_elements(By.TAG_NAME, "img")
    assert len(images) == 2
    for img in images:
        loaded = driver.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth > 0 && arguments[0].naturalHeight > 0 "
            "&& arguments[0].getBoundingClientRect().width > 0", img)
        assert loaded, img.get_attribute("alt")
    text = driver.find_element(By.TAG_NAME, "body").text
    assert "Round by round" in text and "all auto-labels together" in text
    assert driver.find_elements(By.TAG_NAME, "table")
    driver.save_screenshot(str(tmp_path / "report.png"))
