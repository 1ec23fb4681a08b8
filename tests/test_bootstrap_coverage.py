"""The design bootstrap and jackknife, validated by simulation against a known truth.

Zoos are drawn from a generating model with fixed cell effects: network k of cell
(task t, architecture a) sits at x = μ_t + μ_a + μ_ta + σ ε_k in R⁴, ε_k ~ N(0, I), and
distances are Euclidean. The truth of each score is its expected value over zoos of
this design (seeds random, cells fixed), estimated from 1000 simulated zoos. The 95 %
intervals of 200 further zoos must cover it at least 90 % of the time, and every
point estimate must lie inside its interval.
"""

import numpy as np
import pytest

from simbench.bench.bootstrap import bootstrap_intervals, cluster_weights, permutation_pvalues
from simbench.bench.design import Design
from simbench.bench.scores import ScoreFunction

SCORES = ("arch_auc", "task_auc", "knn_arch", "knn_task", "activation_auc", "dale_auc")
ARCHS = ["ctrnn-relu-dale", "ctrnn-tanh-dale", "ctrnn-relu-free", "ctrnn-tanh-free"]


def _model(n_seeds, separation=1.0, seed=0):
    rng = np.random.default_rng(seed)
    tasks, k = 2, 4
    mu_task, mu_arch = rng.normal(0, 1, (tasks, k)), rng.normal(0, separation, (len(ARCHS), k))
    mu_cell = rng.normal(0, 0.4, (tasks, len(ARCHS), k))
    t, a, s = (g.ravel() for g in np.meshgrid(np.arange(tasks), np.arange(len(ARCHS)), np.arange(n_seeds),
                                               indexing="ij"))
    design = Design.from_labels([ARCHS[i] for i in a], [f"task{i}" for i in t], seed=s)
    return mu_task[t] + mu_arch[a] + mu_cell[t, a], design


def _zoo(mean, rng, sigma=0.8):
    x = mean + sigma * rng.normal(size=mean.shape)
    return np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))


@pytest.mark.parametrize("n_seeds", [3, 6])
def test_intervals_cover_the_truth_and_hold_their_estimate(n_seeds):
    mean, design = _model(n_seeds)
    rng = np.random.default_rng(1)
    ones = np.ones((1, len(design)))
    draws = [ScoreFunction(_zoo(mean, rng), design)(ones) for _ in range(1000)]
    truth = {k: np.mean([d[k][0] for d in draws]) for k in SCORES}
    assert all(0.55 < truth[k] < 0.95 for k in SCORES), truth  # informative, not at a bound
    covered = dict.fromkeys(SCORES, 0)
    for sim in range(200):
        point, intervals = bootstrap_intervals(ScoreFunction(_zoo(mean, rng), design), n_boot=200, seed=sim)
        for name in SCORES:
            low, high = intervals[name]
            assert low <= point[name] <= high, (name, point[name], low, high)
            covered[name] += low <= truth[name] <= high
    coverage = {k: v / 200 for k, v in covered.items()}
    assert min(coverage.values()) >= 0.90, coverage


def test_the_naive_network_bootstrap_fails_where_the_design_bootstrap_holds():
    """The defect this replaces: resampling networks with replacement biases 1-NN low."""
    mean, design = _model(3)
    rng = np.random.default_rng(5)
    d = _zoo(mean, rng)
    point = ScoreFunction(d, design)(np.ones((1, len(design))))["knn_arch"][0]
    naive = []
    for _ in range(200):
        pick = rng.integers(0, len(design), len(design))
        sub = Design(design.table.iloc[pick].reset_index(drop=True).assign(source=np.arange(len(pick))))
        distance = d[np.ix_(pick, pick)]
        distance[pick[:, None] == pick[None, :]] = np.inf  # a copy is no neighbour
        naive.append(ScoreFunction(distance, sub)(np.ones((1, len(pick))))["knn_arch"][0])
    assert np.nanmean(naive) < point - 0.05  # biased low in the naive scheme


def test_cluster_weights_keep_cell_totals_and_controls_follow_their_source():
    table = Design.from_labels(["gru"] * 3 + ["lstm"] * 3 + ["gru"], ["t"] * 7).table
    table.loc[6, "control"], table.loc[6, "source"] = "random", 1
    design = Design(table)
    for scheme in ("rescaled", "multinomial", "bayes"):
        w = cluster_weights(design, 500, np.random.default_rng(0), scheme)
        assert np.allclose(w[:, :3].sum(1), 3) and np.allclose(w[:, 3:6].sum(1), 3)
        assert np.array_equal(w[:, 6], w[:, 1])
        assert w[:, :3].std(0).min() > 0.3  # they do vary
    with pytest.raises(ValueError, match="scheme"):
        cluster_weights(design, 2, np.random.default_rng(0), "jackknife")


def test_permutation_pvalues_are_uniform_under_the_null_and_small_under_an_effect():
    mean, design = _model(3, separation=0.0)
    rng = np.random.default_rng(2)
    null = [permutation_pvalues(_zoo(mean * 0, rng), design, n_perm=199, seed=s)["arch_auc_p"] for s in range(60)]
    assert 0.35 < np.mean(null) < 0.65 and np.mean(np.array(null) < 0.05) < 0.15
    mean, design = _model(3, separation=2.0)
    assert permutation_pvalues(_zoo(mean, rng, sigma=0.3), design, n_perm=199)["arch_auc_p"] == pytest.approx(0.005)
