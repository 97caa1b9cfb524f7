"""Confidence scores and query strategies: pure functions with the documented order."""

from __future__ import annotations

import numpy as np
import pytest

from surelabel import query, scores

P = np.array([[0.7, 0.2, 0.1], [0.4, 0.5, 0.1], [0.34, 0.33, 0.33], [1.0, 0.0, 0.0]])


def test_every_score_puts_the_sure_item_first_and_the_unsure_last():
    for name in ("max_proba", "margin", "neg_entropy"):
        s = scores.get_score(name)(P)
        assert np.argmax(s) == 3, name
        assert np.argmin(s) == 2, name


def test_energy_uses_logits():
    logits = np.log(P + 1e-12)
    assert scores.energy(logits).shape == (4,)


def test_binary_decision_function_gives_a_score_monotone_in_the_absolute_margin():
    d = np.array([-3.0, -0.5, 0.1, 2.0])
    s = scores.max_proba(scores.proba_from_decision(d))
    assert np.array_equal(np.argsort(s), np.argsort(np.abs(d)))


def test_unknown_names_are_refused_with_the_allowed_list():
    with pytest.raises(ValueError, match="Allowed"):
        scores.get_score("confidence")
    with pytest.raises(ValueError, match="Allowed"):
        query.get_query("uncertainty")


@pytest.mark.parametrize(
    "name,expected",
    [("margin", [2, 1]), ("least_confident", [2, 1]), ("entropy", [2, 1])],
)
def test_uncertainty_strategies_ask_about_the_least_certain_items(name, expected):
    assert query.get_query(name)(P, 2).tolist() == expected


def test_random_query_is_reproducible_and_without_repeats():
    p = np.full((100, 2), 0.5)
    a = query.random(p, 30, random_state=1)
    assert np.array_equal(a, query.random(p, 30, random_state=1))
    assert np.unique(a).size == 30


def test_margin_random_draws_among_the_factor_times_b_smallest_margins():
    rng = np.random.default_rng(0)
    p1 = rng.random(500)
    p = np.column_stack([p1, 1 - p1])
    m = scores.margin(p)
    shortlist = set(np.argsort(m)[:40].tolist())
    for seed in range(5):
        picked = query.margin_random(p, 20, random_state=seed, factor=2)
        assert picked.size == 20 and set(picked.tolist()) <= shortlist


def test_a_batch_larger_than_the_candidates_returns_them_all():
    assert sorted(query.margin(P, 10).tolist()) == [0, 1, 2, 3]
