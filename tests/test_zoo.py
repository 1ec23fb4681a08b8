"""The zoo on disk: recipes, atomic resumable builds, loading, corruption, recordings, Dask."""

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import simbench
from simbench.zoo.build import build_zoo
from simbench.zoo.recipe import RecipeError, load_recipe
from simbench.zoo.store import ZooError
from simbench.zoo.tasks import get_task, memory3

ROOT = Path(__file__).resolve().parents[1]
QUICK = ROOT / "zoo" / "quick.toml"


@pytest.fixture(scope="module")
def quick_zoo(tmp_path_factory):
    out = tmp_path_factory.mktemp("zoo") / "quick"
    return build_zoo(QUICK, out=out, threads=1, progress=False)


def _hashes(zoo):
    return dict(zip(zoo.manifest["id"], zoo.manifest["content_hash"]))


def test_quick_zoo_contents(quick_zoo):
    recipe = load_recipe(QUICK)
    assert sorted(quick_zoo.ids) == sorted(recipe.network_ids())
    assert len(quick_zoo) == 3 * 2 * 2
    for column in ("id", "suite", "task", "architecture", "activation", "dale", "hidden", "seed",
                   "final_loss", "performance", "passed", "content_hash", "train_lr"):
        assert column in quick_zoo.manifest.columns
    files = {p.suffix for p in quick_zoo.path.rglob("*") if p.is_file()}
    assert files <= {".csv", ".json", ".safetensors", ".toml"}  # no pickle anywhere
    assert (quick_zoo.path / "recipe.toml").read_text() == QUICK.read_text()


def test_filter_and_load(quick_zoo):
    gru = quick_zoo.filter(architecture="gru", task=["flipflop3", "decay3"])
    assert len(gru) == 4 and set(gru.manifest.architecture) == {"gru"}
    assert len(quick_zoo.filter(passed=True)) == int(quick_zoo.manifest.passed.sum())
    net = simbench.load_zoo(quick_zoo.path).network(gru.ids[0])
    assert net.metadata["architecture"] == "gru" and net.state_size == 8
    with pytest.raises(ValueError, match="unknown factor 'arch'"):
        quick_zoo.filter(arch="gru")


def test_recording_is_the_probe_run_and_is_cached(quick_zoo):
    network_id = quick_zoo.ids[0]
    first = quick_zoo.recording(network_id)
    task = get_task(quick_zoo.row(network_id)["task"])
    probe = task.probe()
    with torch.no_grad():
        states, _ = quick_zoo.network(network_id).run(probe.inputs)
    np.testing.assert_array_equal(first.states, states.numpy())
    assert first.samples().shape == (24 * memory3.T, 8)
    cache = quick_zoo.recording_file(network_id)
    stamp = cache.stat().st_mtime_ns
    again = quick_zoo.recording(network_id)
    assert cache.stat().st_mtime_ns == stamp  # served from the cache
    np.testing.assert_array_equal(again.states, first.states)
    assert len(again.conditions) == 24


def test_rebuild_gives_identical_networks(quick_zoo, tmp_path):
    again = build_zoo(QUICK, out=tmp_path / "again", threads=1, progress=False)
    assert _hashes(again) == _hashes(quick_zoo)
    assert again.hash == quick_zoo.hash


def test_corrupt_weights_are_reported_and_the_rest_loads(quick_zoo, tmp_path):
    copy = Path(shutil.copytree(quick_zoo.path, tmp_path / "copy"))
    victim = quick_zoo.ids[3]
    weights = copy / "networks" / f"{victim}.safetensors"
    weights.write_bytes(weights.read_bytes()[:-40])  # truncated
    zoo = simbench.load_zoo(copy)
    with pytest.raises(ZooError, match=f"{victim}.safetensors: network {victim}"):
        zoo.network(victim)
    errors = []
    loaded = list(zoo.networks(errors))
    assert len(loaded) == len(zoo) - 1 and len(errors) == 1
    other = copy / "networks" / f"{quick_zoo.ids[4]}.safetensors"
    data = bytearray(other.read_bytes())
    data[-5] ^= 0xFF  # a flipped bit in the weights: caught by the content hash
    other.write_bytes(bytes(data))
    with pytest.raises(ZooError, match="content hash mismatch"):
        zoo.network(quick_zoo.ids[4])


def test_killed_build_resumes_to_the_same_zoo(quick_zoo, tmp_path):
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "simbench.cli", "zoo", "build", str(QUICK), "--out", str(out),
               "--threads", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not list((out / "networks").glob("*.json")):
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    present = len(list((out / "networks").glob("*.json")))
    assert 0 < present < len(quick_zoo)  # killed between the first and the last shard
    resumed = subprocess.run(command, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert _hashes(simbench.load_zoo(out)) == _hashes(quick_zoo)


def test_zoo_of_another_recipe_is_not_mixed(quick_zoo, tmp_path):
    other = tmp_path / "other.toml"
    other.write_text(QUICK.read_text().replace("seeds = [0, 1]", "seeds = [3]"))
    with pytest.raises(RecipeError, match="another recipe"):
        build_zoo(other, out=quick_zoo.path, progress=False)


BAD_RECIPES = [
    ("colour = 1\n[grid]\ntasks=['sine']\narchitectures=['gru']\nhidden=[4]\nseeds=[0]",
     "key 'colour'.*valid keys: name, description, grid"),
    ("[grid]\ntasks=['sinus']\narchitectures=['gru']\nhidden=[4]\nseeds=[0]",
     "key 'grid.tasks'.*'sinus'.*valid: flipflop3"),
    ("[grid]\ntasks=['sine']\narchitectures=['rnn']\nhidden=[4]\nseeds=[0]",
     "key 'grid.architectures'.*'rnn'.*valid: vanilla-tanh"),
    ("[grid]\ntasks=['sine']\narchitectures=['gru']\nhidden=[0]\nseeds=[0]",
     "key 'grid.hidden'.*not a positive integer"),
    ("[grid]\ntasks=['sine']\narchitectures=['gru']\nhidden=[4]\nseeds=[0]\n[train]\nlr='fast'",
     "key 'train.lr'.*expected float"),
    ("[grid]\ntasks=['sine']\narchitectures=['gru']\nhidden=[4]\nseeds=[0]\n[train]\nepochs=3",
     "key 'train.epochs'.*valid keys: max_steps"),
    ("[grid]\ntasks=['sine']\narchitectures=['gru']\nhidden=[4]\nseeds=[0]\n[options.gru]\ndale=true",
     "key 'options.gru.dale'.*unknown option"),
    ("[grid\ntasks=", "not valid TOML"),
]


@pytest.mark.parametrize("text,message", BAD_RECIPES)
def test_bad_recipes_fail_before_training(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(RecipeError, match=message) as error:
        build_zoo(path, out=tmp_path / "never", progress=False)
    assert str(path) in str(error.value)
    assert not (tmp_path / "never").exists()


def test_dask_cluster_builds_the_same_zoo(quick_zoo, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as cluster:
        zoo = build_zoo(QUICK, out=tmp_path / "dask", threads=1, scheduler=cluster.scheduler_address,
                        progress=False)
    assert _hashes(zoo) == _hashes(quick_zoo)


def test_manifest_and_metadata_agree(quick_zoo):
    for row in quick_zoo.manifest.itertuples():
        meta = json.loads((quick_zoo.path / "networks" / f"{row.id}.json").read_text())
        assert meta["content_hash"] == row.content_hash and meta["task"] == row.task
