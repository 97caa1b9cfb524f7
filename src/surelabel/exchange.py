"""Files exchanged with people and tools: batches handed out, answers read back, labels exported.

Answers are read from

* **CSV** — columns ``id`` (or the project's id column, or ``item_id``) and ``label``;
  optional ``annotator`` and ``seconds`` (or ``lead_time``). Rows whose label is empty are
  not answers yet and are passed over. This is the file ``surelabel next --format csv``
  writes, with the ``label`` column filled in.
* **JSON lines** — one object per line with the same keys.
* **Label Studio JSON export** — a list of tasks; each task's ``data.item_id`` (or the id
  column, or ``data.id``) names the item, its latest annotation that is not cancelled gives
  the label (``result[].value.choices``), ``completed_by`` the annotator (the user's e-mail or
  name when the export has it — ``completed_by`` as an object, or ``created_username`` — else
  the user id) and ``lead_time`` the labeling time. Predictions are ignored: they are not human
  answers. The flat JSON-MIN
  export (``item_id``, ``label``, ``annotator``, ``lead_time``) is read too.

Every row is checked before anything is recorded; an error names the file, the row (or line,
or task) and the problem. Ids are compared exactly as written (``0007`` is not ``7``, and
spaces at either end count); annotator names are at most :data:`~surelabel.limits.MAX_NAME`
characters and other fields at most :data:`~surelabel.limits.MAX_FIELD`, as on the web page.

CSV files written for people (``next --format csv``, ``export`` to ``.csv``) are safe to open
in a spreadsheet: a text cell that would start a formula (``=``, ``+``, ``-``, ``@``, a tab or
a carriage return — pure numbers such as ``-1`` excepted) is written with one ``'`` in front,
as spreadsheet-safe exporters do (:func:`csv_cell`). Reading such a CSV back removes exactly
that one ``'`` (:func:`csv_uncell`), so ids and labels round-trip byte for byte.

Examples
--------
>>> label_config(["cat", "dog"], "text").splitlines()[1].strip()
'<Text name="text" value="$text"/>'
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd

from .exceptions import InputError
from .limits import MAX_FIELD, MAX_NAME, short

if TYPE_CHECKING:  # pragma: no cover
    from .project import PendingItem, Project

__all__ = ["read_answers", "write_batch", "write_labels", "label_config", "csv_cell", "csv_uncell",
           "HANDOUT_FORMATS", "EXPORT_FORMATS"]

HANDOUT_FORMATS = ("csv", "jsonl", "labelstudio")
EXPORT_FORMATS = ("parquet", "csv", "jsonl", "labelstudio")
_ID_KEYS = ("item_id", "id")
_TIME_KEYS = ("seconds", "lead_time")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _formula_like(text: str) -> bool:
    core = text.lstrip("'")
    return core.startswith(_FORMULA_START) and not _NUMBER.fullmatch(core)


def csv_cell(value: Any) -> Any:
    """A text cell made safe for a spreadsheet: one ``'`` before what would start a formula.

    Text that (after any ``'`` it already starts with) begins with ``= + - @``, a tab or a
    carriage return, and is not a plain number, gets one more ``'``; everything else is kept.
    :func:`csv_uncell` undoes exactly this, so the pair is a bijection on text.

    Examples
    --------
    >>> csv_cell("=cmd|' /C calc'!A0"), csv_cell("-1"), csv_cell("cat")
    ("'=cmd|' /C calc'!A0", '-1', 'cat')
    >>> csv_uncell(csv_cell("'=x")) == "'=x"
    True
    """
    return "'" + value if isinstance(value, str) and _formula_like(value) else value


def csv_uncell(value: Any) -> Any:
    """The text :func:`csv_cell` was given: one leading ``'`` removed where :func:`csv_cell` adds one."""
    return value[1:] if isinstance(value, str) and value.startswith("'") and _formula_like(value) else value


def _safe_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text cell passed through :func:`csv_cell` (numbers are left alone)."""
    out = frame.copy()
    for col in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col])):
            out[col] = out[col].astype(object).map(csv_cell)
    out.columns = [csv_cell(str(c)) for c in out.columns]
    return out


# ---------------------------------------------------------------------- reading answers


def read_answers(path: str | Path, project: Project) -> tuple[list[Any], str]:
    """``(answers, channel)`` from a CSV, JSONL or Label Studio JSON file; raises on the first bad row."""
    from .project import Answer  # noqa: F401  (the type of the returned rows)

    path = Path(path)
    if not path.exists():
        raise InputError(f"File {path} not found; check the path.")
    if path.is_dir():
        raise InputError(f"{path} is a folder; give an answers file (.csv, .jsonl or Label Studio .json).")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson", ".json"):
        raise InputError(f"Cannot read answers from {path}: use a .csv, .jsonl or Label Studio .json file.")
    raw = path.read_bytes()
    if not raw.strip():
        raise InputError(f"{path} is empty; it holds no answers.")
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}).") from None
    id_keys = tuple(dict.fromkeys(("item_id", project.config["id_column"], "id")))
    if suffix == ".csv":
        answers = _from_csv(path, content, id_keys)
        channel = "file"
    elif suffix in (".jsonl", ".ndjson"):
        answers = _from_records(path, _jsonl_rows(path, content), id_keys, unit="line")
        channel = "file"
    else:
        try:
            doc = json.loads(content)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: malformed JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}).") from None
        except RecursionError:
            raise InputError(f"{path}: JSON nested too deeply to be a Label Studio export.") from None
        if isinstance(doc, dict):
            doc = [doc]
        if not isinstance(doc, list):
            raise InputError(f"{path}: expected a Label Studio export (a JSON list of tasks).")
        if not doc:
            raise InputError(f"{path} holds no tasks.")
        if all(isinstance(t, dict) and ("data" in t or "annotations" in t) for t in doc):
            answers = _from_labelstudio(path, doc, id_keys)
        else:
            answers = _from_records(path, [(i + 1, t) for i, t in enumerate(doc)], ("item_id", *id_keys[1:]),
                                    unit="task")
        channel = "labelstudio"
    if not answers:
        raise InputError(f"{path} holds no answers (every label is empty).")
    return answers, channel


def _answer(path: Path, where: str, item_id: Any, label: Any, annotator: Any, seconds: Any) -> Any:
    from .project import Answer

    if item_id is None or (isinstance(item_id, float) and math.isnan(item_id)) or str(item_id).strip() == "":
        raise InputError(f"{path}, {where}: the item id is empty.")
    if isinstance(item_id, (dict, list)):
        raise InputError(f"{path}, {where}: the item id must be text or a number, got {type(item_id).__name__}.")
    for what, value, limit in (("item id", item_id, MAX_FIELD), ("label", label, MAX_FIELD),
                               ("annotator name", annotator, MAX_NAME)):
        if value is not None and len(str(value)) > limit:
            raise InputError(f"{path}, {where}: the {what} is {len(value)} characters long; at most {limit} "
                             "are allowed.")
    secs = None
    if seconds is not None and not (isinstance(seconds, str) and not seconds.strip()):
        try:
            secs = float(seconds)
        except (TypeError, ValueError):
            raise InputError(f"{path}, {where}: labeling time {short(seconds)} is not a number of seconds.") from None
        if not math.isfinite(secs) or secs < 0:
            raise InputError(f"{path}, {where}: labeling time must be a number of seconds >= 0. "
                             f"Got {short(seconds)}.")
    ann = None if annotator is None or str(annotator).strip() == "" else str(annotator).strip()
    return Answer(item_id=_id_text(item_id), label=_label_text(label), annotator=ann, seconds=secs,
                  where=f"{path}, {where}")


def _id_text(v: Any) -> str:
    """The id exactly as written: text as is (spaces kept), a JSON number as Python writes it."""
    return v if isinstance(v, str) else str(v)


def _label_text(v: Any) -> str:
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def _empty(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


def _pick(columns: Any, keys: tuple[str, ...]) -> str | None:
    return next((k for k in keys if k in columns), None)


def _check_duplicates(path: Path, answers: list[Any]) -> None:
    first: dict[str, str] = {}
    for a in answers:
        if a.item_id in first:
            raise InputError(f"{a.where}: item {short(a.item_id)} is answered twice in {path.name} "
                             f"(also at {first[a.item_id].split(', ', 1)[-1]}); keep one answer per item.")
        first[a.item_id] = a.where


def _from_csv(path: Path, content: str, id_keys: tuple[str, ...]) -> list[Any]:
    import io

    try:
        frame = pd.read_csv(io.StringIO(content), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"Cannot read {path}: {reason}.") from None
    frame.columns = [csv_uncell(str(c).strip()) for c in frame.columns]
    if frame.shape[0] == 0:
        raise InputError(f"{path} has a header but no rows; it holds no answers.")
    id_col = _pick(frame.columns, id_keys)
    if id_col is None or "label" not in frame.columns:
        raise InputError(f"{path} has the wrong columns: answers need an 'id' column and a 'label' column. "
                         f"Found: {', '.join(frame.columns[:20])}.")
    ann_col = _pick(frame.columns, ("annotator",))
    time_col = _pick(frame.columns, _TIME_KEYS)
    answers = []
    for i, row in enumerate(frame.itertuples(index=False), start=2):  # row 1 is the header
        rec = {k: csv_uncell(v) for k, v in zip(frame.columns, row)}
        if _empty(rec["label"]):
            continue
        answers.append(_answer(path, f"row {i}", rec[id_col], rec["label"], rec.get(ann_col) if ann_col else None,
                               rec.get(time_col) if time_col else None))
    _check_duplicates(path, answers)
    return answers


def _jsonl_rows(path: Path, content: str) -> list[tuple[int, Any]]:
    rows = []
    for lineno, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append((lineno, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}, line {lineno}: malformed JSON ({exc.msg}).") from None
        except RecursionError:
            raise InputError(f"{path}, line {lineno}: JSON nested too deeply to be an answer.") from None
    if not rows:
        raise InputError(f"{path} is empty; it holds no answers.")
    return rows


def _from_records(path: Path, rows: list[tuple[int, Any]], id_keys: tuple[str, ...], *, unit: str) -> list[Any]:
    answers = []
    for n, rec in rows:
        where = f"{unit} {n}"
        if not isinstance(rec, dict):
            raise InputError(f"{path}, {where}: expected a JSON object with 'id' and 'label'.")
        id_key = _pick(rec, id_keys)
        if id_key is None or "label" not in rec:
            raise InputError(f"{path}, {where} has the wrong keys: answers need 'id' and 'label'. "
                             f"Found: {', '.join(map(str, list(rec)[:20]))}.")
        label = rec["label"]
        if isinstance(label, dict) and "choices" in label:  # JSON-MIN with a choices object
            label = label["choices"]
        if isinstance(label, list):
            if len(label) != 1:
                raise InputError(f"{path}, {where}: expected one label, got {len(label)}.")
            label = label[0]
        if _empty(label):
            continue
        if isinstance(label, (dict, list)):
            raise InputError(f"{path}, {where}: the label must be text, got {type(label).__name__}.")
        annotator = rec.get("annotator")
        if isinstance(annotator, dict):
            annotator = _person(annotator)
        seconds = next((rec[k] for k in _TIME_KEYS if k in rec), None)
        answers.append(_answer(path, where, rec[id_key], label, annotator, seconds))
    _check_duplicates(path, answers)
    return answers


def _person(v: Any) -> str | None:
    """``completed_by`` as Label Studio writes it: a user id, or an object (``export?include=completed_by``)
    with ``email`` / ``first_name`` / ``last_name`` / ``username`` / ``id``; the e-mail wins, then the
    name, then the id."""
    if v is None or isinstance(v, (list, bool)):
        return None
    if isinstance(v, dict):
        name = " ".join(str(v.get(k) or "").strip() for k in ("first_name", "last_name")).strip()
        for value in (v.get("email"), name, v.get("username"), v.get("id")):
            if value not in (None, "") and not isinstance(value, (dict, list)):
                return str(value).strip() or None
        return None
    return str(v)


def _created_user(ann: dict[str, Any], user_id: str | None) -> str | None:
    """The e-mail (or name) in ``created_username`` (Label Studio's ``"First Last email, id"``) for user ``user_id``."""
    text = ann.get("created_username")
    if not isinstance(text, str) or not text.strip():
        return None
    head, sep, tail = text.rpartition(",")
    if not sep or (user_id is not None and tail.strip() != user_id):
        return None
    words = head.split()
    email = next((w for w in words if "@" in w), None)
    return email or (" ".join(words) or None)


def _from_labelstudio(path: Path, tasks: list[dict[str, Any]], id_keys: tuple[str, ...]) -> list[Any]:
    answers = []
    for n, task in enumerate(tasks, start=1):
        where = f"task {n}"
        data = task.get("data")
        if not isinstance(data, dict):
            raise InputError(f"{path}, {where}: 'data' must be an object holding the item id (data.item_id).")
        id_key = _pick(data, id_keys)
        if id_key is None:
            raise InputError(f"{path}, {where}: no item id in 'data' (expected one of {', '.join(id_keys)}).")
        annotations = task.get("annotations", task.get("completions", []))
        if not isinstance(annotations, list):
            raise InputError(f"{path}, {where}: 'annotations' must be a list.")
        live = []
        for k, ann in enumerate(annotations):
            if not isinstance(ann, dict):
                raise InputError(f"{path}, {where}: annotation {k + 1} is not an object.")
            if ann.get("was_cancelled"):
                continue
            choices = []
            result = ann.get("result", [])
            if not isinstance(result, list):
                raise InputError(f"{path}, {where}: annotation {k + 1} has a malformed 'result'.")
            for res in result:
                value = res.get("value") if isinstance(res, dict) else None
                if isinstance(value, dict) and "choices" in value:
                    if not isinstance(value["choices"], list):
                        raise InputError(f"{path}, {where}: annotation {k + 1} has malformed choices.")
                    choices.extend(value["choices"])
            if not choices:
                continue
            if len(choices) != 1:
                raise InputError(f"{path}, {where}: annotation {k + 1} has {len(choices)} choices; "
                                 "surelabel needs exactly one class per item.")
            live.append((str(ann.get("updated_at") or ann.get("created_at") or ""), k, ann, choices[0]))
        if not live:
            continue
        _, _, ann, label = max(live, key=lambda t: (t[0], t[1]))  # the latest annotation wins
        by = ann.get("completed_by")
        annotator = _person(by)
        if not isinstance(by, dict):  # a bare id: the export may still name the user
            annotator = _created_user(ann, annotator) or annotator
        if annotator is None:
            meta = task.get("meta") if isinstance(task.get("meta"), dict) else {}
            annotator = _person((meta.get("surelabel") or {}).get("annotator")) if isinstance(
                meta.get("surelabel"), dict) else None
        answers.append(_answer(path, where, data[id_key], label, annotator, ann.get("lead_time")))
    _check_duplicates(path, answers)
    return answers


# ---------------------------------------------------------------------- writing


#: Letters for the classes after the tenth, as on surelabel's page (a–z without ``s`` skip and ``u`` undo).
_LETTER_KEYS = tuple(k for k in "abcdefghijklmnopqrstuvwxyz" if k not in ("s", "u"))


def shortcut_keys(classes: list[str]) -> list[str]:
    """The keys the labeling page and the Label Studio config bind to the classes (one rule for both):
    each class's own digit when every class is one distinct digit, else 1–9 and 0 for a tenth class,
    then letters (without ``s`` skip and ``u`` undo, which the page keeps); beyond 34 classes the rest
    get no key ("").

    Examples
    --------
    >>> shortcut_keys(["cat", "dog"]), shortcut_keys(["0", "1", "7"])
    (['1', '2'], ['0', '1', '7'])
    >>> shortcut_keys([f"c{i}" for i in range(13)])[9:]
    ['0', 'a', 'b', 'c']
    """
    if all(len(c) == 1 and c.isdigit() for c in classes) and len(set(classes)) == len(classes):
        return list(classes)
    keys = [str(i) for i in range(1, 10)] + ["0"] + list(_LETTER_KEYS)
    return [keys[i] if i < len(keys) else "" for i in range(len(classes))]


def label_config(classes: list[str], kind: str) -> str:
    """The Label Studio labeling config matching the files surelabel writes (``kind``: text or image).

    Each ``<Choice>`` carries the ``hotkey`` surelabel's web page binds to that class
    (:func:`shortcut_keys`), so the same key picks the same class in both tools.
    """
    obj = '  <Image name="image" value="$image"/>' if kind == "image" else '  <Text name="text" value="$text"/>'
    target = "image" if kind == "image" else "text"
    keys = shortcut_keys(classes)
    choices = "\n".join(f"    <Choice value={quoteattr(c)}" + (f" hotkey={quoteattr(k)}" if k else "") + "/>"
                         for c, k in zip(classes, keys))
    return (f"<View>\n{obj}\n  <Choices name=\"label\" toName=\"{target}\" choice=\"single\" showInline=\"true\">\n"
            f"{choices}\n  </Choices>\n</View>\n")


def _kind(project: Project) -> str:
    return "image" if project.config.get("image_column") else "text"


IMAGE_URLS = ("local-files", "surelabel")


def image_urls(project: Project, how: str | None, *, document_root: Path | None = None,
               serve_url: str | None = None) -> Any:
    """A function ``index -> image URL`` for Label Studio tasks (``None``: write the image paths as stored).

    * ``local-files`` — Label Studio's local file serving, ``/data/local-files/?d=PATH`` with the
      path relative to ``document_root`` (the server's ``LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT``);
      every image must lie under it.
    * ``surelabel`` — the image as ``surelabel serve`` sends it: ``SERVE_URL/api/image?id=ID``.

    Images already given as URLs are written unchanged.
    """
    from urllib.parse import quote

    from .media import is_url

    if how is None:
        if document_root is not None or serve_url is not None:
            raise InputError("--document-root and --serve-url go with --image-url local-files or surelabel.")
        return None
    if how not in IMAGE_URLS:
        raise InputError(f"Unknown --image-url {how!r}. Allowed: {', '.join(IMAGE_URLS)}.")
    column = project.config.get("image_column")
    if not column:
        raise InputError(f"Project {project.path} has no images; --image-url is for image projects.")
    if how == "local-files":
        if serve_url is not None:
            raise InputError("--serve-url goes with --image-url surelabel, not local-files.")
        if document_root is None:
            raise InputError("--image-url local-files needs --document-root DIR (Label Studio's "
                             "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT).")
        if not document_root.is_dir():
            raise InputError(f"--document-root {document_root} is not a folder.")
        root = document_root.resolve()
    else:
        if document_root is not None:
            raise InputError("--document-root goes with --image-url local-files, not surelabel.")
        if serve_url is None:
            raise InputError("--image-url surelabel needs --serve-url URL (where surelabel serve runs, "
                             "e.g. http://localhost:8765).")
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", serve_url):
            raise InputError(f"--serve-url {short(serve_url)} is not an http(s) address such as "
                             "http://localhost:8765.")
        base = serve_url.rstrip("/")

    def url(index: int) -> str | None:
        value = project.frame.iloc[int(index)][column]
        if value is None or pd.isna(value):
            return None
        text = str(value)
        if is_url(text):
            return text
        if how == "surelabel":
            return f"{base}/api/image?id={quote(project.item_ids[index], safe='')}"
        p = Path(text)
        p = (p if p.is_absolute() else project.path / p).resolve()
        try:
            rel = p.relative_to(root)
        except ValueError:
            raise InputError(f"The image of item {project.item_ids[index]!r} ({p}) is not under --document-root "
                             f"{root}; give the folder Label Studio serves the images from.") from None
        return f"/data/local-files/?d={quote(rel.as_posix(), safe='/')}"

    return url


def _task_data(project: Project, index: int, image_url: Any = None) -> dict[str, Any]:
    shown = project.display(index)
    data: dict[str, Any] = {"item_id": shown["id"]}
    if "image" in shown:
        data["image"] = image_url(index) if image_url is not None else shown["image"]
    elif "text" in shown:
        data["text"] = shown["text"]
    else:
        fields = ", ".join(f"{k}={v}" for k, v in shown["fields"].items())
        data["text"] = f"{shown['id']}: {fields}"
    return data


def _result(project: Project, label: str) -> list[dict[str, Any]]:
    target = _kind(project)
    return [{"from_name": "label", "to_name": target, "type": "choices", "value": {"choices": [label]}}]


def batch_rows(project: Project, pending: list[PendingItem]) -> list[dict[str, Any]]:
    """One row per pending item: ``id``, an empty ``label`` to fill, batch, kind, round, what to show."""
    rows = []
    for p in pending:
        shown = project.display(p.index)
        row: dict[str, Any] = {"id": p.item_id, "label": "", "batch": p.batch_id, "kind": p.kind, "round": p.round}
        if "text" in shown:
            row["text"] = shown["text"]
        elif "image" in shown:
            row["image"] = shown["image"]
        else:
            row.update(shown["fields"])
        rows.append(row)
    return rows


def write_batch(project: Project, pending: list[PendingItem], out: Path | None, fmt: str,
                image_url: Any = None) -> str:
    """The pending items as CSV, JSONL or Label Studio tasks; written to ``out``, or returned as text.

    ``image_url`` (from :func:`image_urls`) turns Label Studio tasks' image paths into URLs.
    """
    if fmt not in HANDOUT_FORMATS:
        raise InputError(f"Unknown format {fmt!r}. Allowed: {', '.join(HANDOUT_FORMATS)}.")
    if fmt == "labelstudio":
        tasks = []
        for p in pending:
            tasks.append({"data": {**_task_data(project, p.index, image_url), "batch": p.batch_id, "kind": p.kind},
                          "meta": {"surelabel": {"batch": p.batch_id, "kind": p.kind, "round": p.round}}})
        text = json.dumps(tasks, indent=1, ensure_ascii=False) + "\n"
    else:
        frame = pd.DataFrame(batch_rows(project, pending),
                             columns=None if pending else ["id", "label", "batch", "kind", "round"])
        if fmt == "csv":
            text = _safe_csv(frame).to_csv(index=False)
        else:
            text = "".join(json.dumps(r, ensure_ascii=False, allow_nan=False) + "\n"
                           for r in frame.to_dict(orient="records"))
    if out is not None:
        _write_text(out, text)
    return text


def check_out_folder(out: Path) -> None:
    """The one ``--out`` rule of ``next`` and ``export``: the folder must exist (a typo never creates one)."""
    if not out.resolve().parent.is_dir():
        raise InputError(f"Cannot write {out}: folder {out.parent} does not exist; create it first.")
    if out.is_dir():
        raise InputError(f"Cannot write {out}: it is a folder; give a file name.")


def _write_text(out: Path, text: str) -> None:
    check_out_folder(out)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)


def export_format(out: Path, fmt: str | None = None) -> str:
    """The format ``export`` writes to ``out``: ``fmt``, else from the extension (``.json``: Label Studio)."""
    suffix = out.suffix.lower().lstrip(".")
    return fmt or {"json": "labelstudio", "ndjson": "jsonl"}.get(suffix, suffix)


def write_labels(project: Project, out: Path, fmt: str | None = None, image_url: Any = None) -> Path:
    """Every item's label and provenance to Parquet / CSV / JSONL, or as Label Studio tasks
    (``image_url`` from :func:`image_urls`: their images as URLs)."""
    fmt = export_format(out, fmt)
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"Cannot write {out}: use a .parquet, .csv or .jsonl file name, or --format labelstudio.")
    check_out_folder(out)
    frame = project.labels()
    tmp = out.with_name(out.name + ".tmp")
    if fmt == "parquet":
        frame.to_parquet(tmp, index=False)
    elif fmt == "csv":
        _safe_csv(frame).to_csv(tmp, index=False)
    elif fmt == "jsonl":
        frame.to_json(tmp, orient="records", lines=True)
    else:
        tmp.write_text(json.dumps(labelstudio_tasks(project, frame, image_url), indent=1, ensure_ascii=False) + "\n",
                       encoding="utf-8")
    tmp.replace(out)
    return out


