"""Pre-shared key files: the secret behind authenticated packets and sealed mission loads.

A key file is UTF-8 text: comment lines starting with ``#``, blank lines, and one line
``rangeguard-key-v1 HEX`` where HEX is :data:`KEY_BYTES` bytes (64 hex digits). It is made by
``rangeguard keygen -o KEYFILE`` (random bytes from the operating system, :func:`secrets.token_bytes`)
with mode 0600, and refused when anyone but its owner and group may read or write it.

One file may serve both uses because each use derives its own key from it (domain separation,
NIST SP 800-108r1 in spirit: HMAC-SHA256 of the file's key over a label): a MAC made for a packet
can never pass as a mission seal, nor the reverse. See docs/telemetry.md, "Security".
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from rangeguard.errors import InputError

KEY_BYTES = 32
"""Key length, bytes: 256 bits, the output size of SHA-256 (RFC 2104 section 3: a key shorter than the hash
output weakens HMAC; longer adds nothing)."""
KEY_TAG = "rangeguard-key-v1"
"""The first word of the key line: format and version of the key file."""
FINGERPRINT_BYTES = 8
"""Bytes of SHA-256(label, key) shown as the key's fingerprint (identifies a key; reveals nothing of it)."""
FORBIDDEN_MODE_BITS = stat.S_IRWXO
"""Permission bits a key file must not have: any access for others (world-readable or -writable)."""
LABEL_LINK = b"rangeguard link MAC v1"
"""Derivation label of the packet MAC key (rangeguard.telemetry.auth)."""
LABEL_SEAL = b"rangeguard mission seal v1"
"""Derivation label of the mission-load seal key (rangeguard.formats.missionload)."""
LABEL_FINGERPRINT = b"rangeguard key fingerprint v1"
MAX_KEY_FILE_BYTES = 4096
"""A key file is a few lines; anything longer is not one."""


@dataclass(frozen=True)
class KeyFile:
    """A pre-shared key read from ``path``. ``derive(label)`` gives the key for one use."""

    path: Path
    key: bytes = field(repr=False)

    def derive(self, label: bytes) -> bytes:
        """The 32-byte key for the use named by ``label`` (HMAC-SHA256(file key, label))."""
        return hmac.new(self.key, label, hashlib.sha256).digest()

    @property
    def fingerprint(self) -> str:
        """A short hex identifier of the key (safe to print and log)."""
        return hmac.new(self.key, LABEL_FINGERPRINT, hashlib.sha256).digest()[:FINGERPRINT_BYTES].hex()


def read_key_file(path: str | os.PathLike[str], what: str = "--key") -> KeyFile:
    """Read and check a key file; InputError with one readable line saying what to fix."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InputError(f"{what} {path}: no such file; make one with `rangeguard keygen -o {path}`") from None
    except OSError as exc:
        raise InputError(f"{what} {path}: cannot read it ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{what} {path}: not a regular file; give the key file `rangeguard keygen` wrote")
    if st.st_mode & FORBIDDEN_MODE_BITS:
        raise InputError(
            f"{what} {path}: the key file can be read or written by other users (mode {stat.S_IMODE(st.st_mode):04o}); "
            f"a shared secret must not be: run `chmod 600 {path}`"
        )
    if st.st_size > MAX_KEY_FILE_BYTES:
        raise InputError(f"{what} {path}: {st.st_size} bytes is too long for a key file; give a rangeguard key file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{what} {path}: cannot read it as text ({exc})") from None
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    words = lines[0].split() if len(lines) == 1 else []
    if len(words) != 2 or words[0] != KEY_TAG:
        raise InputError(
            f"{what} {path}: not a rangeguard key file (expected one line '{KEY_TAG} <{2 * KEY_BYTES} hex digits>'); "
            "make one with `rangeguard keygen -o FILE`"
        )
    try:
        key = bytes.fromhex(words[1])
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise InputError(f"{what} {path}: the key must be {2 * KEY_BYTES} hex digits ({KEY_BYTES} bytes)")
    return KeyFile(path, key)


def write_key_file(path: str | os.PathLike[str]) -> KeyFile:
    """Create a new key file with a fresh random key, mode 0600; InputError if ``path`` exists."""
    path = Path(path)
    key = secrets.token_bytes(KEY_BYTES)
    text = (
        "# rangeguard pre-shared key: authenticates packets (rangeguard run/stream/console) and seals\n"
        "# mission loads (rangeguard seal). Keep it secret; make a new one per flight campaign.\n"
        f"{KEY_TAG} {key.hex()}\n"
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError(f"-o {path}: the file exists; a key is never overwritten (remove it first)") from None
    except OSError as exc:
        raise InputError(f"-o {path}: cannot create it ({exc.strerror})") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return KeyFile(path, key)
