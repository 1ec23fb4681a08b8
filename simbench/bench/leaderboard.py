"""Leaderboards: one CSV per suite, one row per metric × parameters × suite × zoo.

``update_leaderboard`` replaces the row with the same key (metric, params, suite, zoo)
and keeps every other row; the file is written to a temporary name and renamed, so a
failed run leaves the published file as it was. Distance matrices are saved next to
the leaderboards (``distances/<suite>/<metric>.csv``, network ids as row and column
labels) so plots reuse them without recomputing. Columns: leaderboards/README.md.

Concurrent writers (two ``simbench run`` on one folder) never lose a row: each
read-modify-rename of ``<suite>.csv`` holds an exclusive lock on ``.<suite>.csv.lock``
next to it (``fcntl.flock``, released by the kernel if the holder dies), and
:func:`publish` writes a row's distance matrix and the row under that one lock, the
matrix first: if writing the row fails, the previous matrix is put back, so neither
half of a result is published alone.
"""

from __future__ import annotations

import fcntl
import gzip
import os
import re
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from simbench.zoo.store import atomic_write

KEY = ["metric", "params", "suite", "zoo"]


def leaderboard_path(directory, suite: str) -> Path:
    return Path(directory) / f"{suite}.csv"


#: matrices over more networks than this are written gzipped (``.csv.gz``; a 462-network
#: matrix is 4 MB as text, 1.8 MB gzipped); pandas reads both forms
COMPRESS_ABOVE = 200


def distance_paths(directory, suite: str, metric_name: str) -> tuple[Path, Path]:
    """The two places a metric's matrix may be saved: ``<name>.csv`` and ``<name>.csv.gz``."""
    safe = re.sub(r"[^A-Za-z0-9_.=,-]+", "_", metric_name).replace(":", "_")
    plain = Path(directory) / "distances" / suite / f"{safe}.csv"
    return plain, plain.with_name(plain.name + ".gz")


def distance_path(directory, suite: str, metric_name: str) -> Path:
    """Where a metric's saved matrix is: the gzipped file if that one exists, else ``.csv``."""
    plain, packed = distance_paths(directory, suite, metric_name)
    return packed if packed.exists() and not plain.exists() else plain


def check_output_folder(directory) -> Path:
    """``directory`` if it is, or can be created as, a writable folder; ``ValueError`` if not.

    Called before any computing, so a bad ``--out`` fails at once rather than after the work.
    """
    path = Path(directory)
    if path.exists() and not path.is_dir():
        raise ValueError(f"leaderboard folder {path} is a file, not a folder")
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"leaderboard folder {path} cannot be created: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"leaderboard folder {path} cannot be written: no write permission on {existing}")
    return path


@contextmanager
def locked(directory, suite: str):
    """Hold the exclusive lock of ``<directory>/<suite>.csv`` (see the module docstring)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / f".{suite}.csv.lock", os.O_RDONLY | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def update_leaderboard(directory, suite: str, row: dict) -> pd.DataFrame:
    """Insert or replace ``row`` in ``<directory>/<suite>.csv``; returns the table."""
    with locked(directory, suite):
        return _write_row(directory, suite, row)


def publish(directory, suite: str, row: dict, ids, distance) -> pd.DataFrame:
    """Save a result's distance matrix and its leaderboard row together; returns the table.

    Under the suite's lock: the matrix is written first, then the row; if the row cannot
    be written (or the run is interrupted), the matrix is restored to what it was.
    """
    paths = distance_paths(directory, suite, row["params"])
    with locked(directory, suite):
        before = {path: path.read_bytes() if path.exists() else None for path in paths}
        save_distances(directory, suite, row["params"], ids, distance)
        try:
            return _write_row(directory, suite, row)
        except BaseException:
            for path, content in before.items():
                if content is None:
                    path.unlink(missing_ok=True)
                else:
                    atomic_write(path, lambda tmp, content=content: tmp.write_bytes(content))
            raise


def _write_row(directory, suite: str, row: dict) -> pd.DataFrame:
    path = leaderboard_path(directory, suite)
    table = pd.read_csv(path, keep_default_na=False, na_values=[""]) if path.exists() else pd.DataFrame()
    new = pd.DataFrame([row])
    if not table.empty:
        same = np.ones(len(table), dtype=bool)
        for key in KEY:
            same &= table[key].astype(str).to_numpy() == str(row[key])
        table = table[~same]
    table = pd.concat([table, new], ignore_index=True) if not table.empty else new
    table = table.sort_values(["suite", "metric", "params"], kind="stable").reset_index(drop=True)
    atomic_write(path, lambda tmp: table.to_csv(tmp, index=False))
    return table


def save_distances(directory, suite: str, metric_name: str, ids, distance) -> Path:
    """Write a matrix with network ids as labels: CSV, gzipped above :data:`COMPRESS_ABOVE`
    networks (the other form, if present, is removed so no stale copy remains)."""
    plain, packed = distance_paths(directory, suite, metric_name)
    path, stale = (packed, plain) if len(ids) > COMPRESS_ABOVE else (plain, packed)
    frame = pd.DataFrame(np.asarray(distance), index=list(ids), columns=list(ids))
    atomic_write(path, lambda tmp: _write_gzip(tmp, frame) if path is packed else frame.to_csv(tmp))
    stale.unlink(missing_ok=True)
    return path


def _write_gzip(path: Path, frame: pd.DataFrame) -> None:
    """``frame`` as gzipped CSV with no name or time in the header: the same matrix gives
    the same bytes (pandas' gzip writer stores the temporary file's name)."""
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as packed:
        packed.write(frame.to_csv().encode())


def load_distances(directory, suite: str, metric_name: str) -> pd.DataFrame:
    path = distance_path(directory, suite, metric_name)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no saved distances; run `simbench run --metric {metric_name}` first")
    return pd.read_csv(path, index_col=0)
