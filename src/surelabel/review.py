"""Review queue: the least-certain labels, as a batch for people to look at again.

Two kinds of labels are doubtful in a TBAL run:

* **auto-labels close to their threshold** — they only just passed the certified cut, so
  they are the likeliest wrong ones among the auto-labels; the *slack* ``score - threshold``
  of the item's class orders them, smallest first;
* **human labels flagged by the audit** (:func:`surelabel.audit.find_label_issues`),
  ordered by issue score, most suspect first.

:func:`rank_review` puts both in one queue; ``by`` says which kind comes first (the other
fills the rest), as in the census study where the lowest-confidence 3 % of machine labels
were routed to reviewers (seed 004).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .exceptions import InputError

__all__ = ["rank_review", "REVIEW_ORDERS"]

REVIEW_ORDERS = ("confidence", "issue-score")


def _arr(x: ArrayLike | None, dtype: Any = None) -> np.ndarray:
    return np.empty(0, dtype=dtype or float) if x is None else np.asarray(x, dtype=dtype).ravel()


def rank_review(
    *,
    auto_indices: ArrayLike | None = None,
    auto_labels: ArrayLike | None = None,
    auto_scores: ArrayLike | None = None,
    auto_thresholds: ArrayLike | None = None,
    human_indices: ArrayLike | None = None,
    human_labels: ArrayLike | None = None,
    issue_scores: ArrayLike | None = None,
    suggested: ArrayLike | None = None,
    is_issue: ArrayLike | None = None,
    by: str = "confidence",
    n: int | None = None,
    exclude: ArrayLike | None = None,
):
    """Order doubtful labels for review.

    Parameters
    ----------
    auto_indices, auto_labels, auto_scores, auto_thresholds : array-like, shape (m,)
        Auto-labeled items: their position (or id), label, the score that admitted them and
        the threshold of their class in the round that admitted them.
    human_indices, human_labels, issue_scores, suggested, is_issue : array-like, shape (h,)
        Human-labeled items with the audit's output: issue score (higher = more suspect),
        suggested class and whether confident learning flagged them. Only flagged labels
        are queued (all of them when ``is_issue`` is omitted).
    by : {"confidence", "issue-score"}
        ``confidence``: auto-labels by slack first, then flagged human labels;
        ``issue-score``: flagged human labels first, then auto-labels.
    n : int, optional
        Queue length; at most the number of reviewable labels. Default: all of them.
    exclude : array-like, optional
        Indices already reviewed (left out).

    Returns
    -------
    pandas.DataFrame
        ``index``, ``source`` (``auto``/``human``), ``label``, ``key`` (slack or issue
        score), ``suggested`` (human labels) and ``reason``, in queue order.

    Examples
    --------
    >>> q = rank_review(auto_indices=[10, 11, 12], auto_labels=["a", "b", "a"],
    ...                 auto_scores=[0.95, 0.91, 0.99], auto_thresholds=[0.9, 0.9, 0.9],
    ...                 human_indices=[3], human_labels=["b"], issue_scores=[0.97],
    ...                 suggested=["a"], is_issue=[True], by="issue-score", n=3)
    >>> q["index"].tolist(), q["source"].tolist()
    ([3, 11, 10], ['human', 'auto', 'auto'])
    """
    import pandas as pd

    if by not in REVIEW_ORDERS:
        raise InputError(f"Unknown review order {by!r}. Allowed: {', '.join(REVIEW_ORDERS)}.")
    ai = _arr(auto_indices, object)
    al = _arr(auto_labels, object)
    ascore = _arr(auto_scores, float)
    athr = _arr(auto_thresholds, float)
    if not (ai.size == al.size == ascore.size == athr.size):
        raise InputError("auto_indices, auto_labels, auto_scores and auto_thresholds must have the same length.")
    hi = _arr(human_indices, object)
    hl = _arr(human_labels, object)
    hs = _arr(issue_scores, float)
    hsug = _arr(suggested, object) if suggested is not None else np.full(hi.size, None, dtype=object)
    hflag = _arr(is_issue, bool) if is_issue is not None else np.ones(hi.size, dtype=bool)
    if not (hi.size == hl.size == hs.size == hsug.size == hflag.size):
        raise InputError("human_indices, human_labels, issue_scores, suggested and is_issue must have the same length.")
    skip = set(_arr(exclude, object).tolist())

    slack = ascore - athr
    auto = pd.DataFrame(
        {
            "index": ai,
            "source": "auto",
            "label": al,
            "key": slack,
            "suggested": None,
            "reason": [
                f"auto-label {lab!r} only {s:.3g} above its class threshold {t:.3g}"
                for lab, s, t in zip(al.tolist(), slack.tolist(), athr.tolist())
            ],
        }
    )
    auto = auto.sort_values("key", kind="stable")
    keep = hflag
    human = pd.DataFrame(
        {
            "index": hi[keep],
            "source": "human",
            "label": hl[keep],
            "key": hs[keep],
            "suggested": hsug[keep],
            "reason": [
                f"audit: given {lab!r}, the model suggests {sug!r} (issue score {s:.3f})"
                for lab, sug, s in zip(hl[keep].tolist(), hsug[keep].tolist(), hs[keep].tolist())
            ],
        }
    )
    human = human.sort_values("key", ascending=False, kind="stable")
    parts = [auto, human] if by == "confidence" else [human, auto]
    parts = [p for p in parts if len(p)]
    if not parts:
        raise InputError("Nothing to review: there are no auto-labels and no labels flagged by the audit.")
    queue = pd.concat(parts, ignore_index=True)
    if skip:
        queue = queue[~queue["index"].isin(skip)].reset_index(drop=True)
    available = len(queue)
    if n is not None:
        if isinstance(n, bool) or int(n) != n or n < 1:
            raise InputError(f"The review size must be a positive number of labels. Got {n!r}.")
        if n > available:
            raise InputError(f"Cannot queue {n} labels for review: only {available} can be reviewed; lower --n.")
        queue = queue.iloc[: int(n)].reset_index(drop=True)
    return queue
