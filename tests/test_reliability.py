"""Reliability (issue 17): nothing lost, nothing stale, every failure named.

Each test reproduces one defect a hostile but realistic user met, and checks the fix:
concurrent leaderboard writers, damaged manifests, caches trusted without their inputs,
plugins that exit at import, a failing metric among several, errors that came late or
as tracebacks, Ctrl-C, file modes and messages that named the wrong thing.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from safetensors.numpy import load_file, save_file

import simbench
import simbench.metrics.registry as registry
from simbench.bench import leaderboard
from simbench.bench.engine import prepare_all
from simbench.bench.run import run_benchmark
from simbench.cli import main
from simbench.metrics import Metric, available_metrics, get_metric
from simbench.zoo import cache, store
from simbench.zoo.build import build_zoo
from simbench.zoo.recipe import RecipeError, load_recipe
from simbench.zoo.store import ZooError, atomic_write, load_zoo

ROOT = Path(__file__).resolve().parents[1]
QUICK = ROOT / "zoo" / "quick.toml"
TESTS = Path(__file__).resolve().parent


# --- metrics that misbehave (importable by spawned workers: this module is on their path) ---

class NaNMetric(Metric):
    """A plugin whose distances are NaN."""

    id = "bad"
    description = "returns NaN"

    def _prepare(self, X):
        return {"mean": X.mean(0)}

    def _distance(self, a, b):
        return float("nan")


class SlowMetric(Metric):
    """A metric slow enough to be interrupted; each process touches a marker file when it starts."""

    id = "slow"
    description = "sleeps in every pair"

    def _prepare(self, X):
        return {"mean": X.mean(0)}

    def _distance(self, a, b):
        (Path(os.environ["SIMBENCH_TEST_MARKERS"]) / str(os.getpid())).touch()
        time.sleep(0.1)
        return float(np.abs(a["mean"] - b["mean"]).sum())


def _with_plugins(monkeypatch, *extra: EntryPoint) -> None:
    real = registry.entry_points
    monkeypatch.setattr(registry, "entry_points", lambda group: list(real(group=group)) + list(extra))


@pytest.fixture(scope="module")
def zoo_dir(tmp_path_factory):
    """The quick zoo with every network marked as passing (they train for 20 steps)."""
    out = tmp_path_factory.mktemp("reliability") / "quick"
    build_zoo(QUICK, out=out, threads=1, progress=False)
    manifest = pd.read_csv(out / "manifest.csv")
    manifest["passed"] = True
    manifest.to_csv(out / "manifest.csv", index=False)
    return out


@pytest.fixture
def copy(zoo_dir, tmp_path):
    """A private copy of the quick zoo, to damage."""
    return Path(shutil.copytree(zoo_dir, tmp_path / "copy"))


# --- 1. concurrent leaderboard writers -------------------------------------------------

WRITER = """
import sys, time
from pathlib import Path
from simbench.bench.leaderboard import update_leaderboard
directory, worker = sys.argv[1], sys.argv[2]
(Path(directory) / f"ready{worker}").touch()  # start together: without the lock ~40 rows are lost
while not all((Path(directory) / f"ready{w}").exists() for w in "01"):
    time.sleep(0.001)
for i in range(40):
    update_leaderboard(directory, "memory3", {"metric": "m" + worker, "params": f"m{worker}:i={i}",
                                              "suite": "memory3", "zoo": "z", "value": i})
