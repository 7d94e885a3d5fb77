"""Reading the files of an output folder, strictly: whatever is wrong with one is an InputError naming it.

The report and the exporters read folders that rangeguard wrote, but a user
hands them over: a file may have been cut short by a full disk, edited, or
replaced by something else. Each reader here checks what it returns (a JSON
object; a Parquet table with the named columns of the expected kinds), so a
bad file is one line saying which file, what is wrong and to rerun the
command that wrote it, never an exception from deep inside a plot.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from rangeguard import jsonfile
from rangeguard.errors import InputError

RERUN = "rerun the command that wrote the folder"

NUMBER, BOOLEAN, TEXT = "number", "boolean", "text"
_ARROW_KINDS = {
    NUMBER: lambda t: pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_null(t),
    BOOLEAN: lambda t: pa.types.is_boolean(t) or pa.types.is_null(t),
    TEXT: lambda t: pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t),
}
_JSON_KINDS = {
    NUMBER: lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    BOOLEAN: lambda v: isinstance(v, bool),
    TEXT: lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "list": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def read_json(path: Path, top: type = dict):
    """The JSON document in ``path``, which must be a ``top`` (dict or list); InputError otherwise."""
    doc = jsonfile.read_json(path, "JSON", f"; {RERUN}")
    if not isinstance(doc, top):
        want = "an object" if top is dict else "a list"
        raise InputError(f"{path}: expected {want} at the top, found {describe(doc)}; {RERUN}")
    return doc


def describe(value) -> str:
    """A JSON value's kind, for messages: 'a list', 'the text "x"', 'the number 5'."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    return {dict: "an object", list: "a list", type(None): "null"}.get(type(value), type(value).__name__)


def is_number(value) -> bool:
    """A JSON number (not a boolean)."""
    return _JSON_KINDS[NUMBER](value)


def check_fields(doc: dict, kinds: dict[str, tuple[str, ...]], where: str) -> None:
    """Each of ``kinds``' keys that ``doc`` holds is of one of its kinds (number, boolean, text, object, list,
    null); InputError naming the key otherwise."""
    for key, allowed in kinds.items():
        if key in doc and not any(_JSON_KINDS[k](doc[key]) for k in allowed):
            raise InputError(f"{where}: {key} must be {' or '.join(allowed)}, found {describe(doc[key])}; {RERUN}")


def read_table(path: Path, columns: dict[str, str], what: str) -> pa.Table:
    """The Parquet table in ``path``, holding ``columns`` (name -> number, boolean or text); InputError naming
    the file (and the column) otherwise. ``what``: what the file should be, e.g. 'a decision log'."""
    try:
        table = pq.read_table(path)
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not {what}; {RERUN}") from None
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable Parquet file ({_one_line(exc)}), so not {what}; {RERUN}") from None
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}, so not {what}; {RERUN}")
    for name, kind in columns.items():
        if not _ARROW_KINDS[kind](table.schema.field(name).type):
            raise InputError(f"{path}: column {name} must hold {kind}s, found {table.schema.field(name).type}; {RERUN}")
    return table


def columns_of_kind(table: pa.Table, prefix: str, kind: str, path: Path) -> None:
    """Every column whose name starts with ``prefix`` holds ``kind`` (e.g. ``margin__*`` numbers)."""
    for f in table.schema:
        if f.name.startswith(prefix) and not _ARROW_KINDS[kind](f.type):
            raise InputError(f"{path}: column {f.name} must hold {kind}s, found {f.type}; {RERUN}")
