"""End to end in headless Chromium: open the page, label whole batches with the keyboard, see the round advance.

Uses Debian's ``chromium`` and ``chromium-driver`` (installed by ``.ci/run``); nothing is downloaded.
"""

from __future__ import annotations

import threading

import pytest

from _projects import small_items
from surelabel.project import Project
from surelabel.web import create_app

pytest.importorskip("selenium.webdriver", reason="pip install 'surelabel[browser-tests]'")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def served(tmp_path):
    """A small project served on 127.0.0.1 by a werkzeug server in a thread."""
    from werkzeug.serving import make_server

    items = small_items(300)
    with Project.create(tmp_path / "proj", items, id_column="id", feature_prefix="f", text="text",
                        classes=["no", "yes"], epsilon=0.3, budget=50, validation_size=30, seed_size=6,
                        batch_size=4, seed=0):
        pass
    app = create_app(tmp_path / "proj")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/", dict(zip(items["id"], items["label"])), app
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        app.config["SURELABEL"].shutdown()




def body_attr(driver, name):
    return driver.find_element(By.TAG_NAME, "body").get_attribute(f"data-{name}")


def label_one(driver, truth, wait):
    """Answer the item on screen with its shortcut key and wait for the next one (or the end of the batch)."""
    item = wait.until(lambda d: body_attr(d, "item"))
    key = "1" if truth[item] == "no" else "2"
    driver.find_element(By.TAG_NAME, "body").send_keys(key)
    wait.until(lambda d: body_attr(d, "item") != item)
    return item


def test_label_batches_with_the_keyboard_and_watch_the_round_advance(served, browser, tmp_path):
    url, truth, app = served
    wait = WebDriverWait(browser, 30, poll_frequency=0.05)
    browser.get(url)
    name = wait.until(lambda d: d.find_element(By.ID, "name-input"))
    name.send_keys("ana\n")
    first = wait.until(lambda d: body_attr(d, "item"))
    text = browser.find_element(By.ID, "item-text")
    assert text.text.startswith("<b>item") and not text.find_elements(By.TAG_NAME, "b")  # shown, never parsed
    labeled = [label_one(browser, truth, wait) for _ in range(36)]  # round 0: 30 validation + 6 seed
    assert labeled[0] == first and len(set(labeled)) == 36
    wait.until(lambda d: body_attr(d, "round") == "1" and body_attr(d, "item"))
    assert browser.find_element(By.ID, "round").text == "1"
    labeled += [label_one(browser, truth, wait) for _ in range(4)]  # round 1's batch of training queries
    wait.until(lambda d: body_attr(d, "round") == "2")
    assert browser.find_element(By.ID, "given").text == "40"
    browser.save_screenshot(str(tmp_path / "page.png"))
    s = app.config["SURELABEL"].project.status()
    assert s["human_labels"]["total"] == 40 and s["round"] == 2
    labels = app.config["SURELABEL"].project.labels().set_index("id")
    assert all(labels.loc[i, "label"] == truth[i] and labels.loc[i, "annotator"] == "ana" for i in labeled)


def test_undo_and_skip_from_the_keyboard(served, browser):
    url, truth, app = served
    wait = WebDriverWait(browser, 30, poll_frequency=0.05)
    browser.get(url)
    wait.until(lambda d: d.find_element(By.ID, "name-input")).send_keys("bo\n")
    answered = label_one(browser, truth, wait)
    browser.find_element(By.TAG_NAME, "body").send_keys("u")
    wait.until(lambda d: body_attr(d, "item") == answered)
    assert app.config["SURELABEL"].project.status()["human_labels"]["total"] == 0
    browser.find_element(By.TAG_NAME, "body").send_keys("s")
    wait.until(lambda d: body_attr(d, "item") not in ("", answered))
