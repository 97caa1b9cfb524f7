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

What the server trusts (see "Security" in ``docs/project.md``):

* the ``Host`` header must name this server (localhost, 127.0.0.1, [::1], the ``--host``
  address, or an ``--allowed-host``): a hostile page cannot reach it by DNS rebinding (400);
* with annotator tokens (:mod:`surelabel.access`; required beyond localhost) the token —
  from the link ``/?token=…`` (kept in a cookie) or ``Authorization: Bearer`` — names the
  annotator; a request without a valid one gets 401, and acting as someone else (answering,
  skipping or undoing under another name) 403. Without tokens (localhost only) the name
  the page sends is taken as given, as before;
* images come only from the folders allowed at ``init`` or with ``--media-root``
  (:mod:`surelabel.media`); anything else is 403, never the file;
* bodies are at most :data:`MAX_BODY` bytes, names :data:`~surelabel.access.MAX_NAME`
  characters, ids and labels :data:`MAX_FIELD`.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, jsonify, redirect, render_template, request, send_file
from werkzeug.exceptions import HTTPException

from ..access import MAX_NAME, MAX_TOKEN, annotator_for, check_name
from ..exceptions import InputError, SurelabelError
from ..exchange import shortcut_keys
from ..limits import MAX_FIELD
from ..media import MediaPathError
from ..project import PendingItem, Project, ProjectError, StaleAnswerError
from ..store import ProjectBusyError

__all__ = ["create_app", "Labeling", "is_loopback", "MAX_BODY", "MAX_FIELD", "MAX_NAME"]

log = logging.getLogger(__name__)
#: Largest request body accepted (bytes); the page's requests are a few hundred bytes.
MAX_BODY = 64 * 1024
#: Cookie holding the annotator's token after they opened their link.
TOKEN_COOKIE = "surelabel_token"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


class ApiError(Exception):
    """A request the API refuses: its message and HTTP status go back as the one JSON error shape."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a ``--host`` value) is reachable only from this machine."""
    h = host.strip().strip("[]").lower()
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def _host_name(header: str) -> str:
    """The name in a ``Host`` header without its port: ``[::1]:8000`` → ``::1``, ``Ex.org:80`` → ``ex.org``."""
    h = header.strip().lower()
    if h.startswith("["):
        return h[1:h.find("]")] if "]" in h else h
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


def allowed_host_names(host: str, extra: Sequence[str] = ()) -> set[str]:
    """The ``Host`` names a server bound to ``host`` answers to (``*`` in ``extra``: any).

    Always localhost, 127.0.0.1 and ::1; the bound address; for a wildcard address
    (``0.0.0.0``, ``::``) also this machine's host name, fully qualified name and their addresses.
    """
    import socket

    names = set(LOCAL_HOSTS) | {_host_name(host)} | {_host_name(h) for h in extra if h.strip()}
    if host.strip("[]") in ("0.0.0.0", "::", ""):
        for n in {socket.gethostname(), socket.getfqdn()}:
            names.add(n.lower())
            try:
                names.update(str(info[4][0]).lower() for info in socket.getaddrinfo(n, None))
            except OSError:
                pass
    return {n for n in names if n}


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
            "pending_batches", "stop_reason", "per_class", "union_error_bound", "guarantee", "epsilon", "delta",
            "classes")
    from ..result import STOP_REASONS

    out = {k: status[k] for k in keep}
    code = status["stop_reason"]
    out["stop_reason_text"] = STOP_REASONS.get(code, code.replace("_", " ")) if code else None
    last = status["history"][-1] if status["history"] else None
    out["last_round"] = None if last is None else {
        k: last.get(k) for k in ("round", "n_auto_labeled", "n_auto_labeled_total", "coverage")}
    out["stepping"] = lab.stepping
    out["error"] = lab.last_error
    return out


