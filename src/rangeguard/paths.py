"""The paths a command (or the real-time shell) is given, checked before it does any work.

A command calls these at its top, so a bad path is one line naming the
option, the path, what is wrong and what to give instead (an
:class:`~rangeguard.errors.InputError`: exit 2), not an ``OSError`` from deep
inside after minutes of flying. The checks leave nothing behind: a folder that
is missing is not created here (the command creates it when it writes), but
the nearest folder that exists is proven writable by creating and removing a
file in it, which is the only test that sees a read-only file system or a
permission that ``os.access`` cannot (network file systems, root squash).
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from rangeguard.errors import InputError


def _stat(path: Path, option: str) -> os.stat_result | None:
    """``path``'s status, None when nothing is there; InputError when it cannot be looked at."""
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:  # a name too long, a loop of links, no permission on a folder above
        raise InputError(f"{option} {path}: cannot use this path ({exc.strerror}); give another one") from None


def _writable_folder(folder: Path, option: str, target: Path) -> None:
    """``folder`` (or the nearest folder above it that exists) is a folder a file can be created in."""
    probe = folder
    while (st := _stat(probe, option)) is None and probe != probe.parent:
        probe = probe.parent
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise InputError(
            f"{option} {target}: {probe} is a file, not a folder, so nothing can be written "
            f"under it; give a path in a folder"
        )
    try:
        fd, name = tempfile.mkstemp(prefix=".rangeguard-write-test-", dir=probe)
    except OSError as exc:
        raise InputError(
            f"{option} {target}: cannot create a file in {probe} ({exc.strerror}); give a path in "
            f"a folder you can write to"
        ) from None
    os.close(fd)
    os.unlink(name)


def output_file(path: Path, option: str, example: str = "out.html") -> Path:
    """A file the command will write: not a folder, nor a device; its folder exists or can be made, writable."""
    path = Path(path)
    st = _stat(path, option)
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise InputError(f"{option} {path} is a folder; give a file name, e.g. {path / example}")
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise InputError(
            f"{option} {path} exists and is not a regular file (a device, pipe or socket); "
            f"give the name of a file to write"
        )
    if st is not None and not os.access(path, os.W_OK):
        raise InputError(f"{option} {path} exists and is read-only; give another file name or make it writable")
    _writable_folder(path.parent, option, path)
    return path


def output_folder(path: Path, option: str) -> Path:
    """A folder the command will write into: not a file; it exists or can be made, and is writable."""
    path = Path(path)
    st = _stat(path, option)
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise InputError(f"{option} {path} is a file, not a folder; give a folder (it is created if missing)")
    _writable_folder(path, option, path)
    return path


def input_file(path: Path, option: str, what: str) -> Path:
    """A file the command will read: it exists, is a regular file and can be opened. ``what``: e.g. 'nav log'."""
    path = Path(path)
    st = _stat(path, option)
    if st is None:
        raise InputError(f"{option} {path}: no such file; give the path of a {what}")
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{option} {path} is a folder; give the path of a {what} file")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{option} {path} is not a regular file (a device, pipe or socket); give a {what} file")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise InputError(f"{option} {path}: cannot read it ({exc.strerror})") from None
    return path


def input_folder(path: Path, option: str, what: str) -> Path:
    """A folder the command will read: it exists and is a folder. ``what``: what it should hold."""
    path = Path(path)
    st = _stat(path, option)
    if st is None:
        raise InputError(f"{option} {path}: no such folder; give {what}")
    if not stat.S_ISDIR(st.st_mode):
        raise InputError(f"{option} {path} is a file, not a folder; give {what}")
    return path