"""


def test_concurrent_writers_keep_every_row(tmp_path):
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(w)]) for w in (0, 1)]
    assert [w.wait(timeout=300) for w in writers] == [0, 0]
    table = pd.read_csv(tmp_path / "memory3.csv")
    assert len(table) == 80
    assert sorted(table.params) == sorted(f"m{w}:i={i}" for w in (0, 1) for i in range(40))


def test_matrix_and_row_are_published_together(tmp_path, monkeypatch):
    row = {"metric": "cca", "params": "cca:reg=0.0", "suite": "memory3", "zoo": "z", "value": 1.0}
    ids = ["a", "b"]
    leaderboard.publish(tmp_path, "memory3", row, ids, np.array([[0.0, 1.0], [1.0, 0.0]]))
    matrix = leaderboard.distance_path(tmp_path, "memory3", row["params"])
    published = matrix.read_bytes()

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(leaderboard, "_write_row", fail)
    with pytest.raises(OSError, match="disk full"):
        leaderboard.publish(tmp_path, "memory3", {**row, "value": 2.0}, ids, np.array([[0.0, 2.0], [2.0, 0.0]]))
    assert matrix.read_bytes() == published  # the old matrix is back, with its row
    other = {**row, "params": "cca:reg=1.0"}
    with pytest.raises(OSError):
        leaderboard.publish(tmp_path, "memory3", other, ids, np.eye(2))
    assert not leaderboard.distance_path(tmp_path, "memory3", other["params"]).exists()  # no orphan
    assert list(pd.read_csv(tmp_path / "memory3.csv").value) == [1.0]


# --- 2. damaged manifests ----------------------------------------------------------------

def _cut_mid_row(text):
    return text[: len(text) // 2]


def _duplicate_row(text):
    lines = text.splitlines(keepends=True)
    return "".join(lines[:4] + [lines[3]] + lines[4:])


def _drop_column(name):
    def edit(text):
        frame = pd.read_csv(io.StringIO(text))
        return frame.drop(columns=[name]).to_csv(index=False)
    return edit


def _set_value(row, column, value):
    def edit(text):
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        frame.loc[row, column] = value
        return frame.to_csv(index=False)
    return edit


def _short_row(text):
    lines = text.splitlines(keepends=True)
    lines[3] = lines[3].rstrip("\n").rsplit(",", 3)[0] + "\n"
    return "".join(lines)


def _drop_last_rows(text):
    lines = text.splitlines(keepends=True)
    return "".join(lines[:-3])


DAMAGE = [
    (_cut_mid_row, "the last row is cut short"),
    (lambda text: text[:-1], "cut short"),
    (_short_row, r"line 4 has \d+ fields, the header \d+: a truncated or damaged row"),
    (_duplicate_row, r"line 5: network \S+ is listed twice \(also line 4\)"),
    (_drop_column("passed"), r"missing column\(s\) passed"),
    (_drop_column("content_hash"), r"missing column\(s\) content_hash"),
    (_set_value(2, "passed", "maybe"), r"line 4 \(network \S+\): column 'passed' must be True or False"),
    (_set_value(5, "hidden", "eight"), r"line 7 \(network \S+\): column 'hidden' must be an integer"),
    (_set_value(1, "content_hash", ""), r"line 3 \(network \S+\): column 'content_hash' must be 64 hex"),
    (_set_value(0, "content_hash", "0" * 64), r"line 2: network \S+: content_hash differs from .*\.json"),
    (_set_value(3, "task", "sine"), r"line 5: network \S+: task differs from .*\.json"),
    (_drop_last_rows, r"lists 9 networks but .* holds 3 more, e\.g\. .*\.json: an incomplete manifest"),
]


@pytest.mark.parametrize("damage,message", DAMAGE)
def test_a_damaged_manifest_is_refused_naming_the_first_bad_row(copy, damage, message):
    file = copy / "manifest.csv"
    file.write_text(damage(file.read_text()))
    with pytest.raises(ZooError, match=message) as error:
        load_zoo(copy)
    assert str(error.value).startswith(str(file))


def test_manifest_damage_is_one_line_from_the_cli(copy, capsys):
    file = copy / "manifest.csv"
    file.write_text(_duplicate_row(file.read_text()))
    assert main(["zoo", "info", str(copy)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "listed twice" in err and "Traceback" not in err


def test_optional_control_column_is_accepted(copy):
    frame = pd.read_csv(copy / "manifest.csv")
    frame["control"] = [""] * (len(frame) - 2) + ["shuffled", "random"]
    frame.to_csv(copy / "manifest.csv", index=False)
    assert len(load_zoo(copy)) == len(frame)


def test_a_zoo_reopened_unchanged_is_not_read_again(zoo_dir, monkeypatch):
    load_zoo(zoo_dir)

    def never(*args, **kwargs):
        raise AssertionError("the manifest was parsed again")

    monkeypatch.setattr(pd, "read_csv", never)
    assert len(load_zoo(zoo_dir)) == 12


# --- 3. caches keyed by their inputs ---------------------------------------------------

def _flip_a_weight(zoo, network_id):
    path = zoo.path / "networks" / f"{network_id}.safetensors"
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))


def test_weights_corrupted_after_caching_are_detected(copy, monkeypatch):
    zoo = load_zoo(copy)
    network_id = zoo.ids[0]
    zoo.recording(network_id)
    assert zoo.recording_file(network_id).exists()
    _flip_a_weight(zoo, network_id)
    with pytest.raises(ZooError, match=f"{network_id}.safetensors: network {network_id}: corrupt weights"):
        zoo.recording(network_id)
    # a zoo received with its recordings: a fresh process has hashed nothing yet
    monkeypatch.setattr(store, "_VERIFIED", {})
    with pytest.raises(ZooError, match="content hash mismatch"):
        load_zoo(copy).recording(network_id)


def test_weights_are_hashed_once_per_process(copy, monkeypatch):
    zoo = load_zoo(copy)
    network_id = zoo.ids[1]
    zoo.recording(network_id)
    monkeypatch.setattr(store, "load_file", lambda *a: pytest.fail("weights hashed twice"))
    zoo.recording(network_id)


def test_stale_or_broken_recordings_are_recomputed_with_a_warning(copy, caplog):
    zoo = load_zoo(copy)
    network_id = zoo.ids[2]
    truth = zoo.recording(network_id).states
    path = zoo.recording_file(network_id)
    arrays = load_file(str(path))
    meta = {"content_hash": zoo.row(network_id)["content_hash"], "digest": cache.arrays_digest(arrays)}
    save_file({**arrays, "states": arrays["states"] + 1}, str(path), meta)  # tampered states
    with caplog.at_level(logging.WARNING, logger="simbench.zoo.store"):
        np.testing.assert_array_equal(zoo.recording(network_id).states, truth)
    assert "does not match its digest; recomputing" in caplog.text and network_id in caplog.text
    caplog.clear()
    path.write_bytes(b"broken")
    with caplog.at_level(logging.WARNING, logger="simbench.zoo.store"):
        np.testing.assert_array_equal(zoo.recording(network_id).states, truth)
    assert "broken cached recording" in caplog.text
    np.testing.assert_array_equal(load_file(str(path))["states"], truth)  # rewritten


def test_recordings_and_states_are_keyed_by_their_producer_version(copy, monkeypatch):
    zoo = load_zoo(copy)
    network_id = zoo.ids[0]
    before = zoo.recording_file(network_id)
    monkeypatch.setattr(store, "RECORDING_VERSION", store.RECORDING_VERSION + 1)
    after = zoo.recording_file(network_id)
    assert after != before and after.name == before.name == f"{zoo.row(network_id)['content_hash']}.safetensors"

    metric = get_metric("cca")
    data = [np.random.default_rng(i).standard_normal((40, 3)) for i in range(3)]
    keys = ["h0", "h1", "h2"]
    prepare_all(metric, data, keys, cache=copy / "states")
    assert prepare_all(metric, data, keys, cache=copy / "states")[2] == 3  # all from the cache
    monkeypatch.setattr(type(metric), "version", type(metric).version + 1)
    assert prepare_all(metric, data, keys, cache=copy / "states")[2] == 0  # new code: recomputed
    assert prepare_all(metric, data, keys, cache=copy / "states", input_key="other")[2] == 0


def test_broken_state_entries_are_recomputed_with_a_warning(tmp_path, caplog):
    metric = get_metric("cka")
    data = [np.random.default_rng(i).standard_normal((40, 3)) for i in range(2)]
    first, _, _ = prepare_all(metric, data, ["a", "b"], cache=tmp_path)
    entry = next(tmp_path.rglob("a.safetensors"))
    entry.write_bytes(b"\x00" * 10)
    with caplog.at_level(logging.WARNING, logger="simbench.bench.engine"):
        again, _, hits = prepare_all(metric, data, ["a", "b"], cache=tmp_path)
    assert hits == 1 and "broken cached state" in caplog.text and str(entry) in caplog.text
    np.testing.assert_array_equal(metric.pairwise(again), metric.pairwise(first))


def test_a_read_only_zoo_runs_with_its_caches_in_the_user_cache(copy, tmp_path, monkeypatch):
    real = cache._writable
    monkeypatch.setattr(cache, "_writable", lambda folder: not folder.is_relative_to(copy) and real(folder))
    monkeypatch.setenv("SIMBENCH_CACHE", str(tmp_path / "user-cache"))
    before = sorted(p for p in copy.rglob("*"))
    rows = run_benchmark("cca", zoo=copy, out=tmp_path / "lb", n_boot=5, topology=False)
    assert rows.n_networks[0] == 12
    assert sorted(p for p in copy.rglob("*")) == before  # nothing written into the zoo
    cached = list((tmp_path / "user-cache").rglob("*.safetensors"))
    assert any("recordings" in p.parts for p in cached) and any("metrics" in p.parts for p in cached)


# --- 4. plugins that exit at import ------------------------------------------------------

def test_a_plugin_calling_sys_exit_is_listed_as_failed(tmp_path, monkeypatch, capsys):
    (tmp_path / "simbench_exits_at_import.py").write_text("import sys\nsys.exit(3)\n")
    (tmp_path / "simbench_exits_quietly.py").write_text("import sys\nsys.exit()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    _with_plugins(monkeypatch, EntryPoint("exits", "simbench_exits_at_import:Thing", registry.GROUP),
                  EntryPoint("quiet", "simbench_exits_quietly:Thing", registry.GROUP))
    records = {r.id: r for r in available_metrics()}
    assert records["exits"].error == "import failed: SystemExit: 3"
    assert records["quiet"].error == "import failed: SystemExit"
    assert records["cca"].loaded
    X = np.random.default_rng(0).standard_normal((30, 4))
    assert simbench.compare(X, X @ np.diag([1.0, 2.0, 3.0, 4.0]), "cca") == pytest.approx(0.0, abs=1e-6)
    assert main(["metrics", "list"]) == 0
    listed = capsys.readouterr().out
    assert "exits" in listed and "SystemExit" in listed and "cca" in listed  # listed, as failed


def test_ctrl_c_at_plugin_import_is_not_swallowed(tmp_path, monkeypatch):
    (tmp_path / "simbench_interrupted_import.py").write_text("raise KeyboardInterrupt\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    _with_plugins(monkeypatch, EntryPoint("ctrlc", "simbench_interrupted_import:Thing", registry.GROUP))
    with pytest.raises(KeyboardInterrupt):
        available_metrics()


# --- 5. a failing metric among several ---------------------------------------------------

@pytest.mark.parametrize("workers", ["1", pytest.param("2", marks=pytest.mark.slow)])  # 2: ~35 s, spawns
def test_a_failing_metric_is_named_and_the_others_still_run(zoo_dir, tmp_path, monkeypatch, capsys, workers):
    _with_plugins(monkeypatch, EntryPoint("bad", "test_reliability:NaNMetric", registry.GROUP))
    out = tmp_path / "lb"
    code = main(["run", "--metric", "bad", "cca", "--zoo", str(zoo_dir), "--out", str(out),
                 "--bootstrap", "5", "--no-topology", "--workers", workers])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.splitlines()
    first, second = load_zoo(zoo_dir).ids[:2]  # the first pair, named by network id either way
    assert len(lines) == 2 and lines[0].startswith("error: bad: ") and "is nan" in lines[0]
    assert f"network 0 ({first}) and network 1 ({second})" in lines[0]
    assert lines[1] == "error: 1 of 2 metrics failed: bad"
    assert "Traceback" not in captured.out + captured.err
    assert list(pd.read_csv(out / "memory3.csv").metric) == ["cca"]  # the other metric ran


# --- 6. errors early, in one line --------------------------------------------------------

def test_out_is_checked_before_any_computing(copy, tmp_path, capsys):
    file = tmp_path / "a-file"
    file.write_text("not a folder")
    shutil.rmtree(copy / "cache", ignore_errors=True)
    shutil.rmtree(copy / "recordings", ignore_errors=True)
    for out, message in ((file, "is a file, not a folder"), (file / "below", "cannot be created")):
        assert main(["run", "--metric", "cca", "--zoo", str(copy), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err and str(out) in err
        with pytest.raises(ValueError, match=message):
            run_benchmark("cca", zoo=copy, out=out)
    assert not (copy / "cache").exists() and not (copy / "recordings").exists()  # nothing computed


BAD_OPTIONS = [
    ('excitatory = "lots"', r"key 'options.ctrnn-relu-dale.excitatory': expected a number, got str 'lots'"),
    ("excitatory = 1.5", r"key 'options.ctrnn-relu-dale.excitatory': excitatory fraction must lie in \(0, 1\)"),
    ("excitatory = 0.05", r"options.ctrnn-relu-dale.excitatory': Dale's law needs .* hidden = 8"),
    ("alpha = true", r"key 'options.ctrnn-relu-dale.alpha': expected a number, got bool"),
]


@pytest.mark.parametrize("option,message", BAD_OPTIONS)
def test_recipe_option_values_fail_at_load_with_their_key(zoo_dir, tmp_path, option, message):
    existing = Path(shutil.copytree(zoo_dir, tmp_path / "existing"))
    bad = tmp_path / "quick.toml"
    bad.write_text(QUICK.read_text() + f"\n[options.ctrnn-relu-dale]\n{option}\n")
    with pytest.raises(RecipeError, match=message):
        load_recipe(bad)
    with pytest.raises(RecipeError, match=message):
        build_zoo(bad, out=existing, progress=False)
    assert (existing / "recipe.toml").read_text() == QUICK.read_text()  # not replaced before validation
    with pytest.raises(RecipeError, match=message):
        build_zoo(bad, out=tmp_path / "never", progress=False)
    assert not (tmp_path / "never").exists()


def test_valid_options_and_gru_options_are_named(tmp_path):
    path = tmp_path / "ok.toml"
    path.write_text(QUICK.read_text() + "\n[options.ctrnn-relu-dale]\nexcitatory = 0.75\nalpha = 1\n")
    assert load_recipe(path).options == {"ctrnn-relu-dale": {"excitatory": 0.75, "alpha": 1}}
    path.write_text(QUICK.read_text() + "\n[options.gru]\nalpha = 0.5\n")
    with pytest.raises(RecipeError, match="key 'options.gru.alpha': unknown option; valid: none"):
        load_recipe(path)


@pytest.mark.parametrize("argv,message", [
    (["zoo", "build", str(QUICK), "--threads", "-1"], "argument --threads: expected an integer ≥ 1, got '-1'"),
    (["zoo", "build", str(QUICK), "--workers", "0"], "argument --workers: expected an integer ≥ 1, got '0'"),
    (["run", "--metric", "cca", "--workers", "0"], "argument --workers: expected an integer ≥ 1, got '0'"),
    (["train", "--arch", "gru", "--task", "sine", "--threads", "-1"], "argument --threads"),
])
def test_bad_arguments_are_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1 and message in err


def test_library_refuses_bad_threads_and_workers_before_writing(tmp_path):
    for kwargs in ({"threads": -1}, {"threads": 0}, {"workers": 0}):
        with pytest.raises(ValueError, match="must be a positive integer"):
            build_zoo(QUICK, out=tmp_path / "never", progress=False, **kwargs)
    assert not (tmp_path / "never").exists()


def test_a_folder_as_recipe_is_one_line(tmp_path, capsys):
    assert main(["zoo", "build", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {tmp_path}: a folder, not a recipe file (a .toml file)\n"


def test_unexpected_errors_are_one_line_and_debug_shows_the_traceback(monkeypatch, capsys):
    import simbench.zoo.catalog as catalog

    def boom():
        raise RuntimeError("the task table broke\nover two lines")

    monkeypatch.setattr(catalog, "task_table", boom)
    assert main(["tasks"]) == 1
    err = capsys.readouterr().err
    assert err == "error: RuntimeError: the task table broke over two lines (simbench --debug ... shows the traceback)\n"
    with pytest.raises(RuntimeError, match="the task table broke"):
        main(["--debug", "tasks"])


def test_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("old\n")

    def interrupted(tmp):
        tmp.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, interrupted)
    assert path.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]


INTERRUPTED = """
import sys
from importlib.metadata import EntryPoint
import simbench.metrics.registry as registry
real = registry.entry_points
registry.entry_points = lambda group: list(real(group=group)) + [
    EntryPoint("slow", "test_reliability:SlowMetric", group)]
