"""Intervals and p-values that follow how a zoo was made.

A zoo's networks are nested: seeds within task × architecture × hidden-size cells, the
cells fixed by design. The uncertainty of a separation score is the uncertainty over
seeds, so the bootstrap resamples **seeds within each cell** (a stratified cluster
bootstrap): cell sizes stay fixed, an untrained control travels with the trained
network it was made from, and scores are evaluated with per-network weights
(:class:`~simbench.bench.scores.ScoreFunction`), so a network is never paired with its
own copy. The leave-one-out 1-NN accuracies are not resampled: a resampled cell holds
fewer distinct seeds, so every draw has fewer same-cell neighbours and the accuracy
is biased low in every draw (the percentile bootstrap's intervals then exclude the
point estimate). Their intervals come from the stratified delete-one-seed jackknife
(:func:`jackknife_interval`), which re-chooses each network's neighbour when a seed is
deleted.

Weight schemes (``scheme``):

- ``"rescaled"`` (default; Rao & Wu 1988, *J. Am. Stat. Assoc.* 83:231): in a cell of
  n seeds draw n − 1 with replacement and rescale the counts by n/(n − 1). For a mean
  this makes the bootstrap variance equal the unbiased variance estimate, where the
  plain bootstrap shrinks it by (n − 1)/n, a factor 2/3 for the three seeds of a cell
  of the reference zoo.
- ``"multinomial"``: the ordinary bootstrap within cells (n draws of n).
- ``"bayes"``: Rubin's (1981) Bayesian bootstrap, Dirichlet(1, …, 1) · n weights.

The interval is the percentile interval of the draws, widened where needed to contain
the point estimate (the hull of the two): a reported estimate never lies outside its
interval. ``tests/test_bootstrap_coverage.py`` checks by simulation, on zoos drawn
from a model with known expected scores, that the 95 % intervals cover the truth.

Permutation p-values (:func:`permutation_pvalues`) shuffle the labels a score asks about
*within its stratum* (architecture labels among the networks of one task and hidden
size, for ``arch_auc``; task labels within one architecture, for ``task_auc``) and
report ``(1 + #{AUROC_perm ≥ AUROC_obs}) / (1 + n_perm)``.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm, rankdata

from simbench.bench.design import Design
from simbench.bench.scores import SCORES, NeighbourHits, ScoreFunction

SCHEMES = ("rescaled", "multinomial", "bayes")


def cluster_weights(design: Design, n_boot: int, rng: np.random.Generator,
                    scheme: str = "rescaled") -> np.ndarray:
    """``[n_boot, n]`` network weights: seeds resampled within each cell (module docstring)."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown bootstrap scheme {scheme!r}; valid: {', '.join(SCHEMES)}")
    n = len(design)
    weights = np.ones((n_boot, n))
    trained = np.flatnonzero(design.trained)
    cells = design.cells[trained]
    for cell in np.unique(cells):
        members = trained[cells == cell]
        size = len(members)
        if size < 2:
            continue  # one seed: nothing to resample
        if scheme == "bayes":
            weights[:, members] = rng.dirichlet(np.ones(size), size=n_boot) * size
        else:
            draws = size - 1 if scheme == "rescaled" else size
            counts = rng.multinomial(draws, np.full(size, 1 / size), size=n_boot)
            weights[:, members] = counts * (size / draws)
    source = design.column("source")
    controls = np.flatnonzero(~design.trained)
    weights[:, controls] = weights[:, source[controls]]
    return weights


