"""The chunk manifest: which runs each chunk file holds, and the SHA-256 digest of its bytes.

A validation's chunk folder (``chunks/<fingerprint>/``) holds one Parquet file
per chunk and ``manifest.json``::

    {"format": 1, "fingerprint": "3f0c...", "chunks": {
        "f1-thrust-low__0000000-0000250.parquet":
            {"case": "f1-thrust-low", "start": 0, "stop": 250, "rows": 250, "bytes": 48213,
             "sha256": "9b1e..."}}}

(``case`` "" is the nominal case.) A chunk file is trusted only when
:func:`check_chunk` finds it whole: its entry names the same case and run
range as the task, its bytes hash to the recorded digest, they parse as
Parquet, and its rows are exactly runs ``start..stop-1`` of that case. The
same check runs before a finished chunk is skipped (resume) and before its
rows are read for the statistics, so a corrupt, truncated, swapped (renamed
to another chunk's name) or foreign (another mission's) file is caught.

Crash safety, in this order (:func:`write_chunk`): the chunk's bytes are
written to a temporary file and flushed to disk, its entry is recorded in the
manifest (written whole to a temporary file, flushed, then renamed over the
old one, so the manifest on disk is always a complete one), and only then is
the chunk renamed to its name. A crash therefore leaves at worst a recorded
chunk whose file never appeared (it is simply run) or a stray ``.*.tmp``
file; a visible chunk file is always recorded, and a file that is not
recorded (a lost or deleted manifest, a file copied in) is never trusted: it
is recomputed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class ChunkEntry:
    """What a chunk file holds: runs ``start..stop-1`` of ``case`` ("" nominal); its size and digest."""

    case: str
    start: int
    stop: int
    rows: int
    bytes: int
    sha256: str

    def same_runs(self, case: str, start: int, stop: int) -> bool:
        return (self.case, self.start, self.stop) == (case, start, stop)

    def describe(self) -> str:
        return f"runs {self.start}..{self.stop - 1} of {self.case or 'the nominal case'}"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Manifest:
    """The manifest of one chunk folder: file name -> :class:`ChunkEntry`; saved atomically on every change."""

    def __init__(self, directory: Path, fingerprint: str, entries: dict[str, ChunkEntry] | None = None):
        self.directory = Path(directory)
        self.fingerprint = fingerprint
        self.entries: dict[str, ChunkEntry] = dict(entries or {})

    @property
    def path(self) -> Path:
        return self.directory / MANIFEST_NAME

    @classmethod
    def load(cls, directory: Path, fingerprint: str) -> tuple[Manifest, str | None]:
        """The folder's manifest, and a warning when one was there but cannot be used (then: empty)."""
        directory = Path(directory)
        path = directory / MANIFEST_NAME
        if not path.exists():
            return cls(directory, fingerprint), None
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if doc.get("format") != MANIFEST_FORMAT:
                raise ValueError(f"format {doc.get('format')!r}, this rangeguard writes {MANIFEST_FORMAT}")
            if doc.get("fingerprint") != fingerprint:
                raise ValueError(
                    f"it belongs to the chunks of mission fingerprint {doc.get('fingerprint')!r}, "
                    f"not {fingerprint!r} (copied from another folder?)"
                )
            entries = {
                name: ChunkEntry(**{k: e[k] for k in ("case", "start", "stop", "rows", "bytes", "sha256")})
                for name, e in doc["chunks"].items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            return cls(directory, fingerprint), f"{path} cannot be used ({exc})"
        return cls(directory, fingerprint, entries), None

    def record(self, name: str, entry: ChunkEntry) -> None:
        self.entries[name] = entry
        self.save()

    def save(self) -> None:
        doc = {
            "format": MANIFEST_FORMAT,
            "fingerprint": self.fingerprint,
            "chunks": {name: vars(e) for name, e in sorted(self.entries.items())},
        }
        _atomic_write(self.path, (json.dumps(doc, indent=1) + "\n").encode())


def _atomic_write(path: Path, data: bytes, keep_tmp: bool = False) -> Path:
    """Write ``data`` to a temporary file beside ``path``, flushed to disk; rename it to ``path`` unless
    ``keep_tmp`` (then the caller renames it). Returns the temporary file's path."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    if not keep_tmp:
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    return tmp


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (POSIX; a no-op where directories cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def table_bytes(table: pa.Table) -> bytes:
    """The Parquet file of a chunk's rows, in memory (the bytes that are hashed and written)."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def write_chunk(manifest: Manifest, name: str, case: str, start: int, stop: int, table: pa.Table) -> None:
    """Write a chunk file and record it, crash-safely (module docstring: bytes, then manifest, then rename)."""
    data = table_bytes(table)
    path = manifest.directory / name
    tmp = _atomic_write(path, data, keep_tmp=True)
    manifest.record(
        name,
        ChunkEntry(case=case, start=start, stop=stop, rows=table.num_rows, bytes=len(data), sha256=sha256_hex(data)),
    )
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def check_chunk(manifest: Manifest, name: str, case: str, start: int, stop: int) -> tuple[pa.Table | None, str]:
    """Read and check chunk file ``name`` against the manifest and its task (runs start..stop-1 of case).

    Returns (rows, "") when it is whole, else (None, why not) in words.
    """
    path = manifest.directory / name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, "missing"
    except OSError as exc:
        return None, f"cannot be read ({exc})"
    entry = manifest.entries.get(name)
    if entry is None:
        return None, (
            "not recorded in the manifest (the manifest was lost or deleted, the file was copied in, or "
            "an older rangeguard wrote it), so it cannot be verified"
        )
    if not entry.same_runs(case, start, stop):
        return None, f"the manifest records it as {entry.describe()}, not the runs of its name (an edited manifest?)"
    digest = sha256_hex(data)
    if digest != entry.sha256:
        return None, _digest_mismatch(manifest, name, entry, data, digest)
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError, ValueError) as exc:
        return None, f"not a readable Parquet file ({exc})"
    why = _rows_mismatch(table, case, start, stop)
    if why:
        return None, why
    return table, ""


def _digest_mismatch(manifest: Manifest, name: str, entry: ChunkEntry, data: bytes, digest: str) -> str:
    other = next((n for n, e in manifest.entries.items() if n != name and e.sha256 == digest), None)
    if other is not None:
        return (
            f"its bytes are those of {other} ({manifest.entries[other].describe()}): swapped or copied "
            f"over another chunk"
        )
    if len(data) < entry.bytes:
        return f"truncated: {len(data)} of the {entry.bytes} bytes recorded (SHA-256 differs from the manifest's)"
    return f"corrupt or replaced: its SHA-256 differs from the manifest's ({len(data)} bytes, {entry.bytes} recorded)"


def _rows_mismatch(table: pa.Table, case: str, start: int, stop: int) -> str:
    """Why the rows are not runs start..stop-1 of case, or ""."""
    if "case" not in table.column_names or "run" not in table.column_names:
        return "its rows have no 'case' and 'run' columns: not a chunk of runs"
    cases = set(table.column("case").to_pylist())
    if cases != {case} and table.num_rows:
        shown = ", ".join(repr(c or "nominal") for c in sorted(c or "" for c in cases))
        return f"its rows are of case {shown}, not {case or 'nominal'!r}"
    runs = sorted(table.column("run").to_pylist())
    if runs != list(range(start, stop)):
        lo, hi = (runs[0], runs[-1]) if runs else (None, None)
        return f"its rows are {len(runs)} runs {lo}..{hi}, not the {stop - start} runs {start}..{stop - 1}"
    return ""
