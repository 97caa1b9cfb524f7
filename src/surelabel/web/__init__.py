"""The labeling web page: ``surelabel serve DIR`` (Flask; ``pip install 'surelabel[web]'``).

One HTML page (``templates/index.html`` + ``static/app.js``) and a small JSON API, all thin
over :class:`~surelabel.project.Project`::

    GET  /              the page
    GET  /api/status    progress: labels given and left, coverage, bound per class, round
    POST /api/next      {"annotator"} → the next item, leased to that person for a few minutes
    POST /api/answer    {"annotator", "item_id", "batch", "label", "seconds"} → recorded at once
    POST /api/skip      {"annotator", "item_id"} → offered to others first
    POST /api/undo      {"annotator"} → the person's last answer taken back (while its batch is open)
    GET  /api/image     ?id=ITEM → the item's image file

Every error is one JSON shape, ``{"ok": false, "error": "...", "status": 4xx}``: malformed or
stale submissions get a 4xx and store nothing; nothing ever answers with a traceback. When the
last answer of a round arrives, the round runs in a background thread (under the project's
step lock, so a CLI ``step`` at the same time is safe) and the page moves on when it is done.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, render_template, request, send_file
from werkzeug.exceptions import HTTPException

from ..exceptions import InputError, SurelabelError
from ..project import PendingItem, Project, ProjectError, StaleAnswerError
from ..store import ProjectBusyError

__all__ = ["create_app", "Labeling"]

log = logging.getLogger(__name__)
MAX_NAME = 80


class ApiError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class Labeling:
    """The web page's hold on a project, and the background thread that runs rounds."""

    def __init__(self, directory: str | Path, *, db: str | None = None) -> None:
        self.directory = Path(directory)
        self.project = Project.open(directory, db=db)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.last_error: str | None = None

    @property
    def stepping(self) -> bool:
        t = self._thread
        return t is not None and t.is_alive()

    def maybe_step(self) -> bool:
        """Start the next round in the background if the current one is complete."""
        with self._lock:
            if self._closed or self.stepping:
                return self.stepping
            if not self.project.round_ready():
                return False
            self.last_error = None
            self._thread = threading.Thread(target=self._run_rounds, name="surelabel-round", daemon=True)
            self._thread.start()
            return True

    def _run_rounds(self) -> None:
        for _ in range(1000):
            if self._closed:
                return
            try:
                if not self.project.round_ready():
                    return
                self.project.step(expect_round=self.project.status()["round"], lock_timeout=30)
            except ProjectBusyError:
                time.sleep(0.5)  # another process is running the round: wait for it
            except SurelabelError as exc:
                self.last_error = str(exc)
                return
            except Exception as exc:  # noqa: BLE001  (reported on the page, never raised into a request)
                log.exception("the background round failed")
                self.last_error = f"The round failed: {type(exc).__name__}: {exc}"
                return

    def wait(self, timeout: float = 60.0) -> None:
        """Block until a background round (if any) finished (tests and shutdown)."""
        t = self._thread
        if t is not None:
            t.join(timeout)

    def shutdown(self) -> None:
        self._closed = True
        self.wait(30)
        self.project.close()


def _item_json(project: Project, p: PendingItem) -> dict[str, Any]:
    shown = project.display(p.index)
    out = {**shown, "batch": p.batch_id, "kind": p.kind, "round": p.round}
    if "image" in shown and shown["image"] and "://" not in shown["image"]:
        out["image"] = f"api/image?id={_quote(p.item_id)}"
    return out


def _quote(s: str) -> str:
    from urllib.parse import quote

    return quote(s, safe="")


def _brief(status: dict[str, Any], lab: Labeling) -> dict[str, Any]:
    keep = ("round", "coverage", "n_auto", "n_items", "human_labels", "budget", "budget_left", "pending",
            "pending_batches", "stop_reason", "per_class", "union_error_bound", "epsilon", "delta", "classes")
    out = {k: status[k] for k in keep}
    out["stepping"] = lab.stepping
    out["error"] = lab.last_error
    return out


def shortcut_keys(classes: list[str]) -> list[str]:
    """Keyboard shortcuts: the class's own digit when every class is one digit, else 1–9 (and 0 for a tenth).

    Examples
    --------
    >>> shortcut_keys(["cat", "dog"]), shortcut_keys(["0", "1", "7"])
    (['1', '2'], ['0', '1', '7'])
    """
    if all(len(c) == 1 and c.isdigit() for c in classes) and len(set(classes)) == len(classes):
        return list(classes)
    return [str(i + 1) if i < 9 else ("0" if i == 9 else "") for i in range(len(classes))]


