"""`simbench reliability`: the split-half table over a zoo's published suites."""

import numpy as np
import pandas as pd
import pytest

from simbench.bench.leaderboard import save_distances
from simbench.bench.reliability import half_scores, ranking_reliability, reliability_table
from simbench.cli import main
from simbench.zoo.store import Zoo


def _published(tmp_path, suites=("s1", "s2"), seeds=8):
    """Two suites of four architectures; four metrics that add graded noise to the
    pure-architecture distance (so their ranking is known: less noise, higher arch_auc)."""
    archs = ["gru", "lstm", "ugrnn", "vanilla-tanh"]
    manifest = pd.DataFrame([{"id": f"{s}-{a}-s{k}", "suite": s, "task": s, "architecture": a, "hidden": 32,
                              "seed": k, "passed": True, "content_hash": f"{s}{a}{k}"}
                             for s in suites for a in archs for k in range(seeds)])
    for s in suites:
        part = manifest[manifest.suite == s]
        arch = part["architecture"].to_numpy()
        base = (arch[:, None] != arch[None]).astype(float)
        for k, noise in enumerate((0.1, 0.5, 1.0, 2.0)):
            x = np.random.default_rng(k).random(base.shape) * noise
            d = base + x + x.T
            np.fill_diagonal(d, 0)
            save_distances(tmp_path / "lb", s, f"m{k}", part["id"], d)
        pd.DataFrame([{"metric": f"m{k}", "params": f"m{k}", "suite": s, "zoo": "zoo"} for k in range(4)]).to_csv(
            tmp_path / "lb" / f"{s}.csv", index=False)
    return Zoo(tmp_path / "zoo", manifest)


def test_table_holds_each_suites_ranking_reliability(tmp_path):
    zoo = _published(tmp_path)
    table = reliability_table(tmp_path / "lb", zoo)
    assert sorted(set(table.suite)) == ["s1", "s2"]
    for suite in ("s1", "s2"):
        expected = ranking_reliability(half_scores(tmp_path / "lb", zoo, suite))
        got = table[table.suite == suite].reset_index(drop=True)
        pd.testing.assert_frame_equal(got[["score", "metrics", "spearman"]], expected)
    assert table.set_index(["suite", "score"]).loc[("s1", "arch_auc"), "spearman"] == pytest.approx(1.0)
    only = reliability_table(tmp_path / "lb", zoo, suites=["s2"])
    assert set(only.suite) == {"s2"}


def test_a_zoo_without_rows_is_one_clear_error(tmp_path):
    zoo = _published(tmp_path)
    other = Zoo(tmp_path / "other", zoo.manifest)
    with pytest.raises(ValueError, match="no published rows of zoo 'other'"):
        reliability_table(tmp_path / "lb", other)


def test_cli_prints_and_writes_the_table(tmp_path, monkeypatch, capsys):
    zoo = _published(tmp_path)
    from simbench.zoo import store

    monkeypatch.setattr(store, "load_zoo", lambda path: zoo)
    out = tmp_path / "reliability.csv"
    assert main(["reliability", "--zoo", "zoo", "--leaderboards", str(tmp_path / "lb"), "--out", str(out)]) in (0, None)
    written = pd.read_csv(out)
    assert len(written) == 2 * 7 and "split-half" in capsys.readouterr().out