def create_app(directory: str | Path, *, db: str | None = None, start_rounds: bool = True,
               host: str = "127.0.0.1", allowed_hosts: Sequence[str] = (), media_roots: Sequence[str | Path] = (),
               require_tokens: bool | None = None) -> Flask:
    """The Flask app for one project folder (tests use its ``test_client()``).

    ``host`` is the address the server listens on: beyond localhost, annotator tokens are
    required (``require_tokens`` defaults to that) and a project without any is refused with
    :class:`InputError`. ``allowed_hosts`` adds ``Host`` header names (``*``: any; e.g. the
    public name behind a reverse proxy); ``media_roots`` adds folders images may be served from.
    """
    if require_tokens is None:
        require_tokens = not is_loopback(host)
    app = Flask(__name__)
    app.config["JSON_SORT_KEYS"] = False
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    lab = Labeling(directory, db=db)
    project = lab.project
    if require_tokens:
        from ..access import annotators

        if not annotators(project):
            lab.shutdown()
            where = ("beyond localhost" if not is_loopback(host)
                     else "with --require-tokens, --allowed-host or --trusted-proxy")
            raise InputError(f"Serving {where} needs annotator tokens and {directory} has none; "
                             f"add one with: surelabel annotators add {directory} NAME")
    app.config["SURELABEL"] = lab
    keys = shortcut_keys(project.classes)
    hosts = allowed_host_names(host, allowed_hosts)
    any_host = "*" in {h.strip() for h in allowed_hosts}
    extra_roots = [Path(r) for r in media_roots]

    def token_from_request() -> str | None:
        auth = request.headers.get("Authorization", "")
        if auth[:7].lower() == "bearer ":
            return auth[7:].strip()
        if request.path == "/" and "token" in request.args:
            return request.args.get("token", "")
        return request.cookies.get(TOKEN_COOKIE)

    def identity() -> str | None:
        """The annotator the request's token names (None: no token, allowed only without required tokens)."""
        if "surelabel_who" not in g:
            g.surelabel_who = _identity()
        return g.surelabel_who

    def _identity() -> str | None:
        token = token_from_request()
        if token is None:
            if require_tokens:
                raise ApiError("This labeling page needs your access link (…/?token=…); ask the project's owner "
                               "for one (surelabel annotators add).", 401)
            return None
        if len(token) > MAX_TOKEN:
            raise ApiError(f"The access token is too long (at most {MAX_TOKEN} characters).", 401)
        from ..access import annotators

        name = annotator_for(annotators(project), token)
        if name is None:
            raise ApiError("This access link is not valid (or was withdrawn); ask the project's owner for a new one.",
                           401)
        return name

    def body() -> dict[str, Any]:
        if not request.is_json:
            raise ApiError("Send a JSON body (Content-Type: application/json).", 415)
        try:
            data = request.get_json(silent=True)
        except RecursionError:  # json's decoder recurses once per nesting level
            raise ApiError("Malformed JSON: nested too deeply.") from None
        if not isinstance(data, dict):
            raise ApiError("Malformed JSON: expected an object.")
        return data

    def text_field(data: dict[str, Any], key: str, *, max_len: int = MAX_FIELD) -> str:
        """A string field taken verbatim (ids are compared exactly), within ``max_len`` characters."""
        v = data.get(key)
        if not isinstance(v, str) or not v:
            raise ApiError(f"'{key}' must be a non-empty string.")
        if len(v) > max_len:
            raise ApiError(f"'{key}' is too long ({len(v)} characters; at most {max_len}).")
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            raise ApiError(f"'{key}' is not valid text (it holds a lone surrogate).") from None
        return v

    def annotator(data: dict[str, Any]) -> str:
        """Who acts: the token's annotator (a different 'annotator' in the body is 403), else the body's name."""
        me = identity()
        given = data.get("annotator")
        if me is not None:
            if given is not None and (not isinstance(given, str) or given.strip() != me):
                raise ApiError(f"You are signed in as {me!r}; you cannot act as another annotator.", 403)
            return me
        if isinstance(given, str) and len(given) > MAX_NAME:
            raise ApiError(f"'annotator' is too long ({len(given)} characters; at most {MAX_NAME}).")
        try:
            return check_name(given, what="'annotator'")
        except InputError as exc:
            raise ApiError(str(exc)) from None

    @app.before_request
    def guard() -> Response | None:
        """Refuse foreign Host headers (DNS rebinding); turn a link's token into a cookie."""
        name = _host_name(request.host or "")
        if not any_host and name not in hosts:
            raise ApiError(f"Host {name[:100]!r} is not served here; if that name is yours, restart with "
                           f"--allowed-host {name[:100]}.", 400)
        if request.path == "/" and request.method == "GET" and "token" in request.args:
            token = request.args.get("token", "")
            identity()  # 401 unless valid
            resp = redirect("./", 303)
            resp.set_cookie(TOKEN_COOKIE, token, max_age=30 * 24 * 3600, httponly=True, samesite="Lax",
                            secure=request.scheme == "https")
            return resp
        if request.path == "/" or request.path.startswith("/api/"):
            identity()  # with tokens required, nothing but the static files is open without one
        return None

    @app.after_request
    def headers(resp: Response) -> Response:
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data: https: http:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
        )
        resp.headers["Referrer-Policy"] = "no-referrer"
        if request.path.startswith("/api/") or request.path == "/":
            resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> tuple[Response, int]:
        return jsonify(ok=False, error=str(exc), status=exc.status), exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        code = exc.code or 500
        text = exc.description or exc.name
        if code == 413:
            text = f"The request is too large (at most {MAX_BODY // 1024} KB)."
        return jsonify(ok=False, error=text, status=code), code

    @app.errorhandler(Exception)
    def any_error(exc: Exception) -> tuple[Response, int]:
        if isinstance(exc, StaleAnswerError):
            return jsonify(ok=False, error=str(exc), status=409), 409
        if isinstance(exc, ProjectBusyError):
            return jsonify(ok=False, error=str(exc), status=503), 503
        if isinstance(exc, MediaPathError):
            return jsonify(ok=False, error=str(exc).splitlines()[0], status=403), 403
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
        return jsonify(ok=True, **_brief(project.status(), lab), you=identity())

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
        if len(label) > MAX_FIELD:
            raise ApiError(f"'label' is too long ({len(label)} characters; at most {MAX_FIELD}).")
        batch = data.get("batch")
        if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int)):
            raise ApiError("'batch' must be an integer.")
        seconds = data.get("seconds")
        if seconds is not None:
            try:  # a 400-digit integer does not fit a float
                secs = None if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) else float(seconds)
            except OverflowError:
                secs = None
            if secs is None or not math.isfinite(secs) or secs < 0:
                raise ApiError("'seconds' must be a number of seconds >= 0.")
            seconds = secs
        summary = project.answer(who, item_id, label, batch_id=batch, seconds=seconds)
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
            raise ApiError(f"Unknown item id {item_id[:MAX_FIELD]!r}.", 404)
        path = project.image_path(idx, media_roots=extra_roots)  # MediaPathError (403) outside the allowed folders
        if path is None or not path.is_file():
            raise ApiError(f"Item {item_id!r} has no image file.", 404)
        return send_file(path)

    if start_rounds:
        lab.maybe_step()  # a round left unfinished by a stopped server is run now
    return app
