"""The labeling project: the same engine steps as AutoLabeler, state derived from events, answers checked.

Every test runs on SQLite and (when SURELABEL_TEST_POSTGRES_URL is set, as in CI) PostgreSQL.
"""

from __future__ import annotations

import numpy as np
import pytest

from _projects import PROJECT_SETTINGS, small_items
from surelabel import AutoLabeler, SimulatedOracle
from surelabel.exceptions import InputError
from surelabel.models import make_model
from surelabel.project import Answer, Project, ProjectError, StaleAnswerError


def reference_run(items, settings):
    """What AutoLabeler does in memory with the same items, settings and seed."""
    X = items[[c for c in items.columns if c.startswith("f")]].to_numpy()
    y = items["label"].to_numpy()
    s = dict(settings)
    seed = s.pop("seed")
    labeler = AutoLabeler(make_model("logreg", seed), classes=["no", "yes"], random_state=seed, **s)
    return labeler.run(X, SimulatedOracle(y))


def answers_for(project, items, pending=None):
    truth = dict(zip(items["id"], items["label"]))
    pending = project.pending() if pending is None else pending
    return [Answer(p.item_id, truth[p.item_id]) for p in pending]


def test_a_simulated_project_gives_exactly_the_labels_of_autolabeler(make_project):
    items = small_items()
    project = make_project()
    status = project.simulate("label")
    ref = reference_run(items, PROJECT_SETTINGS)
    labels = project.labels()
    assert labels["label"].astype(object).where(labels["label"].notna(), None).tolist() == ref.labels.tolist()
    assert labels["source"].tolist() == ref.source.tolist()
    assert labels["round"].tolist() == ref.round.tolist()
    np.testing.assert_array_equal(labels["score"].to_numpy(), ref.scores)
    assert status["stop_reason"] == ref.stop_reason
    assert status["human_labels"] == {"validation": ref.n_human["validation"], "training": ref.n_human["training"],
                                      "total": ref.n_human["total"]}
    assert status["coverage"] == pytest.approx(ref.coverage)
    assert len(status["history"]) == len(ref.history) and status["n_auto"] > 0


def test_round_zero_queues_validation_then_seed_batches_drawn_like_autolabeler(make_project):
    project = make_project()
    pending = project.pending()
    assert [p.kind for p in pending] == ["validation"] * 120 + ["training"] * 20
    ref = reference_run(small_items(), PROJECT_SETTINGS)
    val = np.sort(ref.extra["validation_indices"])
    assert sorted(p.index for p in pending if p.kind == "validation") == val.tolist()
    assert {p.batch_id for p in pending} == {1, 2}


def test_step_refuses_while_answers_are_missing_and_partial_returns_them_to_the_pool(make_project):
    items = small_items()
    project = make_project()
    pending = project.pending()
    with pytest.raises(ProjectError, match="no answers yet"):
        project.step(partial=True)
    project.record_answers(answers_for(project, items, pending[:-5]))
    with pytest.raises(ProjectError, match="5 unanswered item"):
        project.step()
    result = project.step(partial=True)
    status = project.status()
    assert result.round == 0 and status["round"] == 1
    assert status["human_labels"]["total"] == len(pending) - 5
    returned = {p.item_id for p in pending[-5:]}
    labels = project.labels().set_index("id")
    assert set(labels.loc[list(returned), "source"]) <= {"unlabeled", "auto"}


def test_the_same_file_twice_changes_nothing_and_a_different_label_corrects_an_open_batch(make_project):
    items = small_items()
    project = make_project()
    answers = answers_for(project, items)
    first = project.record_answers(answers)
    again = project.record_answers(answers)
    assert (first.recorded, again.recorded, again.unchanged) == (len(answers), 0, len(answers))
    flip = Answer(answers[0].item_id, "yes" if answers[0].label == "no" else "no")
    fixed = project.record_answers([flip])
    assert fixed.corrected == 1
    assert project.labels().set_index("id").loc[flip.item_id, "label"] == flip.label


@pytest.mark.parametrize("bad, message", [
    (Answer("nope", "yes"), "unknown item id 'nope'"),
    (Answer("item-00000", "maybe"), "unknown class 'maybe'"),
])
def test_unknown_items_and_classes_are_refused_and_nothing_is_written(make_project, bad, message):
    items = small_items()
    project = make_project()
    good = answers_for(project, items)[:3]
    with pytest.raises(InputError, match=message):
        project.record_answers([*good, bad])
    assert project.status()["human_labels"]["total"] == 0


