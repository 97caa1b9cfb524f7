"""Who may use a project's labeling page: per-annotator access tokens, kept hashed in the project's store.

``surelabel annotators add DIR NAME`` makes a random token for NAME, stores only its SHA-256
hash (in the store's ``meta`` table, key ``annotator_tokens``) and prints a link with the
token once; the plaintext token is never written anywhere. The web server
(:mod:`surelabel.web`) takes the token from that link (then from a cookie) or from an
``Authorization: Bearer`` header, and the name it belongs to is the annotator recorded with
every answer — nobody can answer, skip or undo as someone else. Tokens are required whenever
the server listens beyond localhost.

Names follow the web page's rule (:func:`check_name`): 1 to ``MAX_NAME`` characters, no
control characters, surrounding spaces dropped.

Examples
--------
>>> h = token_hash("abc")
>>> len(h), h == token_hash("abc"), h == token_hash("abd")
(64, True, False)
>>> check_name("  ana ")
'ana'
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import unicodedata
from typing import Any

from .exceptions import InputError
from .limits import MAX_NAME

__all__ = ["MAX_NAME", "MAX_TOKEN", "TOKENS_KEY", "check_name", "token_hash", "new_token", "annotators",
           "add_annotator", "remove_annotator", "annotator_for"]

#: Longest token accepted from a request (ours are 43 characters).
MAX_TOKEN = 200
#: The store's ``meta`` key holding ``{name: {"sha256": …, "created_at": …}}`` as JSON.
TOKENS_KEY = "annotator_tokens"


def check_name(name: Any, *, what: str = "annotator name") -> str:
    """``name`` without surrounding spaces, or :class:`InputError` saying what is wrong with it."""
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"The {what} must be a non-empty string.")
    name = name.strip()
    if len(name) > MAX_NAME:
        raise InputError(f"The {what} is too long ({len(name)} characters; at most {MAX_NAME}).")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name):
        raise InputError(f"The {what} must not contain control characters.")
    return name


def token_hash(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored (tokens are random, so no salt is needed)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def _read(store: Any, conn: Any) -> dict[str, dict[str, str]]:
    raw = store.get_meta(conn).get(TOKENS_KEY)
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise InputError(f"The project's {TOKENS_KEY} setting is damaged; "
                         "remove and re-add the annotators with surelabel annotators.") from None
    return data if isinstance(data, dict) else {}


def annotators(project: Any) -> dict[str, dict[str, str]]:
    """The annotators with a token: ``{name: {"sha256": …, "created_at": …}}`` (hashes only)."""
    with project.store.read() as conn:
        return _read(project.store, conn)


def add_annotator(project: Any, name: str, *, replace: bool = False) -> str:
    """Give ``name`` a new token and return it (its hash is stored; the token itself is not).

    An annotator who already has a token is refused unless ``replace`` (the old link stops working).
    """
    from .store import now_iso

    name = check_name(name)
    token = new_token()
    with project.store.write() as conn:
        data = _read(project.store, conn)
        if name in data and not replace:
            raise InputError(f"Annotator {name!r} already has a token; give --replace to issue a new one "
                             "(the old link stops working).")
        data[name] = {"sha256": token_hash(token), "created_at": now_iso()}
        project.store.set_meta(conn, TOKENS_KEY, json.dumps(data, sort_keys=True))
    return token


def remove_annotator(project: Any, name: str) -> None:
    """Withdraw ``name``'s token: their link stops working at once (their answers stay)."""
    name = check_name(name)
    with project.store.write() as conn:
        data = _read(project.store, conn)
        if name not in data:
            known = ", ".join(sorted(data)) or "none"
            raise InputError(f"No annotator {name!r} has a token (annotators with tokens: {known}).")
        del data[name]
        project.store.set_meta(conn, TOKENS_KEY, json.dumps(data, sort_keys=True))


def annotator_for(tokens: dict[str, dict[str, str]], token: str) -> str | None:
    """The name a token belongs to, or ``None``; compared in constant time against every stored hash."""
    if not token or len(token) > MAX_TOKEN:
        return None
    digest = token_hash(token)
    found = None
    for name, entry in tokens.items():
        if hmac.compare_digest(str(entry.get("sha256", "")), digest):
            found = name
    return found