from simbench.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("workers", [1, pytest.param(2, marks=pytest.mark.slow)])  # 2: ~25 s, spawns
def test_ctrl_c_prints_one_line_and_exits_130(zoo_dir, tmp_path, workers):
    markers = tmp_path / "markers"
    markers.mkdir()
    out = tmp_path / "lb"
    env = {**os.environ, "SIMBENCH_TEST_MARKERS": str(markers), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-c", INTERRUPTED, "run", "--metric", "slow", "--zoo", str(zoo_dir),
               "--out", str(out), "--no-topology", "--workers", str(workers)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(markers.iterdir())) < workers and process.poll() is None:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stdout + stderr
    assert stderr == "interrupted\n" and "Traceback" not in stdout
    assert not out.exists() or not [p for p in out.rglob("*") if p.is_file() and not p.name.endswith(".lock")]
    leftovers = [p for p in zoo_dir.rglob(".*") if p.is_file()]
    assert not leftovers  # no temporary file anywhere


# --- 7. file modes -----------------------------------------------------------------------

@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_honour_the_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        atomic_write(tmp_path / "file.csv", lambda tmp: tmp.write_text("x\n"))
        leaderboard.update_leaderboard(tmp_path, "memory3", {"metric": "m", "params": "m", "suite": "memory3",
                                                              "zoo": "z"})
    finally:
        os.umask(previous)
    assert (tmp_path / "file.csv").stat().st_mode & 0o777 == mode
    assert (tmp_path / "memory3.csv").stat().st_mode & 0o777 == mode


