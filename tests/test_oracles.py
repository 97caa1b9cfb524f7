"""Simulated annotators: answer from the truth, count every label, make mistakes on request."""

from __future__ import annotations

import numpy as np
import pytest

from surelabel import SimulatedOracle


def test_answers_come_from_the_truth_and_are_counted():
    o = SimulatedOracle(np.array(["a", "b", "c", "a"]))
    assert o.label([3, 1]).tolist() == ["a", "b"]
    o.label([0])
    assert o.n_labels == 3


def test_uniform_noise_flips_about_the_requested_share_to_another_class():
    y = np.repeat(np.arange(4), 2500)
    o = SimulatedOracle(y, noise_rate=0.2, random_state=0)
    ans = o.label(np.arange(y.size))
    wrong = ans != y
    assert 0.18 < wrong.mean() < 0.22
    assert set(np.unique(ans[wrong]).tolist()) == {0, 1, 2, 3}


def test_confusion_noise_follows_the_matrix():
    y = np.zeros(4000, dtype=int)
    y[2000:] = 2
    conf = np.array([[0, 1, 0], [1, 0, 1], [0, 0, 0.0]])
    conf[2, 1] = 1.0
    o = SimulatedOracle(y, noise_rate=0.3, noise="confusion", confusion=conf, classes=[0, 1, 2], random_state=0)
    ans = o.label(np.arange(4000))
    assert set(np.unique(ans[:2000][ans[:2000] != 0]).tolist()) == {1}  # class 0 only ever becomes 1


def test_bad_noise_settings_are_refused():
    with pytest.raises(ValueError, match="noise_rate"):
        SimulatedOracle([0, 1], noise_rate=1.5)
    with pytest.raises(ValueError, match="confusion"):
        SimulatedOracle([0, 1], noise="confusion", noise_rate=0.1)


def test_class_dependent_noise_rates():
    y = np.repeat([0, 1, 2], 3000)
    conf = np.array([[0, 1.0, 0], [0, 0, 1.0], [1.0, 0, 0]])
    o = SimulatedOracle(y, noise_rate=[0.3, 0.0, 0.0], noise="confusion", confusion=conf, random_state=0)
    ans = o.label(np.arange(y.size))
    assert 0.27 < (ans[:3000] == 1).mean() < 0.33  # cats called dogs ...
    assert (ans[3000:] == y[3000:]).all()          # ... dogs and trucks never mistaken
    with pytest.raises(ValueError, match="one rate per class"):
        SimulatedOracle(y, noise_rate=[0.1, 0.1])