def test_answers_for_items_outside_the_pending_batches_are_stale(make_project):
    items = small_items()
    project = make_project()
    pending_ids = {p.item_id for p in project.pending()}
    outside = next(i for i in items["id"] if i not in pending_ids)
    with pytest.raises(StaleAnswerError, match="not in any pending batch"):
        project.record_answers([Answer(outside, "yes")])
    project.simulate("label")
    auto = project.labels().query("source == 'auto'").iloc[0]
    with pytest.raises(StaleAnswerError, match=f"auto-labeled in round {auto['round']}"):
        project.record_answers([Answer(auto["id"], "yes" if auto["label"] == "no" else "no")])


def test_a_reopened_project_sees_the_same_state(make_project, db_url):
    items = small_items()
    project = make_project()
    project.record_answers(answers_for(project, items))
    project.step()
    before = project.status()
    with Project.open(project.path, db=db_url) as again:
        assert again.status() == before
        assert [p.item_id for p in again.pending()] == [p.item_id for p in project.pending()]


def test_auto_label_events_carry_model_version_score_threshold_and_bound(make_project):
    items = small_items()
    project = make_project()
    project.record_answers(answers_for(project, items), annotator="ana")
    project.simulate("label")
    labels = project.labels()
    auto = labels[labels["source"] == "auto"]
    assert len(auto) > 0
    assert auto["model_version"].str.match(r"logreg@round\d+:[0-9a-f]{12}").all()
    assert (auto["score"] >= auto["threshold"]).all()
    assert (auto["certified_bound"] <= PROJECT_SETTINGS["epsilon"]).all()
    # the overall promise: every auto-label carries the bound on all auto-labels, and says so
    assert (auto["bound_covers"] == "all auto-labels").all()
    first = labels[labels["round"] == 0]
    human = first[first["source"].isin(["human", "validation"])]
    assert (human["annotator"] == "ana").all() and labels.loc[labels["source"] != "auto", "score"].isna().all()


def test_status_reports_the_contract_keys(make_project):
    project = make_project()
    s = project.status()
    for key in ("coverage", "human_labels", "budget_left", "round", "stop_reason", "per_class", "pending_batches"):
        assert key in s
    assert s["stop_reason"] is None and s["round"] == 0 and s["budget_left"] == 240
    assert set(s["human_labels"]) == {"validation", "training", "total"}
    assert [c["class"] for c in s["per_class"]] == ["no", "yes"]
    assert all({"threshold", "estimate", "estimate_interval", "certified_bound"} <= set(c) for c in s["per_class"])


def test_web_operations_lease_skip_and_undo(make_project):
    project = make_project()
    a = project.lease_next("ana")
    b = project.lease_next("bob")
    assert a.item_id != b.item_id
    assert project.lease_next("ana").item_id == a.item_id  # a reload gives ana the same item
    with pytest.raises(StaleAnswerError, match="being labeled by ana"):
        project.answer("bob", a.item_id, "yes")
    project.answer("ana", a.item_id, "yes", batch_id=a.batch_id)
    with pytest.raises(StaleAnswerError):
        project.answer("ana", a.item_id, "no", batch_id=a.batch_id)
    back = project.undo("ana")
    assert back.item_id == a.item_id and project.status()["human_labels"]["total"] == 0
    project.skip("bob", b.item_id)
    assert project.lease_next("bob").item_id not in (b.item_id, a.item_id)


def test_a_stopped_project_refuses_another_step(make_project):
    project = make_project()
    project.simulate("label")
    with pytest.raises(ProjectError, match="has stopped"):
        project.step()
    assert project.pending() == []


def test_creating_into_a_non_empty_folder_or_with_bad_settings_is_refused(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    items = small_items()
    with pytest.raises(ProjectError, match="not an empty folder"):
        Project.create(tmp_path / "full", items, id_column="id", feature_prefix="f", classes=["no", "yes"], budget=50)
    with pytest.raises(InputError, match="at least two"):
        Project.create(tmp_path / "a", items, id_column="id", feature_prefix="f", classes=["no"], budget=50)
    with pytest.raises(ValueError, match="Unknown model"):
        Project.create(tmp_path / "b", items, id_column="id", feature_prefix="f", classes=["no", "yes"], budget=50,
                       model="magic")


def test_an_embedding_column_of_vectors_serves_as_features(tmp_path):
    items = small_items()
    cols = [c for c in items.columns if c.startswith("f")]
    items["emb"] = list(items[cols].to_numpy())
    items = items.drop(columns=cols)
    items.to_parquet(tmp_path / "items.parquet")
    with Project.create(tmp_path / "p", tmp_path / "items.parquet", id_column="id", features=["emb"],
                        classes=["no", "yes"], **PROJECT_SETTINGS) as project:
        assert project.X.shape == (600, 5) and project.config["embedding_column"] == "emb"
        project.simulate("label")
        ref = reference_run(small_items(), PROJECT_SETTINGS)
        assert project.labels()["source"].tolist() == ref.source.tolist()
        assert "emb[0]" in project.display(0)["fields"]
