"""The all-pairs engine, `simbench run` and leaderboards, end to end on the quick zoo."""

import json
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


@pytest.fixture(scope="module")
def varied_zoo(zoo_dir, tmp_path_factory):
    """The quick zoo with readout biases set so that fixed-point labels differ by seed and task.

    Its untrained networks each have one stable fixed point; the topology graph labels a
    node by its readout signs, so the biases give the fp-topology distance three levels.
    """
    from safetensors.numpy import load_file

    from simbench.zoo.store import write_manifest, write_network

    out = tmp_path_factory.mktemp("varied") / "varied"
    for meta_path in sorted((zoo_dir / "networks").glob("*.json")):
        meta = json.loads(meta_path.read_text())
        weights = load_file(str(meta_path.with_suffix(".safetensors")))
        if meta["seed"] == 1:
            weights["b_out"] = np.array([[1.0, -1.0, 1.0]], dtype=np.float32)
        if meta["task"] == "decay3":
            weights["b_out"] = np.array([[-1.0, -1.0, -1.0]], dtype=np.float32)
        write_network(out, meta["id"], weights, {**meta, "passed": True})
    write_manifest(out)
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


def test_a_refused_network_is_none_or_the_error_as_asked(caplog):
    metric = get_metric("cca")
    data = _recordings(n=4)
    data[2] = data[2].copy()
    data[2][5, 1] = np.nan  # cca refuses a recording with NaN
    labels = [f"net{i}" for i in range(4)]
    with pytest.raises(ValueError, match="net2"):
        prepare_all(metric, data, labels=labels)
    states, _, _ = prepare_all(metric, data, labels=labels, refused="none")
    assert states[2] is None and "net2 cannot be scored" in caplog.text
    clean, _, _ = prepare_all(metric, [d for k, d in enumerate(data) if k != 2], labels=labels[:2] + labels[3:])
    np.testing.assert_array_equal(metric.pairwise([s for s in states if s is not None]), metric.pairwise(clean))
    with pytest.raises(ValueError, match="refused must be 'raise' or 'none'"):
        prepare_all(metric, data, refused="skip")


def test_prepare_seconds_count_the_metric_not_the_loading(monkeypatch):
    """A state's recorded cost is what ``prepare`` took, not the simulation or reading of
    its recording: a loader that moves a fake clock by 100 s adds nothing."""
    from simbench.bench import engine

    clock = [0.0]
    monkeypatch.setattr(engine.time, "perf_counter", lambda: clock[0])

    def slow_loader(data):
        def load():
            clock[0] += 100.0
            return data
        return load

    _, seconds, _ = prepare_all(get_metric("cca"), [slow_loader(d) for d in _recordings(n=3)])
    assert seconds == 0.0


class _BatchModelMetric:
    """A model metric that refuses a whole batch when one network in it is "bad"."""
    id = name = "batch-model"
    version = 1
    input = "model"

    def prepare_many(self, items, labels=None):
        from simbench.metrics.base import State
        for item, label in zip(items, labels):
            if item == "bad":
                raise ValueError(f"{label}: bad network")
        return [State(self.name, 1, {"x": np.array([float(item)])}, {}) for item in items]


def test_a_refused_model_batch_is_retried_one_network_at_a_time():
    metric = _BatchModelMetric()
    with pytest.raises(ValueError, match="m1: bad network"):
        prepare_all(metric, ["1", "bad", "3"], labels=["m0", "m1", "m2"])
    states, _, _ = prepare_all(metric, ["1", "bad", "3"], labels=["m0", "m1", "m2"], refused="none")
    assert states[1] is None and [s.arrays["x"][0] for k, s in enumerate(states) if k != 1] == [1.0, 3.0]


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
    saved = [p.stem for p in (tmp_path / "distances" / "memory3").glob("*.csv")]
    assert saved == [rows.params[0].replace(":", "_")]  # saved under the configuration that ran
    assert main(["plot", "mds", "--metric", "rsa", "--zoo", str(zoo_dir), "--leaderboards", str(tmp_path),
                 "--out", str(tmp_path / "plots")]) == 0
    rows = run_benchmark("rsa:n_conditions=12", zoo=zoo_dir, out=tmp_path, n_boot=5)
    assert "n_conditions=12" in rows.params[0]  # an explicit choice is kept


