"""Leaderboards: one CSV per suite, one row per metric × parameters × suite × zoo.

``update_leaderboard`` replaces the row with the same key (metric, params, suite, zoo)
and keeps every other row; the file is written to a temporary name and renamed, so a
failed run leaves the published file as it was. Distance matrices are saved next to
the leaderboards (``distances/<suite>/<metric>.csv``, network ids as row and column
labels) so plots reuse them without recomputing. Columns: leaderboards/README.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from simbench.zoo.store import atomic_write

KEY = ["metric", "params", "suite", "zoo"]


def leaderboard_path(directory, suite: str) -> Path:
    return Path(directory) / f"{suite}.csv"


def distance_path(directory, suite: str, metric_name: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.=,-]+", "_", metric_name).replace(":", "_")
    return Path(directory) / "distances" / suite / f"{safe}.csv"


def update_leaderboard(directory, suite: str, row: dict) -> pd.DataFrame:
    """Insert or replace ``row`` in ``<directory>/<suite>.csv``; returns the table."""
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
    path = distance_path(directory, suite, metric_name)
    frame = pd.DataFrame(np.asarray(distance), index=list(ids), columns=list(ids))
    atomic_write(path, lambda tmp: frame.to_csv(tmp))
    return path


def load_distances(directory, suite: str, metric_name: str) -> pd.DataFrame:
    path = distance_path(directory, suite, metric_name)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no saved distances; run `simbench run --metric {metric_name}` first")
    return pd.read_csv(path, index_col=0)
