"""Crash points for the durability tests: ``SURELABEL_CRASH_AT=<point>[:<n>]``.

When the variable names a point, the process kills itself with ``SIGKILL`` the ``n``-th time
(default: the first) it passes that point — no ``finally`` block, no rollback, no flush: the
same as a power cut or an out-of-memory kill. Unset (always, outside the tests), a crash point
costs one dictionary look-up.

Points used by the store and the project (see ``docs/project.md``)::

    init.write            creating a project, between writes
    answers.write         recording answers (import, simulate, web), between rows
    answers.commit        just before the answers' transaction commits
    answers.done          just after it committed, before anything is printed
    step.compute          after a round was computed, before its transaction starts
    step.write            writing a round, between rows
    step.commit           just before the round's transaction commits
    step.done             just after it committed

Examples
--------
>>> crash_point("answers.write")   # nothing happens unless SURELABEL_CRASH_AT names it
"""

from __future__ import annotations

import os
import signal

__all__ = ["crash_point", "ENV"]

ENV = "SURELABEL_CRASH_AT"
_hits: dict[str, int] = {}


def _target() -> tuple[str, int] | None:
    spec = os.environ.get(ENV, "").strip()
    if not spec:
        return None
    name, _, n = spec.partition(":")
    return name, int(n) if n.strip().isdigit() else 1


def crash_point(name: str) -> None:
    """Kill this process with SIGKILL if ``SURELABEL_CRASH_AT`` says so (see the module doc)."""
    target = _target()
    if target is None or target[0] != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] == target[1]:
        os.kill(os.getpid(), signal.SIGKILL)
