"""Separation scores on distance matrices whose answers are known."""

import numpy as np
import pandas as pd
import pytest

from simbench.bench.bootstrap import bootstrap_intervals
from simbench.bench.design import Design
from simbench.bench.scores import ScoreFunction, separation_scores, weighted_auc

ARCH = np.repeat(["gru", "lstm", "ctrnn"], 6)
TASK = np.tile(np.repeat(["flipflop3", "decay3"], 3), 3)


def _label_distance(labels, noise=0.0, seed=0):
    d = (labels[:, None] != labels[None, :]).astype(float)
    rng = np.random.default_rng(seed)
    jitter = noise * rng.random(d.shape)
    d = d + jitter + jitter.T
    np.fill_diagonal(d, 0)
    return d


def test_a_pure_architecture_metric():
    s = separation_scores(_label_distance(ARCH), ARCH, TASK)
    assert s["arch_auc"] == 1.0 and s["knn_arch"] == 1.0
    assert s["task_auc"] == 0.5  # all same-architecture pairs tie at 0
    assert s["scaffold_specificity"] == -0.5
    assert np.isnan(s["topology_rho"])


def test_a_pure_task_metric():
    d = _label_distance(TASK, noise=0.01)
    s = separation_scores(d, ARCH, TASK, topology=_label_distance(TASK))
    assert s["task_auc"] == 1.0 and s["knn_task"] == 1.0
    assert 0.2 < s["arch_auc"] < 0.8
    assert s["scaffold_specificity"] > 0.2
    assert s["topology_rho"] > 0.8


def test_auc_matches_a_direct_count():
    rng = np.random.default_rng(3)
    x = rng.random((18, 18))
    d = x + x.T
    np.fill_diagonal(d, 0)
    i, j = np.triu_indices(18, 1)
    same_task = TASK[i] == TASK[j]
    pos = d[i, j][same_task & (ARCH[i] != ARCH[j])]
    neg = d[i, j][same_task & (ARCH[i] == ARCH[j])]
    expected = ((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())
    assert separation_scores(d, ARCH, TASK)["arch_auc"] == pytest.approx(expected)


def test_bootstrap_intervals_bracket_the_estimate():
    d = _label_distance(ARCH, noise=0.8, seed=1)
    point = separation_scores(d, ARCH, TASK)
    _, intervals = bootstrap_intervals(ScoreFunction(d, Design.from_labels(ARCH, TASK)), n_boot=100, seed=0)
    for name in ("arch_auc", "task_auc", "knn_arch"):
        low, high = intervals[name]
        assert low <= point[name] <= high and high - low < 0.6


def test_bad_input():
    with pytest.raises(ValueError, match="square"):
        separation_scores(np.zeros((3, 4)), ARCH[:3], TASK[:3])
    with pytest.raises(ValueError, match="labels"):
        separation_scores(np.zeros((3, 3)), ARCH[:2], TASK[:3])


def test_a_single_task_gives_no_task_scores():
    one_task = np.array(["cddm"] * len(ARCH))
    s = separation_scores(_label_distance(ARCH), ARCH, one_task)
    assert np.isnan(s["task_auc"]) and np.isnan(s["knn_task"]) and s["arch_auc"] == 1.0


def test_weighted_auc_equals_the_auc_of_repeated_pairs():
    """Integer weights are the same as repeating each pair that many times."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(4)
    d = np.round(rng.random(40), 1)  # ties included
    positive = rng.random(40) < 0.4
    counts = rng.integers(0, 4, 40)
    expected = roc_auc_score(np.repeat(positive, counts), np.repeat(d, counts))
    assert weighted_auc(d, positive, counts[None, :].astype(float))[0] == pytest.approx(expected)
    assert weighted_auc(d, positive, np.ones((1, 40)))[0] == pytest.approx(roc_auc_score(positive, d))


def test_factor_scores_see_only_their_factor():
    """A distance that depends on activation alone: activation_auc 1, dale_auc 0.5."""
    archs = [f"ctrnn-{a}-{d}" for a in ("relu", "sigmoid", "tanh") for d in ("dale", "free")]
    arch = np.repeat(archs, 3)
    task = np.array(["cddm"] * len(arch))
    activation = np.array([a.split("-")[1] for a in arch])
    d = _label_distance(activation, noise=0.01, seed=2)
    s = separation_scores(d, arch, task)
    assert s["activation_auc"] == 1.0
    assert 0.2 < s["dale_auc"] < 0.8
    assert s["activation_vs_dale"] == pytest.approx(s["activation_auc"] - s["dale_auc"])
    assert np.isnan(s["gating_auc"]) and np.isnan(s["width_auc"]) and np.isnan(s["control_auc"])


def test_width_and_control_scores():
    arch = np.repeat(["gru", "gru", "lstm", "lstm"], 3)
    hidden = np.repeat([32, 64, 32, 64], 3)
    task = np.array(["t"] * 12)
    design = Design.from_labels(arch, task, hidden=hidden)
    d = _label_distance(hidden, noise=0.01, seed=3)
    s = separation_scores(d, design=design)
    assert s["width_auc"] == 1.0 and 0.2 < s["arch_auc"] < 0.8
    table = design.table.copy()
    controls = table.iloc[:3].assign(control="random", source=[0, 1, 2])
    design = Design(pd.concat([table, controls], ignore_index=True))
    trained = np.r_[np.zeros(12), np.ones(3)]
    d = _label_distance(trained, noise=0.01, seed=4)
    s = separation_scores(d, design=design)
    assert s["control_auc"] == 1.0
    assert np.isclose(s["arch_auc"], separation_scores(d[:12, :12], design=design.subset(np.arange(12)))["arch_auc"])
