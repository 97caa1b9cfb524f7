"""The review queue: auto-labels nearest their threshold and flagged human labels."""

from __future__ import annotations

import numpy as np
import pytest

from surelabel.exceptions import InputError
from surelabel.review import rank_review

AUTO = dict(auto_indices=[10, 11, 12, 13], auto_labels=["a", "b", "a", "b"],
            auto_scores=[0.95, 0.91, 0.99, 0.80], auto_thresholds=[0.9, 0.9, 0.9, 0.7])
HUMAN = dict(human_indices=[1, 2, 3], human_labels=["b", "a", "a"], issue_scores=[0.6, 0.99, 0.2],
             suggested=["a", "b", "b"], is_issue=[True, True, False])


def test_confidence_order_puts_auto_labels_nearest_their_class_threshold_first():
    q = rank_review(**AUTO, **HUMAN, by="confidence")
    assert q["index"].tolist() == [11, 10, 12, 13, 2, 1]
    assert np.allclose(q["key"][:4], [0.01, 0.05, 0.09, 0.10])
    assert q["reason"][0].startswith("auto-label 'b'")


def test_issue_score_order_puts_flagged_human_labels_first_and_skips_unflagged():
    q = rank_review(**AUTO, **HUMAN, by="issue-score", n=3)
    assert q["index"].tolist() == [2, 1, 11]
    assert q["source"].tolist() == ["human", "human", "auto"]
    assert "suggests 'b'" in q["reason"][0]


def test_already_reviewed_items_are_left_out():
    q = rank_review(**AUTO, by="confidence", exclude=[11])
    assert 11 not in q["index"].tolist() and len(q) == 3


@pytest.mark.parametrize(
    "kwargs,needle",
    [
        (dict(**AUTO, n=9), "only 4"),
        (dict(**AUTO, by="random"), "Unknown review order"),
        (dict(), "Nothing to review"),
        (dict(**AUTO, n=0), "positive"),
    ],
)
def test_impossible_queues_are_refused(kwargs, needle):
    with pytest.raises(InputError, match=needle):
        rank_review(**kwargs)
