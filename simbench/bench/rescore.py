"""Rescoring published rows from their saved distance matrices (no metric is rerun).

When the scores or their intervals change (a new estimator, a new column), every
published row can be brought up to date from ``distances/<suite>/<metric>.csv``: the
design comes from the zoo's manifest, ``topology_rho`` from the published
``fp-topology`` matrix of the same networks, ``ood_rho`` from the published ``ood``
matrix (cddm), and the row keeps its metric columns,
runtimes and date. A row whose networks are no longer the zoo's kept networks (its
``zoo_hash`` differs) is refused rather than rescored against the wrong labels.
Columns that need distances a matrix does not hold (``control_auc``: trained–control
pairs) keep their published values. A row scored on the lowest seeds of each cell
(``seeds_per_cell``) is checked against that subsample, and its references are the
blocks of the full matrices.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from simbench.bench.design import Design
from simbench.bench.leaderboard import load_distances, update_leaderboard
from simbench.bench.rows import N_BOOT, N_PERM, score_columns
from simbench.bench.run import first_seeds

#: reference name (:data:`simbench.bench.scores.REFERENCES`) → the params prefix of its published row
REFERENCE_PREFIXES = {"topology": "fp-topology:", "ood": "ood:"}
KEEP = ("control_auc", "control_auc_low", "control_auc_high")


def _reference(folder: Path, suite: str, table: pd.DataFrame, ids: list[str], prefix: str):
    rows = table[table["params"].astype(str).str.startswith(prefix)]
    if rows.empty:
        return None
    matrix = load_distances(folder, suite, rows.iloc[0]["params"])
    if not set(ids) <= set(matrix.index):
        return None
    return matrix.loc[ids, ids].to_numpy(dtype=float)


def rescore(leaderboards, zoo, suites=None, n_boot: int = N_BOOT, n_perm: int = N_PERM) -> pd.DataFrame:
    """Recompute the score columns of every row of ``zoo`` in ``leaderboards``; returns them."""
    folder = Path(leaderboards)
    done = []
    for path in sorted(folder.glob("*.csv")):
        suite = path.stem
        if suites and suite not in suites:
            continue
        table = pd.read_csv(path, keep_default_na=False, na_values=[""])
        table = table[table["zoo"] == zoo.path.name]
        kept = zoo.filter(suite=suite, passed=True)
        for _, row in table.iterrows():
            per_cell = pd.to_numeric(row.get("seeds_per_cell"), errors="coerce")
            scored = first_seeds(kept, int(per_cell)) if np.isfinite(per_cell) else kept  # a subsampled row
            if str(row["zoo_hash"]) != scored.hash[:16]:
                raise ValueError(f"{path}: row {row['params']} was made on other networks "
                                 f"(zoo_hash {row['zoo_hash']}, the zoo's is {scored.hash[:16]}); rerun it")
            matrix = load_distances(folder, suite, row["params"])
            ids = list(matrix.index)
            manifest = kept.manifest.set_index("id").loc[ids].reset_index()
            references = {name: _reference(folder, suite, table, ids, prefix)
                          for name, prefix in REFERENCE_PREFIXES.items()}
            references = {name: matrix for name, matrix in references.items() if matrix is not None}
            scores = score_columns(matrix.to_numpy(dtype=float), Design.from_manifest(manifest), references,
                                   n_boot=n_boot, n_perm=n_perm)
            for name in KEEP:
                if name in row and np.isfinite(pd.to_numeric(row[name], errors="coerce")):
                    scores[name] = row[name]
            updated = {**row.to_dict(), **scores}
            update_leaderboard(folder, suite, updated)
            done.append(updated)
    return pd.DataFrame(done)
