"""Reading ``manifest.csv``, a zoo's index, and checking it before anything trusts it.

A manifest is accepted only when

- every row has the header's number of fields and the file ends with a newline, so a
  file cut short (mid-row or mid-field) is caught;
- it has the columns of :data:`COLUMNS`, each value of its column's type; other columns
  (``train_*``, ``threads``, ``control``, ...) are kept as read;
- ids are unique and every content hash is 64 hex digits;
- each row agrees with ``networks/<id>.json`` (content hash and task) and every
  ``networks/*.json`` has a row, so a manifest that lost rows at a line boundary is
  caught too.

Otherwise one :class:`~simbench.zoo.errors.ZooError` names the file, the line and the
network. A zoo reopened unchanged in the same process is not checked again, so that
costs a read of the manifest and a ``stat`` per network.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from simbench.zoo.errors import ZooError

MANIFEST = "manifest.csv"

#: required columns and the type of their values ("float?" admits a missing value)
COLUMNS = {
    "id": "name", "suite": "name", "task": "name", "architecture": "name", "family": "name",
    "activation": "name", "dale": "bool", "hidden": "int", "seed": "int", "steps": "int",
    "stop_reason": "name", "final_loss": "float?", "performance": "float", "threshold": "float",
    "passed": "bool", "content_hash": "hash", "options": "json",
}

_EXPECTED = {"name": "a non-empty string", "bool": "True or False", "int": "an integer",
             "float": "a number", "float?": "a number or empty", "hash": "64 hex digits",
             "json": "a JSON object"}

#: manifest path -> (signature of the manifest and the metadata files, validated frame)
_VALIDATED: dict[str, tuple[tuple, pd.DataFrame]] = {}


def read_manifest(root: Path) -> pd.DataFrame:
    """The validated manifest of the zoo at ``root``; ``ZooError`` at the first bad row.

    A manifest validated before in this process is returned from memory while neither
    it nor any ``networks/*.json`` changed (same bytes; same sizes and modification times).
    """
    file = Path(root) / MANIFEST
    if not file.is_file():
        raise ZooError(f"{root}: not a zoo (no {MANIFEST})")
    try:
        data = file.read_bytes()
        text = data.decode()
    except (OSError, UnicodeDecodeError) as error:
        raise ZooError(f"{file}: unreadable manifest ({error})") from None
    metadata = _metadata_files(file.parent / "networks")
    signature = (hashlib.sha256(data).digest(), tuple(sorted(metadata.items())))
    known = _VALIDATED.get(str(file.resolve()))
    if known is not None and known[0] == signature:
        return known[1].copy()
    lines = _record_lines(file, text)
    try:
        frame = pd.read_csv(io.StringIO(text))
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise ZooError(f"{file}: unreadable manifest ({error})") from None
    if frame.empty:
        raise ZooError(f"{file}: the zoo is empty")
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ZooError(f"{file}: missing column(s) {', '.join(missing)}; a manifest has "
                       f"{', '.join(COLUMNS)}")
    _check_values(file, frame, lines)
    _check_networks(file, frame, lines, set(metadata))
    _VALIDATED[str(file.resolve())] = (signature, frame)
    return frame.copy()


def _metadata_files(folder: Path) -> dict[str, tuple[int, int]]:
    """Network id -> (size, mtime_ns) of each ``networks/<id>.json``."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return {}
    found = {}
    for entry in entries:
        if entry.name.endswith(".json") and not entry.name.startswith("."):
            stat = entry.stat()
            found[entry.name[:-5]] = (stat.st_size, stat.st_mtime_ns)
    return found


def _record_lines(file: Path, text: str) -> list[int]:
    """Line number of each data row; ``ZooError`` for a row cut short or too long."""
    if not text.strip():
        raise ZooError(f"{file}: the zoo is empty")
    if not text.endswith("\n"):
        raise ZooError(f"{file}: the last row is cut short (no final newline): a truncated manifest")
    reader = csv.reader(io.StringIO(text))
    width = len(next(reader))
    lines = []
    for record in reader:
        if not record:
            continue  # a blank line, skipped by the reader as by pandas
        if len(record) != width:
            raise ZooError(f"{file}: line {reader.line_num} has {len(record)} fields, the header "
                           f"{width}: a truncated or damaged row")
        lines.append(reader.line_num)
    return lines


def _check_values(file: Path, frame: pd.DataFrame, lines: list[int]) -> None:
    """Each required column's values of its type, unique ids; names the first bad row."""
    first = None  # (row, column)
    for column, kind in COLUMNS.items():
        row = _first_bad(frame[column], kind)
        if row is not None and (first is None or row < first[0]):
            first = (row, column)
    if first is not None:
        row, column = first
        raise ZooError(f"{file}: line {lines[row]} ({_name(frame, row)}): column {column!r} must be "
                       f"{_EXPECTED[COLUMNS[column]]}, got {frame[column].iloc[row]!r}")
    seen: dict[str, int] = {}
    for row, network_id in enumerate(frame["id"].tolist()):
        if network_id in seen:
            raise ZooError(f"{file}: line {lines[row]}: network {network_id} is listed twice "
                           f"(also line {lines[seen[network_id]]})")
        seen[network_id] = row


def _first_bad(values: pd.Series, kind: str) -> int | None:
    """Index of the first value that is not of ``kind`` (see :data:`COLUMNS`), or None."""
    if kind == "bool" and pd.api.types.is_bool_dtype(values):
        return None
    if kind == "int" and pd.api.types.is_integer_dtype(values):
        return None
    if kind in ("float", "float?") and pd.api.types.is_float_dtype(values):
        bad = ~np.isfinite(values.to_numpy()) if kind == "float" else np.zeros(len(values), dtype=bool)
        return int(bad.argmax()) if bad.any() else None
    good = _GOOD[kind]
    return next((row for row, value in enumerate(values.tolist()) if not good(value)), None)


def _as_float(value) -> float | None:
    if isinstance(value, (bool, np.bool_)):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _is_json_object(value) -> bool:
    try:
        return isinstance(json.loads(value), dict)
    except (TypeError, ValueError):
        return False


def _is_finite(value) -> bool:
    number = _as_float(value)
    return number is not None and math.isfinite(number)


_HASH = re.compile("[0-9a-f]{64}")
_GOOD = {
    "name": lambda v: isinstance(v, str) and v != "",
    "bool": lambda v: isinstance(v, (bool, np.bool_)) or v in ("True", "False"),
    "int": lambda v: _is_finite(v) and float(v) == round(float(v)),
    "float": _is_finite,
    "float?": lambda v: v is None or _as_float(v) is not None,
    "hash": lambda v: isinstance(v, str) and _HASH.fullmatch(v) is not None,
    "json": _is_json_object,
}


def _check_networks(file: Path, frame: pd.DataFrame, lines: list[int], present: set[str]) -> None:
    """Every row matches its ``networks/<id>.json``; every metadata file has a row."""
    folder = file.parent / "networks"
    rows = zip(frame["id"].tolist(), frame["content_hash"].tolist(), frame["task"].tolist())
    for row, (network_id, digest, task) in enumerate(rows):
        path = folder / f"{network_id}.json"
        if network_id not in present:
            raise ZooError(f"{file}: line {lines[row]}: network {network_id} has no metadata ({path} is missing)")
        try:
            metadata = json.loads(path.read_text())
            identity = (metadata["content_hash"], metadata["task"])
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
            raise ZooError(f"{path}: unreadable network metadata ({type(error).__name__}: {error})") from None
        if identity != (digest, task):
            which = "content_hash" if identity[0] != digest else "task"
            raise ZooError(f"{file}: line {lines[row]}: network {network_id}: {which} differs from {path}")
    extra = sorted(present - set(frame["id"]))
    if extra:
        raise ZooError(f"{file}: lists {len(frame)} networks but {folder} also holds {len(extra)} more, "
                       f"e.g. {extra[0]}.json: an incomplete manifest")


def _name(frame: pd.DataFrame, row: int) -> str:
    network_id = frame["id"].iloc[row]
    return f"network {network_id}" if isinstance(network_id, str) and network_id else f"row {row + 1}"
