"""Quality checks on a project folder: audit, spot-check and review as batches and events."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

from _cli import assert_one_line_error, invoke
from surelabel.cli import main
from surelabel.project import Project

PLANTED = 20  # wrong validation answers planted in the audit project (of 300: noisy at epsilon 0.1)


def ok(*args):
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result


def as_json(*args):
    return json.loads(ok(*args, "--json").output)


def answer(d, tmp, truth, wrong=()):
    """Answer every pending item from ``truth``, except items in ``wrong`` (shifted to another class)."""
    b = tmp / "batch.csv"
    ok("next", d, "--out", b)
    frame = pd.read_csv(b, dtype={"id": str})
    frame["label"] = [(truth[i] + 1) % 10 if i in wrong else truth[i] for i in frame["id"]]
    frame.to_csv(tmp / "answers.csv", index=False)
    ok("import", d, tmp / "answers.csv")
    return frame


def state(d):
    with Project.open(d) as p, p.store.read() as conn:
        return p.labels().set_index("id"), p.store.human_events(conn), p.store.spot_checks(conn), p.status()


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("quality")
    ok("example", "digits", root / "items.csv")
    ok("init", root / "fresh", "--items", root / "items.csv", "--id", "id", "--feature-prefix", "px",
       "--text", "picture", "--classes", "0,1,2,3,4,5,6,7,8,9", "--epsilon", 0.1, "--budget", 500,
       "--validation-size", 300, "--batch-size", 50, "--seed", 0)
    shutil.copytree(root / "fresh", root / "done")
    ok("run", root / "done", "--simulate-from", "label")
    truth = pd.read_csv(root / "items.csv", dtype={"id": str}).set_index("id")["label"].to_dict()
    return root, truth


@pytest.fixture
def fresh(base, tmp_path):
    shutil.copytree(base[0] / "fresh", tmp_path / "fresh")
    return tmp_path / "fresh", base[1]


@pytest.fixture
def done(base, tmp_path):
    shutil.copytree(base[0] / "done", tmp_path / "done")
    return tmp_path / "done", base[1]


@pytest.mark.parametrize("command", ["audit", "spot-check", "review"])
def test_help_mentions_project_folders_and_json(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0 and "--json" in result.output and "project folder" in result.output


def test_audit_ranks_planted_wrong_labels_first_and_queue_rereviews_them(fresh, tmp_path):
    d, truth = fresh
    with Project.open(d) as p:
        val = [x.item_id for x in p.pending() if x.kind == "validation"]
    wrong = set(val[::15][:PLANTED])
    answer(d, tmp_path, truth, wrong)

    out = as_json("audit", d, "--top", 300)
    ranked = [r["id"] for r in out["issues"]]
    assert set(ranked[:8]) <= wrong and wrong <= set(ranked[:2 * PLANTED])  # planted mistakes come first
    flagged = {r["id"] for r in out["issues"] if r["is_issue"]}
    assert len(flagged & wrong) >= PLANTED - 2
    assert {"id", "given", "suggested", "score"} <= set(out["issues"][0])
    assert out["summary"]["noisy"] and out["warning"].startswith("About")  # before any step: re-review advice
    text = invoke("audit", d).output
    assert "warning" in text and "--queue" in text

    before_events = len(state(d)[1])
    queued = as_json("audit", d, "--queue")["queued"]
    assert queued["n"] == len(flagged)
    s = state(d)[3]
    assert {"batch": queued["batch"], "kind": "review"} == {k: s["pending_batches"][-1][k] for k in ("batch", "kind")}
    handed = answer(d, tmp_path, truth)  # re-review: correct answers this time
    assert set(handed["id"]) == flagged and set(handed["kind"]) == {"review"}
    labels, events, _, s = state(d)
    assert len(events) == before_events + len(flagged)  # new events; the old ones stay in the history
    for item_id in flagged & wrong:
        assert labels.loc[item_id, "label"] == str(truth[item_id])  # the latest event is the current label
        assert labels.loc[item_id, "source"] == "validation"
        assert [e["label"] for e in events if e["item"] == labels.index.get_loc(item_id)][0] != str(truth[item_id])
    assert s["pending"] == 0 and s["human_labels"]["validation"] == 300
    assert as_json("audit", d)["summary"]["noisy"] is False
    ok("step", d)  # the round runs with the corrected validation labels


def test_spot_check_batch_is_handed_out_and_never_trains_or_validates(done, tmp_path):
    d, truth = done
    labels0, events0, _, s0 = state(d)
    drawn = as_json("spot-check", d, "--n", 40)
    assert drawn["kind"] == "spot-check" and drawn["n"] == 40 and len(set(drawn["ids"])) == 40
    assert (labels0.loc[drawn["ids"], "source"] == "auto").all()
    nxt = as_json("next", d)
    assert nxt["count"] == 40 and {r["kind"] for r in nxt["items"]} == {"spot-check"}
    assert all(r["label"] == "" for r in nxt["items"])  # the auto-label is not shown
    b = tmp_path / "b.csv"
    ok("next", d, "--out", b)
    frame = pd.read_csv(b, dtype={"id": str})
    assert "label" in frame and frame["label"].isna().all()
    wrong = set(frame["id"][:4])
    frame["label"] = [(truth[i] + 1) % 10 if i in wrong else truth[i] for i in frame["id"]]
    frame.to_csv(tmp_path / "a.csv", index=False)
    ok("import", d, tmp_path / "a.csv")
    again = json.loads(ok("import", d, tmp_path / "a.csv", "--json").output)  # importing twice is safe
    assert again["recorded"] == 0 and again["unchanged"] == 40
    labels1, events1, spots, s1 = state(d)
    assert len(spots) == 40 and events1 == events0  # no label event: not used to train or validate
    pd.testing.assert_frame_equal(labels1, labels0)  # auto-labels unchanged
    assert s1["human_labels"] == s0["human_labels"] and s1["pending"] == 0
    report = as_json("spot-check", d, "--report")
    errors = sum(labels0.loc[i, "label"] != str(truth[i]) or i in wrong for i in frame["id"])
    assert report["n"] == 40 and report["n_errors"] == errors
    assert 0 <= report["ci_low"] <= report["error"] <= report["ci_high"] <= 1
    assert len(report["per_class"]) == 10
    assert "auto-label error" in ok("spot-check", d, "--report").output


def test_spot_check_during_a_running_project_does_not_block_rounds(fresh, tmp_path):
    d, truth = fresh
    answer(d, tmp_path, truth)
    ok("step", d)
    while state(d)[3]["n_auto"] == 0:
        answer(d, tmp_path, truth)
        ok("step", d)
    as_json("spot-check", d, "--n", 5)
    answer(d, tmp_path, truth)  # the round's batch and the spot check
    r = state(d)[3]["round"]
    step = json.loads(ok("step", d, "--json").output)
    assert step["already_done"] is False and state(d)[3]["round"] == r + 1
    assert len(state(d)[2]) == 5


def test_review_by_confidence_orders_by_closeness_to_the_stored_threshold(done, tmp_path):
    d, truth = done
    labels0, events0, _, _ = state(d)
    out = as_json("review", d, "--n", 30, "--by", "confidence")
    q = out["queue"]
    assert out["kind"] == "review" and out["n"] == 30 and all(r["source"] == "auto" for r in q)
    slack = [labels0.loc[r["id"], "score"] - labels0.loc[r["id"], "threshold"] for r in q]
    assert slack == sorted(slack) and slack[0] >= 0
    auto = labels0[labels0["source"] == "auto"]
    assert slack[-1] <= (auto["score"] - auto["threshold"]).nsmallest(30).max() + 1e-12
    handed = answer(d, tmp_path, truth)
    assert list(handed["id"]) == [r["id"] for r in q] and set(handed["kind"]) == {"review"}
    labels1, events1, _, s = state(d)
    assert len(events1) == len(events0) + 30
    ids = [r["id"] for r in q]
    assert (labels1.loc[ids, "source"] == "human").all()
    assert (labels1.loc[ids, "label"] == [str(truth[i]) for i in ids]).all()
    with Project.open(d) as p, p.store.read() as conn:
        kept = {p.item_ids[a["item"]] for a in p.store.auto_events(conn)}
    assert set(ids) <= kept  # the auto-label events stay in the history
    by_issue = as_json("review", d, "--n", 3, "--by", "issue-score")["queue"]
    assert by_issue[0]["source"] == "human" and by_issue[0]["key"] >= by_issue[-1]["key"]


def test_bad_input_is_one_line_and_writes_nothing(fresh, done, tmp_path):
    d, _ = fresh
    assert_one_line_error(invoke("spot-check", d, "--n", 5), "no auto-labels")
    dd, _ = done
    n_auto = state(dd)[3]["n_auto"]
    before = state(dd)
    assert_one_line_error(invoke("spot-check", dd, "--n", n_auto + 1), "only", "lower --n")
    assert_one_line_error(invoke("review", dd, "--n", n_auto + 10_000), "lower --n")
    assert_one_line_error(invoke("spot-check", dd, "--report"), "no answered spot checks")
    after = state(dd)
    assert after[3]["pending_batches"] == before[3]["pending_batches"] == []
    for cmd in (["audit"], ["spot-check", "--n", 3], ["review", "--n", 3]):
        assert_one_line_error(invoke(cmd[0], tmp_path, *cmd[1:]), "not a surelabel project")
    assert_one_line_error(invoke("audit", d), "no human labels")
    assert_one_line_error(invoke("spot-check", dd, "--answers", tmp_path / "x.csv"), "files only")
    assert_one_line_error(invoke("spot-check", dd, "--n", 3, "--out", tmp_path / "x.csv"), "surelabel next")
    assert_one_line_error(invoke("audit", dd, "--seed", 3), "files only")
    assert state(dd)[3]["pending_batches"] == []


def test_the_web_page_hands_out_a_spot_check_and_its_answer_is_no_label_event(done):
    d, truth = done
    ids = as_json("spot-check", d, "--n", 2)["ids"]
    with Project.open(d) as p:
        first = p.lease_next("ann")
        assert first.kind == "spot-check" and first.item_id in ids
        assert "label" not in p.display(first.index)
        before = p.labels()
        p.answer("ann", first.item_id, str((truth[first.item_id] + 1) % 10), batch_id=first.batch_id)
        pd.testing.assert_frame_equal(p.labels(), before)
        second = p.lease_next("ann")
        assert second.item_id != first.item_id and second.kind == "spot-check"
        p.answer("ann", second.item_id, str(truth[second.item_id]))
        assert p.lease_next("ann") is None and p.status()["pending_batches"] == []
    report = as_json("spot-check", d, "--report")
    assert report["n"] == 2 and report["n_errors"] >= 1


def test_a_spot_check_is_not_drawn_while_auto_labels_wait_in_a_review_batch(done, tmp_path):
    d, truth = done
    ok("review", d, "--n", 20, "--by", "confidence")
    assert_one_line_error(invoke("spot-check", d, "--n", 10), "would not be uniform", "Answer those batches")
    answer(d, tmp_path, truth)  # once the review is answered, every auto-label can be drawn again
    assert as_json("spot-check", d, "--n", 10)["n"] == 10


def test_noisy_validation_labels_are_flagged_before_the_first_certificate(fresh, tmp_path):
    d, truth = fresh
    with Project.open(d) as p:
        pending = [x.item_id for x in p.pending()]
    wrong = set(pending[::6])  # about 17 % of the first answers are wrong
    answer(d, tmp_path, truth, wrong=wrong)
    result = CliRunner().invoke(main, ["step", str(d), "--json"])
    assert result.exit_code == 0, result.output
    assert "Warning:" in result.stderr and f"surelabel audit {d} --queue" in result.stderr
    assert json.loads(result.stdout)["warnings"]


def test_clean_validation_labels_raise_no_warning(fresh, tmp_path):
    d, truth = fresh
    answer(d, tmp_path, truth)
    result = CliRunner().invoke(main, ["step", str(d), "--json"])
    assert result.exit_code == 0 and "Warning" not in result.stderr
    assert json.loads(result.stdout)["warnings"] == []
