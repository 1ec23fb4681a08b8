"""Split-half reliability: does a benchmark's ranking of metrics survive a change of seeds?

For one suite, the trained networks are split into two disjoint halves of the seeds
(seeds sorted, alternately assigned: 0, 2, 4, … and 1, 3, 5, …), every published
metric is rescored on each half from its saved distance matrix, and for each score the
Spearman correlation between the metrics' two rankings is reported. A benchmark whose
ranking flips between halves says nothing about which metric to pick.

Every score needs two seeds of a cell in each half (its negative pairs), so a zoo needs
at least four seeds per cell; with fewer, the halves' scores are NaN and so is the
correlation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from simbench.bench.design import Design
from simbench.bench.leaderboard import load_distances
from simbench.bench.scores import separation_scores

RANKED = ("arch_auc", "task_auc", "knn_arch", "knn_task", "scaffold_specificity", "activation_auc", "dale_auc")


def seed_halves(seeds) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks of the two halves: the sorted distinct seeds, alternately assigned."""
    seeds = np.asarray(seeds)
    order = np.unique(seeds)
    first = np.isin(seeds, order[0::2])
    return first, ~first


def half_scores(leaderboards, zoo, suite: str) -> pd.DataFrame:
    """One row per metric (published params) × half: its point scores on that half."""
    folder = Path(leaderboards)
    table = pd.read_csv(folder / f"{suite}.csv", keep_default_na=False, na_values=[""])
    table = table[table["zoo"] == zoo.path.name]
    kept = zoo.filter(suite=suite, passed=True).manifest.set_index("id")
    rows = []
    for params in table["params"]:
        matrix = load_distances(folder, suite, params)
        manifest = kept.loc[list(matrix.index)].reset_index()
        for half, mask in zip(("A", "B"), seed_halves(manifest["seed"])):
            rows_ = np.flatnonzero(mask)
            design = Design.from_manifest(manifest.iloc[rows_].reset_index(drop=True))
            scores = separation_scores(matrix.to_numpy(dtype=float)[np.ix_(rows_, rows_)], design=design)
            rows.append({"params": params, "half": half, **{k: scores[k] for k in RANKED}})
    return pd.DataFrame(rows)


def ranking_reliability(halves: pd.DataFrame) -> pd.DataFrame:
    """Per score: the Spearman correlation of the metrics' rankings in half A and half B."""
    a = halves[halves["half"] == "A"].set_index("params")
    b = halves[halves["half"] == "B"].set_index("params").loc[a.index]
    out = []
    for score in RANKED:
        ok = np.isfinite(a[score].to_numpy(float)) & np.isfinite(b[score].to_numpy(float))
        rho = float(spearmanr(a[score][ok], b[score][ok])[0]) if ok.sum() >= 3 else float("nan")
        out.append({"score": score, "metrics": int(ok.sum()), "spearman": rho})
    return pd.DataFrame(out)


def reliability_table(leaderboards, zoo, suites=None) -> pd.DataFrame:
    """Split-half ranking reliability of every suite of ``zoo`` published in ``leaderboards``.

    One row per suite × score: ``suite``, ``score``, ``metrics`` (metrics ranked in both
    halves) and ``spearman`` (:func:`ranking_reliability`). A suite without published rows
    of this zoo is skipped.
    """
    folder = Path(leaderboards)
    tables = []
    for path in sorted(folder.glob("*.csv")):
        if (suites and path.stem not in suites) or path.stem not in set(zoo.manifest.suite):
            continue
        rows = pd.read_csv(path, usecols=["zoo"])
        if not (rows["zoo"] == zoo.path.name).any():
            continue
        table = ranking_reliability(half_scores(folder, zoo, path.stem))
        tables.append(table.assign(suite=path.stem)[["suite", "score", "metrics", "spearman"]])
    if not tables:
        raise ValueError(f"{folder}: no published rows of zoo {zoo.path.name!r}")
    return pd.concat(tables, ignore_index=True)
