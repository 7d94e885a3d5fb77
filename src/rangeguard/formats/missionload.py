"""The sealed mission load: the mission that flies, byte for byte the one that was analysed.

``rangeguard seal MISSION.yaml --key KEYFILE -o MISSION.load`` writes the *resolved* mission
(included vehicle, sensors and dispersions sections in place, every area's GeoJSON outline as
vertex lists, motor curves and the population raster carried inside as attachments) as one
canonical JSON document (RFC 8785 in spirit: sorted keys, no insignificant whitespace, ASCII only),
with its SHA-256 digest and a seal, then a newline::

    {"attachments":{NAME:BASE64,...},"digest_sha256":HEX,"format":"rangeguard-mission-load",
     "mission":{...},"seal":{"alg":"HMAC-SHA256","key_fingerprint":HEX,"mac":HEX},"version":1}

``digest_sha256`` is SHA-256 over the canonical JSON of ``{"attachments": ..., "mission": ...}``:
the identity of the configuration (it goes into the decision log's header, every status and
heartbeat packet and the console). The seal is HMAC-SHA256 (FIPS 198-1, untruncated) over
:data:`SEAL_DOMAIN` and the digest, with the key derived from the key file for this use
(rangeguard.keyfile.LABEL_SEAL): the same pre-shared key file as the link, never the same key.
Why HMAC and not a signature: see docs/telemetry.md, "Security".

:func:`open_load` refuses (InputError, one line) anything but a load that is exactly what
:func:`seal_mission` wrote: not UTF-8, not JSON, duplicate keys, NaN, missing or extra fields,
not in canonical form (any edit, even of whitespace), a digest that does not match, another key,
or a seal that does not verify.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from rangeguard.errors import InputError
from rangeguard.keyfile import LABEL_SEAL, KeyFile
from rangeguard.mission import Mission
from rangeguard.mission.load import mission_from_dict

FORMAT = "rangeguard-mission-load"
VERSION = 1
SEAL_ALG = "HMAC-SHA256"
SEAL_DOMAIN = b"rangeguard-mission-load v1\n"
"""Bytes the seal's MAC covers before the digest (binds the MAC to this format and version)."""
MAX_LOAD_BYTES = 256 << 20
"""Largest load read, bytes (a population raster may be tens of MB; anything larger is not a load)."""
_KEYS = {"attachments", "digest_sha256", "format", "mission", "seal", "version"}
_SEAL_KEYS = {"alg", "key_fingerprint", "mac"}
_ATTACHMENT_NAME = re.compile(r"^files/[0-9]+-[A-Za-z0-9._-]{1,200}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, no whitespace, ASCII only, finite numbers only (ValueError otherwise)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")


def content_digest(mission: dict[str, Any], attachments: dict[str, str]) -> str:
    """The load's identity: SHA-256 (hex) of the canonical JSON of the mission and its attachments."""
    return hashlib.sha256(canonical_json({"attachments": attachments, "mission": mission})).hexdigest()


def _seal_mac(key: KeyFile, digest: str) -> str:
    return hmac.new(key.derive(LABEL_SEAL), SEAL_DOMAIN + digest.encode("ascii"), hashlib.sha256).hexdigest()


def resolved_mission(mission: Mission) -> tuple[dict[str, Any], dict[str, str]]:
    """The mission as a self-contained document and its attachments (name -> base64 of the file's bytes).

    Fields at their default are left out (a default such as an open time bound is infinite, which
    JSON cannot carry; loading fills it in again). GeoJSON areas become vertex lists; motor files and
    the population raster become attachments, and their fields name the attachment.
    """
    doc = mission.model_dump(mode="json", exclude_defaults=True)
    attachments: dict[str, str] = {}

    def attach(path: Path) -> str:
        name = f"files/{len(attachments)}-{re.sub(r'[^A-Za-z0-9._-]', '_', path.name)[:200]}"
        try:
            attachments[name] = base64.b64encode(path.read_bytes()).decode("ascii")
        except OSError as exc:
            raise InputError(f"cannot read {path} to seal it into the load ({exc.strerror})") from None
        return name

    for area in doc.get("areas", []):
        if "geojson" in area:
            lat, lon = mission.area_outline(area["name"])
            area.pop("geojson")
            area.pop("feature", None)
            area["lat_deg"], area["lon_deg"] = list(lat), list(lon)
    for stage in (doc.get("vehicle") or {}).get("stages", []):
        if stage.get("eng_file"):
            stage["eng_file"] = attach(Path(stage["eng_file"]))  # made absolute by the loader
    raster = (doc.get("population") or {}).get("raster")
    if raster:
        base = mission.source_path.parent if mission.source_path is not None else Path(".")
        doc["population"]["raster"] = attach(base / raster)
    return doc, attachments