# --- 9. messages that name the right thing -----------------------------------------------

def test_a_broken_json_is_reported_under_its_own_path(copy):
    zoo = load_zoo(copy)
    network_id = zoo.ids[0]
    metadata = copy / "networks" / f"{network_id}.json"
    metadata.write_text(metadata.read_text()[:-20])
    with pytest.raises(ZooError, match=rf"{network_id}\.json: network {network_id}: cannot read its metadata"):
        zoo.network(network_id)
    with pytest.raises(ZooError, match=rf"{network_id}\.json: unreadable network metadata"):
        load_zoo(copy)


# --- a run stopped in the middle of a distance matrix ------------------------------------

def test_run_benchmark_resumes_a_cut_matrix_and_removes_its_checkpoint(copy, tmp_path, monkeypatch):
    from simbench.bench import checkpoint, run

    metric = get_metric("procrustes")
    kept = run.load_zoo(copy).filter(suite="memory3", passed=True)
    first_rows = []  # the id of the first network of each block
    original_cross, original_pairwise = type(metric).cross, type(metric).pairwise

    def cut_on_third(self, a, b):
        if len(first_rows) == 3:
            raise KeyboardInterrupt
        return original_cross(self, a, b)

    def recorded(self, states):
        first_rows.append(states[0].info.get("network"))
        return original_pairwise(self, states)

    monkeypatch.setattr(checkpoint, "SECONDS_PER_BLOCK", 0.0)  # one row a block after the first
    monkeypatch.setattr(type(metric), "pairwise", recorded)
    with monkeypatch.context() as patched:
        patched.setattr(type(metric), "cross", cut_on_third)
        with pytest.raises(KeyboardInterrupt):
            run.run_benchmark(metric, zoo=copy, out=tmp_path, n_boot=5, suites=["memory3"], controls=False)
    path, _ = run.pairs_checkpoint(metric, kept, "memory3")
    with np.load(path) as saved:
        done = int(saved["rows_done"])
    assert done == list(kept.ids).index(first_rows[2])  # two blocks saved, the third cut
    first_rows.clear()
    row = run.run_benchmark(metric, zoo=copy, out=tmp_path, n_boot=5, suites=["memory3"],
                            controls=False, resume=True)
    assert first_rows[0] == kept.ids[done]  # resumed at the first unfinished row
    assert not path.exists()  # published: the partial matrix is gone
    published = pd.read_csv(tmp_path / "memory3.csv")
    assert list(published.metric) == ["procrustes"] and row.n_networks[0] == len(kept)


def test_a_nan_recording_is_named_by_network_id(copy, tmp_path):
    shutil.rmtree(copy / "cache", ignore_errors=True)  # no prepared states: the recording is read
    zoo = load_zoo(copy)
    network_id = zoo.ids[4]
    digest = zoo.row(network_id)["content_hash"]
    path = zoo.recording_file(network_id)
    states = zoo.recording(network_id).states.copy()
    states[0, 0, 0] = np.nan
    arrays = {"states": states, "outputs": load_file(str(path))["outputs"]}
    save_file(arrays, str(path), {"content_hash": digest, "digest": cache.arrays_digest(arrays)})
    with pytest.raises(ValueError, match=rf"cca: {network_id} contains NaN") as error:
        run_benchmark("cca", zoo=copy, out=tmp_path / "lb", n_boot=5, topology=False)
    assert digest not in str(error.value)
