"""A zoo's dynamics analyses: committed, cached, versioned, checked on load, read lazily."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from simbench.dynamics import AnalysisOptions
from simbench.dynamics import cache as dyncache
from simbench.dynamics.cache import (
    analyse_zoo,
    analyses_folder,
    analysis_key,
    cache_folder,
    lazy_dynamics,
    zoo_dynamics,
)
from simbench.zoo.build import build_zoo
from simbench.zoo.cache import producer_key
from simbench.zoo.store import load_zoo

ROOT = Path(__file__).resolve().parents[2]
FAST = AnalysisOptions(n_initial=16, cycle_transient=100, cycle_window=100, edge_steps=200).with_(max_iters=300)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """The quick zoo (12 untrained networks of 8 units, memory3)."""
    out = tmp_path_factory.mktemp("dyncache") / "quick"
    build_zoo(ROOT / "zoo" / "quick.toml", out=out, threads=1, progress=False)
    return out


@pytest.fixture
def zoo(quick, tmp_path):
    """A fresh copy of the quick zoo's networks (no analyses, no caches)."""
    copy = tmp_path / "zoo"
    shutil.copytree(quick, copy, ignore=shutil.ignore_patterns("dynamics", "analyses", "cache", "recordings"))
    return load_zoo(copy)


def _never(*args, **kwargs):
    raise AssertionError("a stored analysis was recomputed")


def _entry(zoo, network_id, folder):
    return folder / f"{zoo.row(network_id)['content_hash']}.safetensors"


def test_key_names_version_and_options(monkeypatch):
    assert analysis_key(FAST) == producer_key("dynamics", dyncache.ANALYSIS_VERSION, FAST.as_dict())
    assert analysis_key(FAST) != analysis_key(FAST.with_(n_initial=17))
    before = analysis_key(FAST)
    monkeypatch.setattr(dyncache, "ANALYSIS_VERSION", dyncache.ANALYSIS_VERSION + 1)
    assert analysis_key(FAST) != before


def test_cached_by_content_hash_and_read_back(zoo, monkeypatch):
    ids = zoo.ids[:3]
    first = zoo_dynamics(zoo, ids, FAST)
    assert [r.network["id"] for r in first] == ids and all(r.network["analysis_seconds"] > 0 for r in first)
    assert all(_entry(zoo, i, cache_folder(zoo.path, FAST)).exists() for i in ids)
    monkeypatch.setattr(dyncache, "analyse_many", _never)
    assert zoo_dynamics(zoo, ids[::-1], FAST) == first[::-1]


def test_broken_or_stale_entries_are_recomputed_with_a_warning(zoo, caplog):
    a, b, c = zoo.ids[:3]
    zoo_dynamics(zoo, [a, b, c], FAST)
    folder = cache_folder(zoo.path, FAST)
    _entry(zoo, a, folder).write_bytes(b"broken")                              # unreadable
    shutil.copy(_entry(zoo, c, folder), _entry(zoo, b, folder))               # another network's
    other = FAST.with_(n_initial=17)
    zoo_dynamics(zoo, [c], other)
    shutil.copy(_entry(zoo, c, cache_folder(zoo.path, other)), _entry(zoo, c, folder))   # other options
    with caplog.at_level(logging.WARNING, logger="simbench.dynamics.cache"):
        again = zoo_dynamics(zoo, [a, b, c], FAST)
    messages = " | ".join(r.getMessage() for r in caplog.records)
    assert "unreadable" in messages and "made for other weights" in messages
    assert "another analysis version or options" in messages
    assert [r.network["id"] for r in again] == [a, b, c] and again[2].options["n_initial"] == 16
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="simbench.dynamics.cache"):
        zoo_dynamics(zoo, [a, b, c], FAST)                                    # rewritten: silent
    assert not caplog.records