def wilson_interval(point: float, variance: float, cap: int, level: float) -> tuple[float, float]:
    """Wilson score interval of a proportion whose estimate has ``variance``.

    The effective sample size ``n = p(1 − p) / variance`` (capped at ``cap``, and
    ``cap`` itself where p is 0 or 1 or the variance vanishes) matches the interval to
    the estimated variance in the interior while keeping it inside [0, 1] and away from
    zero width at the boundary, where a resampled proportion stops varying (Wilson
    1927; Brown, Cai & DasGupta 2001). The interval always contains ``point``.
    """
    z = norm.ppf(0.5 + level / 2)
    spread = point * (1 - point)
    n = cap if spread == 0 or variance <= 0 else float(np.clip(spread / variance, 1, cap))
    centre = (point + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(spread / n + z**2 / (4 * n**2))
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def percentile_hull(draws: np.ndarray, point: float, level: float,
                    proportion_cap: int | None = None) -> tuple[float, float]:
    """Percentile interval of the finite draws, widened to contain ``point``; for a
    proportion (``proportion_cap`` given), also widened to its :func:`wilson_interval`."""
    draws = draws[np.isfinite(draws)]
    if not np.isfinite(point) or not len(draws):
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    low, high = min(low, point), max(high, point)
    if proportion_cap:
        w_low, w_high = wilson_interval(point, float(np.var(draws)), proportion_cap, level)
        low, high = min(low, w_low), max(high, w_high)
    return float(low), float(high)


def jackknife_interval(neighbours: NeighbourHits, design: Design, level: float = 0.95) -> tuple[float, float]:
    """Stratified delete-one-seed jackknife interval of a 1-NN accuracy, within [0, 1].

    ``v = Σ_cells (n_h − 1)/n_h Σ_k (θ₍ₖ₎ − θ̄₍ₕ₎)²`` over the trained networks k of each
    cell h, where θ₍ₖ₎ is the accuracy of the zoo without network k (its neighbours
    re-chosen); the interval is the :func:`wilson_interval` with that variance (≈ θ ± z √v
    inside (0, 1)). By the Efron–Stein inequality the jackknife variance errs on the
    large side.
    """
    point = neighbours.accuracy()
    if not np.isfinite(point):
        return float("nan"), float("nan")
    trained = np.flatnonzero(design.trained)
    cells = design.cells[trained]
    variance = 0.0
    for cell in np.unique(cells):
        members = trained[cells == cell]
        replicates = np.array([neighbours.deleted(k) for k in members])
        replicates = replicates[np.isfinite(replicates)]
        if len(replicates) > 1:
            size = len(replicates)
            variance += (size - 1) / size * ((replicates - replicates.mean()) ** 2).sum()
    classified = int(np.isfinite(neighbours.hits).sum())
    return wilson_interval(point, variance, classified, level)


def bootstrap_intervals(scores: ScoreFunction, n_boot: int = 1000, seed: int = 0, level: float = 0.95,
                        scheme: str = "rescaled") -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """Point estimates and intervals of every score: the design bootstrap for the AUROCs
    and correlations, the stratified jackknife for the 1-NN accuracies."""
    n = len(scores.design)
    point = {k: float(v[0]) for k, v in scores(np.ones((1, n))).items()}
    weights = cluster_weights(scores.design, n_boot, np.random.default_rng(seed), scheme)
    draws = {name: [] for name in SCORES}
    for block in np.array_split(weights, max(1, n_boot // 100)):
        for name, values in scores(block).items():
            draws[name].append(values)
    caps = {name: len(pairs.i) for name, pairs in scores.pairs.items()}
    intervals = {name: percentile_hull(np.concatenate(draws[name]), point[name], level, caps.get(name))
                 for name in SCORES}
    for name, neighbours in scores.neighbours.items():
        intervals[name] = jackknife_interval(neighbours, scores.design, level)
    return point, intervals


def _stratum_pairs(design: Design, stratum: tuple[str, ...]):
    n = len(design)
    i, j = np.triu_indices(n, k=1)
    keep = design.trained[i] & design.trained[j]
    for name in stratum:
        values = design.column(name)
        keep &= values[i] == values[j]
    return i[keep], j[keep]


def permuted_auc(distance, design: Design, label: str, stratum: tuple[str, ...], n_perm: int,
                 rng: np.random.Generator) -> tuple[float, np.ndarray]:
    """Observed AUROC of "different ``label``" vs "same" among pairs equal in ``stratum``,
    and its permutation distribution (``label`` shuffled within each stratum)."""
    i, j = _stratum_pairs(design, stratum)
    if len(i) == 0:
        return float("nan"), np.array([])
    ranks = rankdata(np.asarray(distance, dtype=float)[i, j])
    keys = design.codes(stratum)
    trained = np.flatnonzero(design.trained)
    groups = [trained[keys[trained] == k] for k in np.unique(keys[trained])]

    def auc(values):
        positive = values[:, i] != values[:, j]
        n_pos = positive.sum(1)
        n_neg = len(i) - n_pos
        with np.errstate(invalid="ignore", divide="ignore"):
            return (positive @ ranks - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)

    codes = design.codes((label,))
    observed = float(auc(codes[None, :])[0])
    null = []
    for size in _chunks(n_perm, 100):
        shuffled = np.repeat(codes[None, :], size, axis=0)
        for members in groups:
            shuffled[:, members] = rng.permuted(shuffled[:, members], axis=1)
        null.append(auc(shuffled))
    return observed, np.concatenate(null)


def _chunks(total: int, size: int):
    while total > 0:
        yield min(size, total)
        total -= size


def permutation_pvalues(distance, design: Design, n_perm: int = 1000, seed: int = 0) -> dict[str, float]:
    """One-sided permutation p-values of ``arch_auc`` and ``task_auc`` (module docstring)."""
    rng = np.random.default_rng(seed)
    tests = {"arch_auc": ("architecture", ("task", "hidden")), "task_auc": ("task", ("architecture", "hidden"))}
    out = {}
    for score, (label, stratum) in tests.items():
        observed, null = permuted_auc(distance, design, label, stratum, n_perm, rng)
        null = null[np.isfinite(null)]
        out[f"{score}_p"] = (float((1 + (null >= observed - 1e-12).sum()) / (1 + len(null)))
                             if np.isfinite(observed) and len(null) else float("nan"))
    return out