def labelstudio_tasks(project: Project, frame: pd.DataFrame, image_url: Any = None) -> list[dict[str, Any]]:
    """Label Studio tasks: auto-labels as *predictions* (score, model version), human labels as *annotations*."""
    tasks = []
    for i, row in enumerate(frame.itertuples(index=False)):
        task: dict[str, Any] = {"data": _task_data(project, i, image_url)}
        meta: dict[str, Any] = {"source": row.source, "round": int(row.round)}
        if row.source == "auto":
            task["predictions"] = [{"model_version": str(row.model_version), "score": float(row.score),
                                    "result": _result(project, str(row.label))}]
            meta.update(threshold=_num(row.threshold), certified_bound=_num(row.certified_bound),
                        bound_covers=row.bound_covers)
        elif row.source in ("human", "validation"):
            ann: dict[str, Any] = {"result": _result(project, str(row.label)), "was_cancelled": False,
                                   "ground_truth": row.source == "validation", "created_at": row.labeled_at}
            if _num(row.seconds) is not None:
                ann["lead_time"] = float(row.seconds)
            task["annotations"] = [ann]
            meta.update(annotator=None if pd.isna(row.annotator) else str(row.annotator),
                        batch=None if pd.isna(row.batch) else int(row.batch))
        task["meta"] = {"surelabel": meta}
        tasks.append(task)
    return tasks


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None