def test_a_changed_digest_is_caught(zoo, caplog):
    from safetensors import safe_open
    from safetensors.numpy import save_file

    network_id = zoo.ids[0]
    first = zoo_dynamics(zoo, [network_id], FAST)[0]
    path = _entry(zoo, network_id, cache_folder(zoo.path, FAST))
    with safe_open(str(path), "np") as f:
        header, arrays = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    arrays["fp_x"] = arrays["fp_x"] + 1.0                                     # same header, other numbers
    save_file(arrays, str(path), header)
    with caplog.at_level(logging.WARNING, logger="simbench.dynamics.cache"):
        result = zoo_dynamics(zoo, [network_id], FAST)[0]
    assert "does not match its digest" in caplog.text
    fresh, kept = result.to_arrays()[0], first.to_arrays()[0]
    assert all(np.array_equal(fresh[k], kept[k]) for k in kept)               # analysed again


def test_zoo_analyse_builds_resumes_and_is_read_first(zoo, monkeypatch):
    ids = zoo.ids
    zoo_dynamics(zoo, ids[:2], FAST)                                          # two already cached
    done = analyse_zoo(zoo, FAST, batch=4)
    assert (done["present"], done["copied"], done["analysed"]) == (0, 2, len(ids) - 2)
    folder = analyses_folder(zoo.path, FAST)
    assert done["folder"] == folder and done["bytes"] == sum(p.stat().st_size for p in folder.iterdir())
    index = json.loads((folder / "analysis.json").read_text())
    assert index["version"] == dyncache.ANALYSIS_VERSION and index["options"] == FAST.as_dict()
    assert index["networks"] == {i: zoo.row(i)["content_hash"] for i in ids}
    _entry(zoo, ids[-1], folder).unlink()                                     # interrupted: one missing
    shutil.rmtree(cache_folder(zoo.path, FAST))
    again = analyse_zoo(zoo, FAST)
    assert (again["present"], again["copied"], again["analysed"]) == (len(ids) - 1, 0, 1)
    monkeypatch.setattr(dyncache, "analyse_many", _never)
    assert [r.network["id"] for r in zoo_dynamics(zoo, ids, FAST)] == ids    # from the committed folder
    assert not cache_folder(zoo.path, FAST).exists()


def test_zoo_analyse_stores_a_filtered_zoo_and_copies_without_analysing(zoo, monkeypatch):
    """A filtered zoo stores its own networks only; analyse=False copies what the cache
    holds and analyses nothing (saving a long analysis that runs elsewhere)."""
    ids = zoo.ids
    some = type(zoo)(zoo.path, zoo.manifest[zoo.manifest.id.isin(ids[:4])])
    zoo_dynamics(zoo, ids[:2], FAST)                                          # two cached
    with monkeypatch.context() as patched:
        patched.setattr(dyncache, "analyse_many", _never)
        copied = analyse_zoo(some, FAST, analyse=False)
    assert (copied["present"], copied["copied"], copied["analysed"]) == (0, 2, 0)
    folder = analyses_folder(zoo.path, FAST)
    assert sorted(json.loads((folder / "analysis.json").read_text())["networks"]) == sorted(ids[:2])
    done = analyse_zoo(some, FAST)
    assert (done["present"], done["copied"], done["analysed"]) == (2, 0, 2)
    assert sorted(p.name for p in folder.glob("*.safetensors")) == sorted(
        f"{zoo.row(i)['content_hash']}.safetensors" for i in ids[:4])


def test_committed_analyses_of_another_version_are_skipped_with_one_message(zoo, monkeypatch, caplog):
    analyse_zoo(zoo, FAST)
    monkeypatch.setattr(dyncache, "ANALYSIS_VERSION", dyncache.ANALYSIS_VERSION + 1)
    monkeypatch.setattr(dyncache, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="simbench.dynamics.cache"):
        zoo_dynamics(zoo, zoo.ids[:1], FAST)
        zoo_dynamics(zoo, zoo.ids[1:2], FAST)
    stale = [r for r in caplog.records if "committed dynamics analyses" in r.getMessage()]
    assert len(stale) == 1 and f"version {dyncache.ANALYSIS_VERSION - 1}" in stale[0].getMessage()
    assert "simbench zoo analyse" in stale[0].getMessage()


