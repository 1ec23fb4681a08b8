"""The all-pairs engine, `simbench run` and leaderboards, end to end on the quick zoo."""

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simbench.bench.engine import all_pairs, prepare_all
from simbench.bench.run import run_benchmark
from simbench.cli import main
from simbench.metrics import get_metric
from simbench.zoo.build import build_zoo

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def zoo_dir(tmp_path_factory):
    """The quick zoo with every network marked as passing (its networks train for 20 steps)."""
    out = tmp_path_factory.mktemp("bench") / "quick"
    build_zoo(ROOT / "zoo" / "quick.toml", out=out, threads=1, progress=False)
    manifest = pd.read_csv(out / "manifest.csv")
    manifest["passed"] = True
    manifest.to_csv(out / "manifest.csv", index=False)
    return out


def _recordings(n=6, samples=60, units=5, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((samples, units)) for _ in range(n)]


def test_prepare_is_cached_by_key(tmp_path):
    metric = get_metric("cca")
    data = _recordings()
    keys = [f"net{i}" for i in range(len(data))]
    first, seconds, hits = prepare_all(metric, data, keys, cache=tmp_path)
    assert seconds > 0 and hits == 0

    def never():
        raise AssertionError("a cached network was recomputed")

    again, cached_seconds, hits = prepare_all(metric, [never] * len(data), keys, cache=tmp_path)
    assert hits == len(data) and cached_seconds == pytest.approx(seconds)  # the recorded cost
    np.testing.assert_array_equal(metric.pairwise(again), metric.pairwise(first))
    other, _, _ = prepare_all(get_metric("shape:alpha=0.5"), data, keys, cache=tmp_path)
    assert other[0].metric != first[0].metric  # a different configuration has its own entries


def test_process_pool_gives_the_local_matrix():
    metric = get_metric("procrustes")
    states, _, _ = prepare_all(metric, _recordings(n=7))
    local, _ = all_pairs(metric, states)
    pooled, _ = all_pairs(metric, states, workers=2)
    np.testing.assert_allclose(pooled, local, atol=1e-10)


def test_dask_cluster_gives_the_local_matrix():
    distributed = pytest.importorskip("distributed")
    metric = get_metric("cka")
    states, _, _ = prepare_all(metric, _recordings(n=5))
    local, _ = all_pairs(metric, states)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        remote, _ = all_pairs(metric, states, scheduler=cluster.scheduler_address)
    np.testing.assert_allclose(remote, local, atol=1e-12)


def test_run_publishes_rows_and_keeps_others(zoo_dir, tmp_path):
    out = tmp_path / "leaderboards"
    rows = run_benchmark("cca", zoo=zoo_dir, out=out, n_boot=20)
    assert list(rows.suite) == ["memory3"] and rows.n_networks[0] == 12
    assert 0 <= rows.arch_auc[0] <= 1 and rows.arch_auc_low[0] <= rows.arch_auc[0] <= rows.arch_auc_high[0]
    run_benchmark("shape:alpha=0.5", zoo=zoo_dir, out=out, n_boot=20)
    run_benchmark("cca", zoo=zoo_dir, out=out, n_boot=20)  # replaces its own row
    table = pd.read_csv(out / "memory3.csv")
    assert sorted(table.params) == sorted([get_metric("cca").name, get_metric("shape:alpha=0.5").name])
    distances = pd.read_csv(next((out / "distances" / "memory3").glob("cca*.csv")), index_col=0)
    assert distances.shape == (12, 12) and np.allclose(distances.to_numpy(), distances.to_numpy().T)
    before = (out / "memory3.csv").read_bytes()
    with pytest.raises(ValueError, match="unknown suite"):
        run_benchmark("cka", zoo=zoo_dir, out=out, suites=["memory3", "nope"], n_boot=20)
    with pytest.raises(ValueError, match="unknown metric"):
        run_benchmark("ccaa", zoo=zoo_dir, out=out)
    assert (out / "memory3.csv").read_bytes() == before


def test_cli_run_list_and_plot(zoo_dir, tmp_path, capsys):
    out = tmp_path / "lb"
    assert main(["run", "--metric", "cka", "--zoo", str(zoo_dir), "--out", str(out), "--bootstrap", "10"]) == 0
    assert main(["plot", "mds", "--metric", "cka", "--zoo", str(zoo_dir), "--leaderboards", str(out),
                 "--out", str(tmp_path / "plots")]) == 0
    png = tmp_path / "plots" / "mds-memory3-cka.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["metrics", "list"]) == 0
    listed = capsys.readouterr().out
    for metric_id in ("cca", "svcca", "pwcca", "shape", "procrustes", "permutation", "cka", "rsa",
                      "ot-units", "gw", "traj-lsq"):
        assert metric_id in listed
    assert main(["run", "--metric", "nope", "--zoo", str(zoo_dir), "--out", str(out)]) == 2


def test_trajectory_metrics_learn_the_number_of_conditions(zoo_dir, tmp_path):
    rows = run_benchmark("rsa", zoo=zoo_dir, out=tmp_path, n_boot=5)
    assert "n_conditions=24" in rows.params[0]  # memory3's probe set has 24 conditions
    rows = run_benchmark("rsa:n_conditions=12", zoo=zoo_dir, out=tmp_path, n_boot=5)
    assert "n_conditions=12" in rows.params[0]  # an explicit choice is kept
