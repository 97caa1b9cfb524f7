"""End to end in headless Chromium: open the page, label whole batches with the keyboard, see the round advance.

Uses Debian's ``chromium`` and ``chromium-driver`` (installed by ``.ci/run``); nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import re
import threading

import pytest

from _projects import small_items
from surelabel.project import Project
from surelabel.web import create_app

pytest.importorskip("selenium.webdriver", reason="pip install 'surelabel[browser-tests]'")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@contextlib.contextmanager
def serving(folder, items, classes, **settings):
    """A project made of ``items`` served on 127.0.0.1 by a werkzeug server in a thread."""
    from werkzeug.serving import make_server

    settings = {"text": "text", **settings}
    with Project.create(folder, items, id_column="id", feature_prefix="f", classes=classes, **settings):
        pass
    app = create_app(folder)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/", app
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        app.config["SURELABEL"].shutdown()


@pytest.fixture
def served(tmp_path):
    """A small project served on 127.0.0.1 by a werkzeug server in a thread."""
    items = small_items(300)
    with serving(tmp_path / "proj", items, ["no", "yes"], epsilon=0.3, budget=50, validation_size=30, seed_size=6,
                 batch_size=4, seed=0) as (url, app):
        yield url, dict(zip(items["id"], items["label"])), app


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
    history = app.config["SURELABEL"].project.status()["history"]
    notice = wait.until(lambda d: d.find_element(By.ID, "notice").text)  # the completed round, what it added
    assert re.match(rf"Round 0: \+{history[0]['n_auto_labeled']} auto-labels? ", notice), notice
    labeled += [label_one(browser, truth, wait) for _ in range(4)]  # round 1's batch of training queries
    wait.until(lambda d: body_attr(d, "round") == "2")
    history = app.config["SURELABEL"].project.status()["history"]
    notice = wait.until(lambda d: d.find_element(By.ID, "notice").text.startswith("Round 1") and
                        d.find_element(By.ID, "notice").text)
    assert re.match(rf"Round 1: \+{history[1]['n_auto_labeled']} auto-labels? ", notice), notice
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


def rect(driver, element_id):
    return driver.execute_script(
        "const r = document.getElementById(arguments[0]).getBoundingClientRect();"
        "return {top: r.top, bottom: r.bottom, left: r.left, right: r.right,"
        " width: window.innerWidth, height: window.innerHeight};", element_id)


def test_the_item_and_its_messages_are_on_screen_wide_and_narrow(served, browser):
    url, truth, app = served
    wait = WebDriverWait(browser, 30, poll_frequency=0.05)
    browser.set_window_size(1280, 1000)
    browser.get(url)
    wait.until(lambda d: d.find_element(By.ID, "name-input")).send_keys("cy\n")
    wait.until(lambda d: body_attr(d, "item"))
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#classes tbody tr"))  # the status (and table) arrived
    item = rect(browser, "item")
    assert item["top"] < 300, item  # above the fold: the item first, the per-class table below it
    assert rect(browser, "per-class")["top"] > rect(browser, "choices")["bottom"]
    assert "validation error estimate" in browser.find_element(By.CSS_SELECTOR, "#per-class summary").text
    assert "overall certified bound" in browser.find_element(By.ID, "progress").text

    answered = label_one(browser, truth, wait)  # the undo message shows right under the answer buttons
    browser.find_element(By.TAG_NAME, "body").send_keys("u")
    wait.until(lambda d: body_attr(d, "item") == answered and d.find_element(By.ID, "message").is_displayed())
    msg, actions = rect(browser, "message"), rect(browser, "skip")
    assert 0 <= msg["top"] - actions["bottom"] < 60 and msg["bottom"] <= msg["height"], (msg, actions)

    browser.set_window_size(420, 900)
    wait.until(lambda d: d.execute_script("return window.innerWidth") <= 420)
    for element_id in ("item", "choices"):
        r = rect(browser, element_id)
        assert 0 <= r["top"] and r["bottom"] <= r["height"], (element_id, r)
        assert 0 <= r["left"] and r["right"] <= r["width"], (element_id, r)


def test_more_than_ten_classes_get_letter_keys(tmp_path, browser):
    classes = [f"kind {i}" for i in range(12)]
    items = small_items(120)
    items["label"] = [classes[i % 12] for i in range(len(items))]
    with serving(tmp_path / "proj", items, classes, epsilon=0.3, budget=60, validation_size=24, seed_size=12,
                 batch_size=4, seed=0) as (url, app):
        wait = WebDriverWait(browser, 30, poll_frequency=0.05)
        browser.get(url)
        wait.until(lambda d: d.find_element(By.ID, "name-input")).send_keys("di\n")
        item = wait.until(lambda d: body_attr(d, "item"))
        buttons = browser.find_elements(By.CSS_SELECTOR, ".choice")
        keys = [b.find_element(By.TAG_NAME, "kbd").text for b in buttons]
        assert keys == ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "a", "b"], keys  # S and U stay skip, undo
        browser.find_element(By.TAG_NAME, "body").send_keys("b")  # the twelfth class, by its letter
        wait.until(lambda d: body_attr(d, "item") != item)
        labels = app.config["SURELABEL"].project.labels().set_index("id")
        assert labels.loc[item, "label"] == "kind 11"


def test_a_stopped_project_says_why_in_a_sentence(tmp_path, browser):
    items = small_items(200)
    truth = dict(zip(items["id"], items["label"]))
    with serving(tmp_path / "proj", items, ["no", "yes"], epsilon=0.3, budget=16, validation_size=12, seed_size=4,
                 batch_size=4, seed=0) as (url, app):
        wait = WebDriverWait(browser, 60, poll_frequency=0.05)
        browser.get(url)
        wait.until(lambda d: d.find_element(By.ID, "name-input")).send_keys("ed\n")
        for _ in range(16):  # the whole budget: 12 validation + 4 seed
            label_one(browser, truth, wait)
        text = wait.until(lambda d: "stopped" in d.find_element(By.ID, "message").text
                          and d.find_element(By.ID, "message").text)
        assert "the human-label budget is spent" in text and "budget_spent" not in text, text


def test_images_are_shown_large_and_fit_a_narrow_screen(tmp_path, browser):
    from surelabel.datasets import write_shape_images

    root = write_shape_images(tmp_path / "shapes", n_per_class=10, size=48, random_state=0)
    paths = sorted(root.rglob("*.png"))
    items = small_items(len(paths))
    items["path"] = [str(p) for p in paths]
    with serving(tmp_path / "proj", items, ["no", "yes"], text=None, image="path", media_roots=[root], epsilon=0.3,
                 budget=20, validation_size=8, seed_size=4, batch_size=4, seed=0) as (url, app):
        wait = WebDriverWait(browser, 30, poll_frequency=0.05)
        loaded = "const i = document.getElementById('item-image'); return i.complete && i.naturalWidth > 0;"
        for width, height in ((1280, 1000), (420, 900)):
            browser.set_window_size(width, height)
            browser.get(url)
            if width == 1280:
                wait.until(lambda d: d.find_element(By.ID, "name-input")).send_keys("fa\n")
            wait.until(lambda d: body_attr(d, "item") and d.execute_script(loaded))
            img, choices = rect(browser, "item-image"), rect(browser, "choices")
            shown = img["right"] - img["left"]
            assert shown == pytest.approx(min(480, img["width"] - 60), abs=40), img  # 48 px scaled up, fits the screen
            assert img["top"] < 300 and 0 <= img["left"] and img["right"] <= img["width"], img
            assert choices["bottom"] <= choices["height"], choices  # the answer buttons too
