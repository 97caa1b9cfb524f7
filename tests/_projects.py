"""Helpers shared by the project tests (imported as ``_projects``; conftest puts tests/ on sys.path)."""

from __future__ import annotations

PG_ENV = "SURELABEL_TEST_POSTGRES_URL"
#: Four rounds on small_items(): nothing auto-labeled in round 0, then some in each of rounds 1-3.
PROJECT_SETTINGS = dict(epsilon=0.15, budget=240, validation_size=120, seed_size=20, batch_size=20, seed=0)


def small_items(n: int = 600):
    """A small two-class items table (unit ball in R^5) with ids, features f0..f4, a text and the true label."""
    from surelabel import datasets
    from surelabel.project import example_frame

    X, y = datasets.unit_ball(n, d=5, random_state=0)
    frame = example_frame(X, ["yes" if v else "no" for v in y])
    frame["text"] = [f"<b>item {i}</b> & more" for i in range(n)]
    return frame


def pg_url_with_schema(base: str, schema: str) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)
