"""The score columns of a leaderboard row: point estimates, intervals, p-values.

One function, :func:`score_columns`, turns a distance matrix and its design into the
columns every leaderboard row carries (``leaderboards/README.md`` describes them), so
a run (:mod:`simbench.bench.run`) and a rescoring of saved matrices
(:mod:`simbench.bench.rescore`) produce identical rows.
"""

from __future__ import annotations

import numpy as np

from simbench.bench.bootstrap import bootstrap_intervals, permutation_pvalues
from simbench.bench.design import Design
from simbench.bench.scores import SCORES, ScoreFunction

#: defaults of the published rows
N_BOOT, N_PERM, LEVEL, SCHEME = 1000, 1000, 0.95, "multinomial"


def score_columns(distance, design: Design, references: dict | None = None, n_boot: int = N_BOOT,
                  n_perm: int = N_PERM, seed: int = 0) -> dict:
    """``{score, score_low, score_high, …, arch_auc_p, task_auc_p, n_boot, n_perm}``.

    Intervals: 95 %, the design bootstrap of :mod:`simbench.bench.bootstrap` (seeds
    resampled within cells, ``n_boot`` draws) for AUROCs and correlations, the stratified
    jackknife for the 1-NN accuracies; p-values from ``n_perm`` within-stratum
    permutations (0 skips them).
    """
    scores = ScoreFunction(distance, design, references)
    point, intervals = bootstrap_intervals(scores, n_boot=n_boot, seed=seed, level=LEVEL, scheme=SCHEME)
    row = {}
    for name in SCORES:
        row[name] = point[name]
        row[f"{name}_low"], row[f"{name}_high"] = intervals[name]
    trained = np.flatnonzero(design.trained)
    if n_perm:
        sub = np.asarray(distance, dtype=float)[np.ix_(trained, trained)]
        row.update(permutation_pvalues(sub, design.subset(trained), n_perm=n_perm, seed=seed))
    else:
        row.update({"arch_auc_p": float("nan"), "task_auc_p": float("nan")})
    row.update({"n_boot": n_boot, "n_perm": n_perm})
    return row