def seal_mission(mission: Mission, key: KeyFile) -> bytes:
    """The bytes of the sealed load of ``mission`` (canonical JSON and a newline)."""
    doc, attachments = resolved_mission(mission)
    digest = content_digest(doc, attachments)
    load = {
        "attachments": attachments,
        "digest_sha256": digest,
        "format": FORMAT,
        "mission": doc,
        "seal": {"alg": SEAL_ALG, "key_fingerprint": key.fingerprint, "mac": _seal_mac(key, digest)},
        "version": VERSION,
    }
    return canonical_json(load) + b"\n"


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"the key {k!r} appears twice")
        out[k] = v
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def verify_load(data: bytes, key: KeyFile, where: str = "load") -> tuple[dict[str, Any], dict[str, str], str]:
    """(mission document, attachments, digest) of a load that verifies; InputError (one line) otherwise."""
    refuse = f"{where}: refused, not a valid sealed mission load"
    try:
        text = data.decode("utf-8")
        load = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
        raise InputError(f"{refuse} ({str(exc).splitlines()[0][:200]}); was it altered? seal it again") from None
    if not isinstance(load, dict) or set(load) != _KEYS:
        raise InputError(f"{refuse} (it must hold exactly the fields {', '.join(sorted(_KEYS))})")
    if load["format"] != FORMAT or load["version"] != VERSION or type(load["version"]) is not int:
        raise InputError(f"{refuse} (format must be {FORMAT!r} version {VERSION})")
    seal, mission, attachments, digest = load["seal"], load["mission"], load["attachments"], load["digest_sha256"]
    if not (isinstance(seal, dict) and set(seal) == _SEAL_KEYS and all(isinstance(v, str) for v in seal.values())):
        raise InputError(f"{refuse} (the seal must hold {', '.join(sorted(_SEAL_KEYS))})")
    if not isinstance(mission, dict) or not isinstance(attachments, dict) or not isinstance(digest, str):
        raise InputError(f"{refuse} (mission and attachments must be objects, the digest a string)")
    try:
        canonical = canonical_json(load) + b"\n"
    except ValueError:
        canonical = b""
    if canonical != data:
        raise InputError(f"{where}: refused, altered: the file is not the canonical form `rangeguard seal` writes")
    if not _HEX64.match(digest) or not hmac.compare_digest(content_digest(mission, attachments), digest):
        raise InputError(f"{where}: refused, altered: the SHA-256 digest of its content does not match the one sealed")
    if seal["alg"] != SEAL_ALG:
        raise InputError(f"{where}: refused, the seal's algorithm must be {SEAL_ALG}; got {seal['alg']!r}")
    if not hmac.compare_digest(seal["key_fingerprint"], key.fingerprint):
        raise InputError(
            f"{where}: refused, sealed with another key (fingerprint {seal['key_fingerprint'][:16]!r}; "
            f"--key {key.path} is {key.fingerprint})"
        )
    if not hmac.compare_digest(seal["mac"], _seal_mac(key, digest)):
        raise InputError(f"{where}: refused, the seal does not verify with --key {key.path} (altered or forged)")
    for name, value in attachments.items():
        if not (_ATTACHMENT_NAME.match(name) and isinstance(value, str)):
            raise InputError(f"{where}: refused, attachment name {name[:80]!r} is not one `rangeguard seal` writes")
    return mission, attachments, digest


def read_load(path: str | os.PathLike[str], what: str = "--mission") -> bytes:
    """The bytes of a load file; InputError (one line) when it cannot be read."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_LOAD_BYTES:
            raise InputError(f"{what} {path}: larger than {MAX_LOAD_BYTES >> 20} MiB; not a mission load")
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{what} {path}: no such file; make a load with `rangeguard seal`") from None
    except IsADirectoryError:
        raise InputError(f"{what} {path}: is a directory; give a .load file") from None
    except OSError as exc:
        raise InputError(f"{what} {path}: cannot read it ({exc.strerror})") from None


def open_load(path: str | os.PathLike[str], key: KeyFile, what: str = "--mission") -> tuple[Mission, str]:
    """Verify and load a sealed mission load: (the mission, its digest). InputError/MissionError otherwise.

    Attachments are written to a private temporary folder (removed when the process exits): the
    simulator and the risk analysis read motor curves and rasters by path.
    """
    where = f"{what} {path}"
    doc, attachments, digest = verify_load(read_load(path, what), key, where)
    base = Path(".")
    if attachments:
        base = Path(tempfile.mkdtemp(prefix="rangeguard-load-"))
        atexit.register(shutil.rmtree, base, True)
        (base / "files").mkdir()
        for name, value in attachments.items():
            try:
                raw = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise InputError(f"{where}: refused, attachment {name!r} is not base64") from None
            (base / name).write_bytes(raw)
    return mission_from_dict(doc, base_dir=base, source=str(path)), digest