def test_topology_rho_is_the_rank_correlation_with_fp_topology(varied_zoo, tmp_path):
    from scipy.stats import spearmanr

    from simbench.metrics.fp_topology import topology_distance_matrix
    from simbench.zoo.store import load_zoo

    rows = run_benchmark("cca", zoo=varied_zoo, out=tmp_path, n_boot=5)
    zoo = load_zoo(varied_zoo)
    ids = zoo.filter(suite="memory3", passed=True).ids
    topology = topology_distance_matrix([zoo.network(i) for i in ids])  # direct, no caches
    cca = pd.read_csv(next((tmp_path / "distances" / "memory3").glob("cca*.csv")), index_col=0)
    i, j = np.triu_indices(len(ids), 1)
    expected = spearmanr(cca.loc[ids, ids].to_numpy()[i, j], topology[i, j])[0]
    assert rows.topology_rho[0] == pytest.approx(expected, abs=1e-12)
    assert np.isnan(run_benchmark("cca", zoo=varied_zoo, out=tmp_path, n_boot=5, topology=False).topology_rho[0])


def test_published_topology_matrix_is_reused(varied_zoo, tmp_path):
    from simbench.bench.run import topology_reference
    from simbench.zoo.store import load_zoo

    rows = run_benchmark("fp-topology", zoo=varied_zoo, out=tmp_path, n_boot=5)
    assert rows.topology_rho[0] == pytest.approx(1.0)  # the reference itself
    kept = load_zoo(varied_zoo).filter(suite="memory3", passed=True)
    path = next((tmp_path / "distances" / "memory3").glob("fp-topology*.csv"))
    published = pd.read_csv(path, index_col=0)
    marked = published + 7.0  # a change that only the published file carries
    marked.to_csv(path)
    np.testing.assert_allclose(topology_reference(kept, "memory3", tmp_path), marked.loc[kept.ids, kept.ids])
    other = kept.filter(seed=0)  # a subset of the published networks: the block is read
    np.testing.assert_allclose(topology_reference(other, "memory3", tmp_path), marked.loc[other.ids, other.ids])
    marked.iloc[1:, 1:].to_csv(path)  # a matrix that misses one of the networks: computed, not read
    assert topology_reference(kept, "memory3", tmp_path).max() < 7.0