def create_app(directory: str | Path, *, db: str | None = None, start_rounds: bool = True) -> Flask:
    """The Flask app for one project folder (tests use its ``test_client()``)."""
    app = Flask(__name__)
    app.config["JSON_SORT_KEYS"] = False
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    lab = Labeling(directory, db=db)
    app.config["SURELABEL"] = lab
    project = lab.project
    keys = shortcut_keys(project.classes)

    def body() -> dict[str, Any]:
        if not request.is_json:
            raise ApiError("Send a JSON body (Content-Type: application/json).", 415)
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ApiError("Malformed JSON: expected an object.")
        return data

    def text_field(data: dict[str, Any], key: str, *, max_len: int = 1000) -> str:
        v = data.get(key)
        if not isinstance(v, str) or not v.strip():
            raise ApiError(f"'{key}' must be a non-empty string.")
        if len(v) > max_len:
            raise ApiError(f"'{key}' is too long (at most {max_len} characters).")
        return v.strip()

    def annotator(data: dict[str, Any]) -> str:
        return text_field(data, "annotator", max_len=MAX_NAME)

    @app.after_request
    def headers(resp: Response) -> Response:
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data: https: http:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
        )
        resp.headers["Referrer-Policy"] = "no-referrer"
        if request.path.startswith("/api/"):
            resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> tuple[Response, int]:
        return jsonify(ok=False, error=str(exc), status=exc.status), exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        code = exc.code or 500
        return jsonify(ok=False, error=exc.description or exc.name, status=code), code

    @app.errorhandler(Exception)
    def any_error(exc: Exception) -> tuple[Response, int]:
        if isinstance(exc, StaleAnswerError):
            return jsonify(ok=False, error=str(exc), status=409), 409
        if isinstance(exc, ProjectBusyError):
            return jsonify(ok=False, error=str(exc), status=503), 503
        if isinstance(exc, (InputError, ValueError, TypeError)):
            return jsonify(ok=False, error=str(exc).splitlines()[0], status=400), 400
        if isinstance(exc, (ProjectError, SurelabelError)):
            return jsonify(ok=False, error=str(exc).splitlines()[0], status=409), 409
        log.exception("unexpected error")
        return jsonify(ok=False, error="Internal error; see the server's log.", status=500), 500

    @app.get("/")
    def index() -> str:
        return render_template("index.html", name=lab.directory.name, choices=list(zip(project.classes, keys)))

    @app.get("/api/status")
    def status() -> Response:
        return jsonify(ok=True, **_brief(project.status(), lab))

    @app.post("/api/next")
    def next_item() -> Response:
        who = annotator(body())
        p = project.lease_next(who)
        if p is None:
            stepping = lab.maybe_step()
            s = project.status()
            reason = "stopped" if s["stop_reason"] else ("stepping" if stepping or lab.stepping else "waiting")
            return jsonify(ok=True, item=None, reason=reason, status=_brief(s, lab))
        return jsonify(ok=True, item=_item_json(project, p))

    @app.post("/api/answer")
    def answer() -> Response:
        data = body()
        who = annotator(data)
        item_id = text_field(data, "item_id")
        label = data.get("label")
        if not isinstance(label, str):
            raise ApiError("'label' must be one of the classes, as a string.")
        batch = data.get("batch")
        if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int)):
            raise ApiError("'batch' must be an integer.")
        seconds = data.get("seconds")
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))
                                    or not math.isfinite(seconds) or seconds < 0):
            raise ApiError("'seconds' must be a number of seconds >= 0.")
        summary = project.answer(who, item_id, label, batch_id=batch,
                                 seconds=None if seconds is None else float(seconds))
        stepping = lab.maybe_step() if summary.round_complete else False
        return jsonify(ok=True, pending_left=summary.pending_left, round_complete=summary.round_complete,
                       stepping=stepping)

    @app.post("/api/skip")
    def skip() -> Response:
        data = body()
        project.skip(annotator(data), text_field(data, "item_id"))
        return jsonify(ok=True)

    @app.post("/api/undo")
    def undo() -> Response:
        p = project.undo(annotator(body()))
        return jsonify(ok=True, item=_item_json(project, p))

    @app.get("/api/image")
    def image() -> Response:
        item_id = request.args.get("id", "")
        idx = project.index_of(item_id)
        if idx is None:
            raise ApiError(f"Unknown item id {item_id!r}.", 404)
        path = project.image_path(idx)
        if path is None or not path.is_file():
            raise ApiError(f"Item {item_id!r} has no image file.", 404)
        return send_file(path.resolve())

    if start_rounds:
        lab.maybe_step()  # a round left unfinished by a stopped server is run now
    return app
