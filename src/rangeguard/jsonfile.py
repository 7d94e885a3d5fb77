"""Reading a JSON file a user gave: one readable error for every way it can be wrong.

Used for GeoJSON areas (``rangeguard.mission.areas``) and for the JSON files of an
output folder that ``report`` and ``export`` read (``rangeguard.report.files``).
"""

from __future__ import annotations

import json
from pathlib import Path

from rangeguard.errors import InputError


def read_json(path, what: str, note: str = "", *, finite_only: bool = False):
    """The JSON document in ``path``; :class:`InputError` otherwise, naming the file and what is wrong.

    ``what`` is what the file should be (e.g. ``"GeoJSON"``), ``note`` is added to every message
    (e.g. where relative paths start). Refused: a device, pipe or socket (reading one never ends), a
    missing file, a folder, bytes that are not UTF-8 text (a byte-order mark is tolerated: RFC 8259),
    text that is not JSON, nesting too deep for Python's parser, and with ``finite_only`` the
    non-standard constants NaN and Infinity.
    """
    path = Path(path)
    try:
        special = path.exists() and not (path.is_file() or path.is_dir())
    except (OSError, ValueError):
        special = False  # read_bytes says what is wrong with the path
    if special:
        raise InputError(f"{path} is not a regular file (a device, pipe or socket); give a {what} file{note}")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"file not found: {path}; give the path of a {what} file{note}") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a directory; give the path of a {what} file{note}") from None
    except (OSError, ValueError) as exc:  # ValueError: e.g. a NUL byte in the path
        raise InputError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}{note}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not a text file (not UTF-8); give a {what} file{note}") from None
    try:
        return json.loads(text, parse_constant=_no_constant if finite_only else None)
    except RecursionError:
        raise InputError(f"{path}: JSON nested too deeply to be {what}{note}") from None
    except ValueError as exc:  # json.JSONDecodeError, or a constant refused by _no_constant
        raise InputError(f"{path} is not valid JSON: {exc}{note}") from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number (RFC 8259); numbers must be finite")