def test_read_only_zoo_reads_its_analyses_and_caches_elsewhere(zoo, tmp_path, monkeypatch):
    analyse_zoo(zoo, FAST)
    monkeypatch.setenv("SIMBENCH_CACHE", str(tmp_path / "user-cache"))
    monkeypatch.setattr("simbench.zoo.cache._writable", lambda folder: False)
    other = FAST.with_(n_initial=12)
    assert cache_folder(zoo.path, other).is_relative_to(tmp_path / "user-cache")
    zoo_dynamics(zoo, zoo.ids[:1], other)                                     # new options: user cache
    assert _entry(zoo, zoo.ids[0], cache_folder(zoo.path, other)).exists()
    monkeypatch.setattr(dyncache, "analyse_many", _never)
    zoo_dynamics(zoo, zoo.ids, FAST)                                          # committed: read in place


def test_lazy_loaders_read_nothing_until_called_and_batch_the_rest(zoo, monkeypatch):
    ids = zoo.ids[:6]
    zoo_dynamics(zoo, ids[:1], FAST)
    calls = []
    real = dyncache.analyse_many
    monkeypatch.setattr(dyncache, "analyse_many", lambda nets, **kw: calls.append(len(nets)) or real(nets, **kw))
    read = []
    monkeypatch.setattr(dyncache, "read_entry", lambda *a, **kw: read.append(a) or None)
    loaders = lazy_dynamics(zoo, ids, FAST)
    assert len(loaders) == 6 and not calls and not read
    monkeypatch.undo()
    monkeypatch.setattr(dyncache, "analyse_many", lambda nets, **kw: calls.append(len(nets)) or real(nets, **kw))
    loaders = lazy_dynamics(zoo, ids, FAST)
    assert loaders[0]().network["id"] == ids[0] and not calls                # stored: read only
    assert loaders[2]().network["id"] == ids[2]                               # not stored: 2…5 analysed
    assert sum(calls) == 4
    assert [loaders[i]().network["id"] for i in (3, 4, 5)] == ids[3:] and sum(calls) == 4
    assert loaders[1]().network["id"] == ids[1] and sum(calls) == 5


def test_run_reads_no_analysis_when_the_states_are_cached(zoo, monkeypatch):
    from simbench.bench.run import prepared_states
    from simbench.metrics import get_metric

    metric = get_metric("fp-count:n_initial=16,max_iters=300")
    kept = zoo.filter(suite="memory3")
    states, seconds = prepared_states(metric, kept)
    assert seconds > 0 and len(states) == len(kept)
    monkeypatch.setattr(dyncache, "read_entry", _never)
    monkeypatch.setattr(dyncache, "analyse_many", _never)
    again, seconds_again = prepared_states(metric, kept)
    assert [s.info["fingerprint"] for s in again] == [s.info["fingerprint"] for s in states]
    assert seconds_again == pytest.approx(seconds)                            # the same reported cost


def test_cli_zoo_analyse_builds_then_adds_nothing(quick, tmp_path, capsys):
    from simbench.cli import main
    from simbench.zoo.store import write_manifest

    small = tmp_path / "two"
    (small / "networks").mkdir(parents=True)
    for network_id in load_zoo(quick).ids[:2]:
        for suffix in (".json", ".safetensors"):
            shutil.copy(quick / "networks" / f"{network_id}{suffix}", small / "networks")
    write_manifest(small)
    assert main(["zoo", "analyse", str(small), "--batch", "1"]) == 0
    assert "0 networks were there, 0 copied from the cache, 2 analysed" in " ".join(capsys.readouterr().out.split())
    assert main(["zoo", "analyse", str(small)]) == 0
    assert "2 networks were there, 0 copied from the cache, 0 analysed" in " ".join(capsys.readouterr().out.split())
    assert len(list(analyses_folder(small).glob("*.safetensors"))) == 2
