"""The factor table of Tolmachev & Engel (2025): does activation shape distances more than Dale's law?

Reads published leaderboard rows (no recomputation). For each metric and suite,
``activation_auc`` (CTRNN pairs differing only in activation vs two seeds of a cell)
and ``dale_auc`` (pairs differing only in Dale's law), both with their design-bootstrap
intervals, and their difference ``activation_vs_dale`` with its own interval, taken
from the same bootstrap draws (a paired comparison). The verdict names the factor that
dominates when that interval excludes 0, and says "neither" otherwise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ("activation_auc", "dale_auc", "activation_vs_dale", "gating_auc", "width_auc")


def verdict(low: float, high: float) -> str:
    """Which factor the interval of activation_auc − dale_auc says dominates."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "—"
    if low > 0:
        return "activation"
    if high < 0:
        return "Dale's law"
    return "neither (interval spans 0)"


def factor_table(leaderboards="leaderboards", metrics=None, zoo: str | None = None) -> pd.DataFrame:
    """One row per metric × suite: the factor scores with intervals and the verdict.

    ``metrics``: metric ids (``cca``) or full parameter names to keep (default: all);
    ``zoo``: keep rows of that zoo name only.
    """
    folder = Path(leaderboards)
    tables = [pd.read_csv(p, keep_default_na=False, na_values=[""]) for p in sorted(folder.glob("*.csv"))]
    if not tables:
        raise FileNotFoundError(f"{folder}: no leaderboard CSVs; run `simbench run` first")
    table = pd.concat(tables, ignore_index=True)
    if "activation_vs_dale" not in table:
        raise ValueError(f"{folder}: leaderboards predate the factor columns; run `simbench rescore`")
    if zoo is not None:
        names = sorted(table["zoo"].dropna().astype(str).unique())
        table = table[table["zoo"] == zoo]
        if table.empty:
            raise ValueError(f"{folder}: no rows of zoo {zoo!r}; its rows are of zoo(s) {', '.join(names)} "
                             f"(--zoo takes a zoo's name, not its path)")
    if metrics:
        wanted = set(metrics)
        table = table[table["metric"].isin(wanted) | table["params"].isin(wanted)]
        if table.empty:
            raise ValueError(f"no leaderboard rows for {', '.join(sorted(wanted))} in {folder}")
    out = table[["metric", "params", "suite", "zoo", "n_networks"]].copy()
    for name in COLUMNS:
        out[name] = table[name]
        out[f"{name}_low"], out[f"{name}_high"] = table[f"{name}_low"], table[f"{name}_high"]
    out["dominant"] = [verdict(lo, hi) for lo, hi in zip(table["activation_vs_dale_low"],
                                                         table["activation_vs_dale_high"])]
    return out.sort_values(["suite", "metric", "params"]).reset_index(drop=True)
