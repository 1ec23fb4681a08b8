"""Separation scores on distance matrices whose answers are known."""

import numpy as np
import pytest

from simbench.bench.scores import bootstrap_scores, separation_scores

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
    intervals = bootstrap_scores(d, ARCH, TASK, n_boot=100, seed=0)
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