def test_cli_fixed_points_prints_and_plots(varied_zoo, tmp_path, capsys):
    from simbench.zoo.store import load_zoo

    network = load_zoo(varied_zoo).ids[0]
    png = tmp_path / "fp.png"
    assert main(["fixed-points", network, "--zoo", str(varied_zoo), "--out", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "fixed points per constant input" in capsys.readouterr().out
    assert main(["fixed-points", network, "--zoo", str(varied_zoo), "--condition", "nope"]) == 2
    assert "valid: zero" in capsys.readouterr().err  # errors go to stderr
    assert main(["fixed-points", "no-such-net", "--zoo", str(varied_zoo)]) == 2


def test_ood_rho_is_the_rank_correlation_with_the_behaviour_reference(zoo_dir, tmp_path, monkeypatch):
    """``ood_rho`` correlates D with the reference metric's distances; the real reference
    (``ood``) is defined on cddm only, so memory3 rows leave it empty."""
    from scipy.stats import spearmanr

    from simbench.bench import run

    assert np.isnan(run_benchmark("cca", zoo=zoo_dir, out=tmp_path / "a", n_boot=5).ood_rho[0])
    monkeypatch.setitem(run.REFERENCE_METRICS, "ood", "cka")  # a stand-in defined on memory3
    rows = run_benchmark("cca", zoo=zoo_dir, out=tmp_path / "b", n_boot=5, controls=False)
    cka = run_benchmark("cka", zoo=zoo_dir, out=tmp_path / "c", n_boot=5, topology=False)
    read = [pd.read_csv(next((tmp_path / d / "distances" / "memory3").glob(f"{m}*.csv")), index_col=0)
            for d, m in (("b", "cca"), ("c", "cka"))]
    i, j = np.triu_indices(len(read[0]), 1)
    expected = spearmanr(read[0].to_numpy()[i, j], read[1].loc[read[0].index, read[0].index].to_numpy()[i, j])[0]
    assert rows.ood_rho[0] == pytest.approx(expected, abs=1e-12)
    assert rows.ood_rho_low[0] <= rows.ood_rho[0] <= rows.ood_rho_high[0]
    assert cka.ood_rho.isna().all()  # ood_rho needs topology=True, like topology_rho


def test_a_metric_runs_only_on_the_suites_it_declares(zoo_dir, tmp_path):
    from simbench.metrics.cca import CCA

    class CDDMOnly(CCA):
        suites = ("cddm",)

    assert run_benchmark(CDDMOnly(), zoo=zoo_dir, out=tmp_path, n_boot=5).empty
    assert run_benchmark(CDDMOnly(), zoo=zoo_dir, out=tmp_path, suites=["memory3"], n_boot=5,
                         undefined_suites="skip").empty
    assert run_benchmark(CDDMOnly(), zoo=zoo_dir, out=tmp_path, suites=["memory3"], n_boot=5,
                         undefined_suites="skip").empty
    from simbench.bench.run import chosen_suites
    from simbench.zoo.store import load_zoo

    assert chosen_suites(CDDMOnly(), load_zoo(zoo_dir), None) == []
    from simbench.zoo.store import Zoo

    both = Zoo(tmp_path, pd.DataFrame({"id": ["a", "b"], "suite": ["memory3", "cddm"]}))
    assert chosen_suites(CDDMOnly(), both, ["memory3", "cddm"]) == ["cddm"]  # the other is dropped
    assert chosen_suites(CDDMOnly(), both, None) == ["cddm"]
    with pytest.raises(ValueError, match="defined on the cddm suite.* only, not on 'memory3'"):
        run_benchmark(CDDMOnly(), zoo=zoo_dir, out=tmp_path, suites=["memory3"], n_boot=5)
    assert not (tmp_path / "memory3.csv").exists()


def test_resume_skips_what_is_published_for_these_networks(zoo_dir, tmp_path, monkeypatch):
    from simbench.bench import run

    run_benchmark("cka", zoo=zoo_dir, out=tmp_path, n_boot=5)
    before = (tmp_path / "memory3.csv").read_bytes()

    def never(*args, **kwargs):
        raise AssertionError("a published suite was scored again")

    with monkeypatch.context() as patched:
        patched.setattr(run, "score_suite", never)
        assert run_benchmark("cka", zoo=zoo_dir, out=tmp_path, n_boot=5, resume=True).empty
    assert (tmp_path / "memory3.csv").read_bytes() == before
    fewer = tmp_path / "fewer"  # another set of networks: its row is not the published one
    shutil.copytree(zoo_dir, fewer)
    manifest = pd.read_csv(fewer / "manifest.csv")
    manifest.loc[manifest.seed == 1, "passed"] = False
    manifest.to_csv(fewer / "manifest.csv", index=False)
    rows = run_benchmark("cka", zoo=fewer, out=tmp_path, n_boot=5, resume=True)
    assert list(rows.suite) == ["memory3"] and rows.n_networks[0] == 6


def test_a_suite_is_published_as_soon_as_it_is_scored(zoo_dir, tmp_path, monkeypatch):
    """A run that fails on its second suite keeps the first suite's row and matrix."""
    from simbench.bench import run

    scored = run.score_suite

    def second_fails(metric, zoo, suite, *args, **kwargs):
        if suite != "memory3":
            raise ValueError(f"{suite}: a degenerate network")
        return scored(metric, zoo, suite, *args, **kwargs)

    monkeypatch.setattr(run, "chosen_suites", lambda *args: ["memory3", "context"])
    monkeypatch.setattr(run, "score_suite", second_fails)
    with pytest.raises(ValueError, match="context: a degenerate network"):
        run_benchmark("cka", zoo=zoo_dir, out=tmp_path, n_boot=5)
    published = pd.read_csv(tmp_path / "memory3.csv")
    assert list(published.metric) == ["cka"] and not (tmp_path / "context.csv").exists()
    kept = run.load_zoo(zoo_dir).filter(suite="memory3", passed=True)
    assert run.published_row(tmp_path, "memory3", published.params[0], kept) is not None  # resume skips it


def test_rescore_reproduces_the_run_and_fills_references_from_published_matrices(varied_zoo, tmp_path,
                                                                                 monkeypatch):
    from scipy.stats import spearmanr

    from simbench.bench import rescore as rescoring
    from simbench.zoo.store import load_zoo

    rows = run_benchmark("cca", zoo=varied_zoo, out=tmp_path, n_boot=20)
    run_benchmark("fp-topology", zoo=varied_zoo, out=tmp_path, n_boot=20)
    run_benchmark("cka", zoo=varied_zoo, out=tmp_path, n_boot=20, topology=False)
    monkeypatch.setitem(rescoring.REFERENCE_PREFIXES, "ood", "cka:")  # a stand-in for the cddm-only ood
    again = rescoring.rescore(tmp_path, load_zoo(varied_zoo), n_boot=20).set_index("metric")
    for score in ("arch_auc", "task_auc", "knn_arch", "knn_task", "topology_rho"):
        assert again.loc["cca", score] == pytest.approx(rows[score][0], abs=1e-12)
    read = {m: pd.read_csv(next((tmp_path / "distances" / "memory3").glob(f"{m}*.csv")), index_col=0)
            for m in ("cca", "cka")}
    ids = list(read["cca"].index)
    i, j = np.triu_indices(len(ids), 1)
    expected = spearmanr(read["cca"].to_numpy()[i, j], read["cka"].loc[ids, ids].to_numpy()[i, j])[0]
    assert again.loc["cca", "ood_rho"] == pytest.approx(expected, abs=1e-12)
    table = pd.read_csv(tmp_path / "memory3.csv").set_index("metric")
    assert table.loc["cca", "ood_rho"] == pytest.approx(expected, abs=1e-12)  # published


def test_first_seeds_keeps_the_lowest_passing_seeds_of_every_cell(tmp_path):
    from simbench.bench.run import first_seeds
    from simbench.zoo.store import Zoo

    rows = [{"id": f"{t}-{a}-h{h}-s{k}", "task": t, "architecture": a, "hidden": h, "seed": k}
            for t in ("x", "y") for a in ("gru", "lstm") for h in (32, 64) for k in (4, 0, 3, 1, 2)
            if not (t == "y" and a == "gru" and h == 64 and k == 0)]  # one cell lacks seed 0
    zoo = Zoo(tmp_path, pd.DataFrame(rows))
    sub = first_seeds(zoo, 2)
    seeds = sub.manifest.groupby(["task", "architecture", "hidden"]).seed.apply(sorted)
    assert len(seeds) == 8 and all(s == [0, 1] for s in seeds.drop(("y", "gru", 64)))
    assert seeds[("y", "gru", 64)] == [1, 2]
    assert list(sub.manifest.index) == sorted(sub.manifest.index)  # the zoo's order is kept
    assert len(first_seeds(zoo, 99)) == len(zoo) and first_seeds(zoo, None) is zoo
    with pytest.raises(ValueError, match="at least 2"):
        first_seeds(zoo, 1)


def test_a_subsampled_row_says_so(varied_zoo, tmp_path):
    rows = run_benchmark("cca", zoo=varied_zoo, out=tmp_path, n_boot=5, seeds_per_cell=2)
    assert rows.seeds_per_cell[0] == 2
    assert pd.isna(run_benchmark("cca", zoo=varied_zoo, out=tmp_path, n_boot=5).seeds_per_cell[0])
    assert pd.isna(pd.read_csv(tmp_path / "memory3.csv").seeds_per_cell[0])  # replaced by the full row


def test_rescore_checks_a_subsampled_row_against_its_subsample(varied_zoo, tmp_path):
    """A row of the lowest seeds per cell is rescored (its topology_rho from the block of the
    full fp-topology matrix), not refused as made on other networks."""
    from safetensors.numpy import load_file

    from simbench.bench.rescore import rescore
    from simbench.zoo.store import load_zoo, write_manifest, write_network

    zoo = tmp_path / "zoo"  # the varied zoo plus a third seed of every cell (seed 0, perturbed)
    shutil.copytree(varied_zoo, zoo, ignore=shutil.ignore_patterns("cache", "recordings", "dynamics"))
    rng = np.random.default_rng(0)
    for meta_path in sorted((zoo / "networks").glob("*-s0.json")):
        meta = json.loads(meta_path.read_text())
        weights = {k: (v + 1e-2 * rng.standard_normal(v.shape)).astype(v.dtype)
                   for k, v in load_file(str(meta_path.with_suffix(".safetensors"))).items()}
        write_network(zoo, meta["id"][:-1] + "2", weights, {**meta, "id": meta["id"][:-1] + "2", "seed": 2})
    write_manifest(zoo)
    out = tmp_path / "lb"
    run_benchmark("fp-topology", zoo=zoo, out=out, n_boot=20)
    rows = run_benchmark("cca", zoo=zoo, out=out, n_boot=20, seeds_per_cell=2)
    assert rows.n_networks[0] == 12 < len(load_zoo(zoo).filter(suite="memory3", passed=True)) == 18
    again = rescore(out, load_zoo(zoo), n_boot=20).set_index("metric")
    for score in ("arch_auc", "task_auc", "topology_rho"):
        assert again.loc["cca", score] == pytest.approx(rows[score][0], abs=1e-12)


def test_large_matrices_are_saved_gzipped_and_read_back_exactly(tmp_path):
    from simbench.bench import leaderboard

    n = leaderboard.COMPRESS_ABOVE + 1
    ids = [f"net{i}" for i in range(n)]
    x = np.random.default_rng(0).random((n, n))
    big = x + x.T
    path = leaderboard.save_distances(tmp_path, "s", "m:a=1", ids, big)
    assert path.name.endswith(".csv.gz") and leaderboard.distance_path(tmp_path, "s", "m:a=1") == path
    read = leaderboard.load_distances(tmp_path, "s", "m:a=1")
    assert list(read.index) == ids and np.array_equal(read.to_numpy(), big)  # bit for bit
    first = path.read_bytes()
    assert leaderboard.save_distances(tmp_path, "s", "m:a=1", ids, big).read_bytes() == first  # reproducible
    assert leaderboard.save_distances(tmp_path, "s", "m:a=1", ids[:3], big[:3, :3]).suffix == ".csv"
    assert not path.exists()  # the smaller matrix replaced the gzipped one: no stale copy
    assert leaderboard.load_distances(tmp_path, "s", "m:a=1").shape == (3, 3)


def test_parallel_jobs_publish_what_a_serial_run_publishes(zoo_dir, tmp_path):
    """`--jobs 2` runs the metrics in two processes; rows and matrices are the serial run's."""
    specs = ["cca", "cka", "rsa"]
    for jobs, name in ((1, "serial"), (2, "parallel")):
        assert main(["run", "--metric", *specs, "--zoo", str(zoo_dir), "--out", str(tmp_path / name),
                     "--bootstrap", "20", "--jobs", str(jobs)]) == 0
    serial, parallel = (pd.read_csv(tmp_path / name / "memory3.csv").set_index("params").sort_index()
                        for name in ("serial", "parallel"))
    assert list(parallel.index) == list(serial.index) and len(serial) == len(specs)
    scores = [c for c in serial.columns if c.endswith("_auc") or c.startswith("knn_") or c.endswith("_rho")]
    pd.testing.assert_frame_equal(parallel[scores], serial[scores])
    for path in (tmp_path / "serial" / "distances" / "memory3").glob("*.csv"):
        twin = tmp_path / "parallel" / "distances" / "memory3" / path.name
        assert twin.read_bytes() == path.read_bytes()


def test_a_pool_gives_its_workers_one_thread_unless_the_user_chose(monkeypatch):
    import os

    from simbench.zoo.pool import THREAD_VARIABLES, process_pool

    for variable in THREAD_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")  # the user's choice is kept
    with process_pool(2, threads=1) as pool:
        seen = [pool.submit(os.getenv, v).result() for v in THREAD_VARIABLES]
    assert seen == ["1", "3", "1"]
    assert os.getenv("OMP_NUM_THREADS") is None and os.getenv("MKL_NUM_THREADS") == "3"  # parent restored


def test_parallel_runs_start_with_the_costliest_recorded_metric(tmp_path):
    from simbench.bench.run import by_expected_cost

    out, reference = tmp_path / "out", tmp_path / "reference"
    out.mkdir(), reference.mkdir()
    pd.DataFrame({"metric": ["cca", "cka"], "prepare_seconds": [1.0, 5.0], "pairwise_seconds": [2.0, 1.0]}
                 ).to_csv(out / "memory3.csv", index=False)
    pd.DataFrame({"metric": ["cca", "cka", "gw"], "prepare_seconds": [1.0, 0.5, 0.0],
                  "pairwise_seconds": [9.0, 1.0, 40.0]}).to_csv(out / "context.csv", index=False)
    pd.DataFrame({"metric": ["gw", "rsa"], "prepare_seconds": [0.0, 100.0], "pairwise_seconds": [1.0, 0.0]}
                 ).to_csv(reference / "memory3.csv", index=False)
    metrics = [get_metric(s) for s in ("cca", "rsa", "cka", "procrustes", "gw")]
    ordered = [m.id for m in by_expected_cost(metrics, [out, reference])]
    # procrustes: no row (unknown, first); gw 40 (out wins over reference); rsa 100 (reference only);
    # cca 3 + 10 = 13; cka 6 + 1.5 = 7.5
    assert ordered == ["procrustes", "rsa", "gw", "cca", "cka"]


def test_stored_states_travel_with_the_zoo(zoo_dir, tmp_path, monkeypatch):
    """`zoo analyse --metric` stores prepared states in ZOO/analyses/states; a copy of the
    zoo without its cache then scores the metric without preparing anything, and gets
    the same matrix; a changed metric configuration does not read them."""
    from simbench.metrics.ph import PersistentHomology

    zoo = tmp_path / "zoo"
    shutil.copytree(zoo_dir, zoo, ignore=shutil.ignore_patterns("cache", "recordings", "dynamics"))
    assert main(["zoo", "analyse", str(zoo), "--metric", "ph:n_perm=20"]) == 0
    stored = list((zoo / "analyses" / "states").glob("*/*.safetensors"))
    assert len(stored) == 12  # the quick zoo's memory3 networks
    expected = run_benchmark("ph:n_perm=20", zoo=zoo_dir, out=tmp_path / "original", n_boot=20)

    shutil.rmtree(zoo / "cache")

    def never(self, X, *, label="X"):
        raise AssertionError(f"{label} was prepared although its state is stored")

    monkeypatch.setattr(PersistentHomology, "prepare", never)
    rows = run_benchmark("ph:n_perm=20", zoo=zoo, out=tmp_path / "copy", n_boot=20)
    assert rows.prepare_seconds[0] > 0 and expected.prepare_seconds[0] > 0  # the cost recorded with the state
    original, copy = (next((tmp_path / d / "distances" / "memory3").glob("ph*.csv")).read_bytes()
                      for d in ("original", "copy"))
    assert copy == original
    with pytest.raises(AssertionError, match="prepared although"):
        run_benchmark("ph:n_perm=21", zoo=zoo, out=tmp_path / "other", n_boot=20)


def test_stored_states_of_a_model_metric_are_read_before_any_network(tmp_path):
    from simbench.bench.engine import _save_state, state_key
    from simbench.metrics.base import State

    metric = get_metric("ood")
    producer = state_key(metric, "model")
    states = [State(metric.name, 62, {"choice": np.full((2, 31, 31), k, float), "levels": np.linspace(-4, 4, 31)},
                    {"fingerprint": str(k)}) for k in range(3)]
    for k, state in enumerate(states):
        _save_state(tmp_path / producer / f"net{k}.safetensors", state, 1.5, producer)

    def never():
        raise AssertionError("a network was loaded although its state is stored")

    got, seconds, hits = prepare_all(metric, [never] * 3, [f"net{k}" for k in range(3)], stored=tmp_path,
                                     input_key="model")
    assert hits == 3 and seconds == pytest.approx(4.5)
    for state, original in zip(got, states):
        np.testing.assert_array_equal(state["choice"], original["choice"])


def test_a_run_without_the_state_cache_writes_none_and_scores_the_same(zoo_dir, tmp_path):
    zoo = tmp_path / "zoo"
    shutil.copytree(zoo_dir, zoo, ignore=shutil.ignore_patterns("cache"))
    assert main(["run", "--metric", "procrustes", "--zoo", str(zoo), "--out", str(tmp_path / "a"),
                 "--bootstrap", "10", "--no-state-cache", "--no-topology"]) == 0
    assert not list((zoo / "cache").rglob("*.safetensors"))
    run_benchmark("procrustes", zoo=zoo, out=tmp_path / "b", n_boot=10, topology=False)
    assert list((zoo / "cache").rglob("*.safetensors"))
    a, b = (next((tmp_path / d / "distances" / "memory3").glob("procrustes*.csv")).read_bytes() for d in "ab")
    assert a == b
