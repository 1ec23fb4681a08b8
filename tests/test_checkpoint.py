"""A distance matrix computed in saved blocks of rows: equal to one ``pairwise`` call,
and a run cut in the middle resumes at its first unfinished row."""

import numpy as np
import pytest

from simbench.bench.checkpoint import _block_end, _pairs, checkpointed_pairs
from simbench.bench.engine import all_pairs
from simbench.metrics import get_metric
from simbench.metrics.base import _item_label, check_distances


def _states(metric, n=9, samples=40, units=4, seed=0):
    rng = np.random.default_rng(seed)
    return [metric.prepare(rng.standard_normal((samples, units)), label=f"net{i}") for i in range(n)]


class Recorded:
    """A metric that records the first rows of each ``pairwise``/``cross`` call (by
    position in ``states``); the ``cut_at``-th call of ``cross`` raises
    KeyboardInterrupt (a session's end)."""

    def __init__(self, metric, states, cut_at=None):
        self.metric, self.position, self.cut_at = metric, {id(s): i for i, s in enumerate(states)}, cut_at
        self.rows, self.cross_calls = [], 0

    def pairwise(self, block):
        self.rows += [self.position[id(s)] for s in block]
        return self.metric.pairwise(block)

    def cross(self, a, b):
        self.cross_calls += 1
        if self.cross_calls == self.cut_at:
            raise KeyboardInterrupt
        return self.metric.cross(a, b)


def test_blocks_hold_the_pairs_asked_for_and_cover_every_row():
    n = 10
    assert [_block_end(n, 0, p) for p in (1, 9, 10, 17, 45, 10**6)] == [1, 1, 2, 2, 10, 10]
    assert _block_end(n, 8, 1) == 10  # the last row has no pairs: it joins the block before
    assert _pairs(n, 0, n) == n * (n - 1) // 2 and _pairs(n, 3, 5) == 6 + 5


@pytest.mark.parametrize("spec", ["cka", "procrustes", "rsa"])
def test_the_blocked_matrix_is_the_pairwise_matrix(spec, tmp_path):
    metric = get_metric(spec)
    states = _states(metric)
    blocked, _ = all_pairs(metric, states, checkpoint=(tmp_path / "pairs.npz", "k"))
    np.testing.assert_allclose(blocked, metric.pairwise(states), rtol=1e-10, atol=1e-12)
    assert np.array_equal(blocked, blocked.T) and not np.diag(blocked).any()


def test_a_cut_run_resumes_at_its_first_unfinished_row(tmp_path):
    metric, path = get_metric("procrustes"), tmp_path / "pairs.npz"
    states = _states(metric, n=12)
    whole, _ = checkpointed_pairs(metric, states, tmp_path / "whole.npz", "k", seconds_per_block=0)
    cut = Recorded(metric, states, cut_at=3)
    with pytest.raises(KeyboardInterrupt):  # 0 s a block: one row a block after the first
        checkpointed_pairs(cut, states, path, "k", seconds_per_block=0)
    with np.load(path) as saved:
        done, saved_seconds = int(saved["rows_done"]), float(saved["seconds"])
    assert done == cut.rows[-2] + 1 and saved_seconds > 0  # two blocks saved, the third cut
    resumed = Recorded(metric, states)
    distance, seconds = checkpointed_pairs(resumed, states, path, "k", seconds_per_block=0)
    assert sorted(resumed.rows) == list(range(done, len(states)))  # the saved rows are not redone
    assert np.array_equal(distance, whole)
    assert seconds > saved_seconds  # the earlier run's work is counted


def test_a_checkpoint_saved_for_another_run_is_not_read(tmp_path):
    metric, path = get_metric("cka"), tmp_path / "pairs.npz"
    states = _states(metric)
    checkpointed_pairs(metric, states, path, "other metric or networks")
    recorded = Recorded(metric, states)
    checkpointed_pairs(recorded, states, path, "this run")
    assert sorted(recorded.rows) == list(range(len(states)))
    checkpointed_pairs(metric, states[:5], path, "this run")  # same key, other networks
    recorded = Recorded(metric, states)
    checkpointed_pairs(recorded, states, path, "this run")
    assert sorted(recorded.rows) == list(range(len(states)))
    path.write_bytes(b"not an npz")  # a broken file: a fresh start, not an error
    recorded = Recorded(metric, states)
    distance, _ = checkpointed_pairs(recorded, states, path, "k")
    assert sorted(recorded.rows) == list(range(len(states)))
    np.testing.assert_allclose(distance, metric.pairwise(states), rtol=1e-10, atol=1e-12)


def test_the_checkpoint_key_names_the_networks_in_their_order(tmp_path):
    """The saved matrix's rows follow the networks' order: the same networks in another
    order (or another metric configuration) must not read it."""
    import pandas as pd

    from simbench.bench.run import pairs_checkpoint
    from simbench.zoo.store import Zoo

    manifest = pd.DataFrame({"id": ["a", "b", "c"], "content_hash": ["1", "2", "3"]})
    zoo = Zoo(tmp_path, manifest)
    path, key = pairs_checkpoint(get_metric("cka"), zoo, "memory3")
    assert path.parent == tmp_path / "cache" / "pairs" and path.name.startswith("memory3-")
    reordered = Zoo(tmp_path, manifest.iloc[[1, 0, 2]])
    assert pairs_checkpoint(get_metric("cka"), reordered, "memory3")[1] != key
    assert pairs_checkpoint(get_metric("cka:estimator=unbiased"), zoo, "memory3")[1] != key
    assert pairs_checkpoint(get_metric("cka"), Zoo(tmp_path, manifest.copy()), "memory3") == (path, key)


class NaNFrom:
    """cka, except that any pair of ``bad`` with another state is NaN; checked as the
    built-in ``pairwise`` and ``cross`` check (their labels)."""

    def __init__(self, metric, bad):
        self.metric, self.bad = metric, bad

    def _poison(self, D, a, b):
        D = D.copy()
        for i, x in enumerate(a):
            for j, y in enumerate(b):
                if (x is self.bad) != (y is self.bad):
                    D[i, j] = np.nan
        return D

    def pairwise(self, states):
        D = self._poison(self.metric.pairwise(states), states, states)
        return check_distances(D, "cka", lambda i, j: f"{_item_label(states, i)} and {_item_label(states, j)}")

    def cross(self, a, b):
        D = self._poison(self.metric.cross(a, b), a, b)
        return check_distances(D, "cka", lambda i, j: f"{_item_label(a, i, 'a')} and {_item_label(b, j, 'b')}")


@pytest.mark.parametrize("bad", [0, 7, 11])
def test_an_error_names_the_networks_by_their_place_in_the_matrix(bad, tmp_path):
    metric = get_metric("cka")
    states = _states(metric, n=12)
    with pytest.raises(ValueError) as whole:
        NaNFrom(metric, states[bad]).pairwise(states)
    with pytest.raises(ValueError) as blocked:
        checkpointed_pairs(NaNFrom(metric, states[bad]), states, tmp_path / "p.npz", "k", seconds_per_block=0)
    first = "network 0 and network 1" if bad == 0 else f"network 0 and network {bad}"
    assert first in str(whole.value) and first in str(blocked.value)
