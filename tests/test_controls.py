"""Untrained controls (Tolmachev & Engel 2025): shuffled and random networks in the zoo."""

import numpy as np
import pandas as pd
import pytest

import simbench
from simbench.bench.factors import factor_table, verdict
from simbench.zoo.controls import CONTROL_SEED, add_controls, control_id, random_weights, shuffled_weights
from simbench.zoo.store import ZooError, write_manifest


@pytest.fixture(scope="module")
def small_zoo(tmp_path_factory):
    """Six reference networks (a Dale CTRNN, a GRU, an LSTM of one suite) and their controls."""
    import shutil

    src = simbench.load_zoo("zoo/reference")
    ids = [i for i in src.ids if i.startswith("cddm-") and any(a in i for a in ("ctrnn-relu-dale", "gru", "lstm"))]
    root = tmp_path_factory.mktemp("zoo")
    (root / "networks").mkdir()
    for i in ids[:6]:
        for ext in ("json", "safetensors"):
            shutil.copy(src.path / "networks" / f"{i}.{ext}", root / "networks" / f"{i}.{ext}")
    write_manifest(root)
    assert add_controls(root, progress=False) == 12
    return simbench.load_zoo(root)


def test_shuffled_keeps_each_units_weights_signs_and_self_connection():
    rng = np.random.default_rng(0)
    hidden = 6
    w = {"w_rec": rng.normal(size=(hidden, 3 * hidden)), "w_in": rng.random((2, 3 * hidden)),
         "w_out": rng.normal(size=(hidden, 2)), "b_in": rng.normal(size=(1, 3 * hidden))}
    excitatory = np.array([True] * 4 + [False] * 2)
    w["w_rec"][~excitatory] = -np.abs(w["w_rec"][~excitatory])
    w["w_out"][~excitatory] = 0
    out = shuffled_weights(w, hidden, np.random.default_rng(1), excitatory)
    for gate in range(3):
        block, new = w["w_rec"][:, gate * hidden:(gate + 1) * hidden], out["w_rec"][:, gate * hidden:(gate + 1) * hidden]
        assert np.array_equal(np.diag(block), np.diag(new))
        for row in range(hidden):
            off = lambda m: np.sort(np.delete(m[row], row))  # noqa: E731
            assert np.array_equal(off(block), off(new))   # a unit's outgoing weights, rearranged
        assert not np.array_equal(block, new)
        columns = lambda m: np.sort(m[:, gate * hidden:(gate + 1) * hidden].T.tolist(), axis=0)  # noqa: E731
        assert np.array_equal(columns(w["w_in"]), columns(out["w_in"]))
    assert (out["w_rec"][~excitatory] <= 0).all() and (out["w_out"][~excitatory] == 0).all()
    assert np.array_equal(np.sort(w["w_out"], 0), np.sort(out["w_out"], 0))
    assert np.array_equal(out["b_in"], w["b_in"])


def test_controls_are_stored_never_passed_and_resumable(small_zoo):
    manifest = small_zoo.manifest
    controls = manifest[manifest["control"].astype("string").fillna("") != ""]
    assert len(controls) == 12 and set(controls["control"]) == {"shuffled", "random"}
    assert not controls["passed"].any() and (controls["steps"] == 0).all()
    assert set(controls["source_id"]) == set(manifest[manifest["control"].astype("string").fillna("") == ""]["id"])
    assert controls["performance"].max() < manifest[manifest["control"].astype("string").fillna("") == ""]["performance"].min()
    for row in controls.itertuples():
        assert row.id == control_id(row.source_id, row.control)
        small_zoo.network(row.id)  # loads, content hash checked
    assert add_controls(small_zoo.path, progress=False) == 0


def test_controls_resume_after_a_kill_between_manifest_rebuilds(small_zoo, tmp_path):
    """A run killed after writing a control but before rebuilding the manifest resumes."""
    import shutil

    root = tmp_path / "zoo"
    shutil.copytree(small_zoo.path, root)
    manifest = pd.read_csv(root / "manifest.csv")
    dropped = manifest[manifest["control"].astype("string").fillna("") == "random"]["id"].iloc[0]
    manifest[manifest["id"] != dropped].to_csv(root / "manifest.csv", index=False)  # as the kill left it
    with pytest.raises(ZooError, match="incomplete manifest"):
        simbench.load_zoo(root)
    assert add_controls(root, progress=False) == 0
    assert dropped in simbench.load_zoo(root).ids


def test_random_control_is_a_fresh_initialisation(small_zoo):
    row = small_zoo.manifest[small_zoo.manifest["control"] == "random"].iloc[0]
    net = small_zoo.network(row["id"])
    meta = small_zoo.network(row["source_id"]).metadata
    expected = random_weights(meta)
    for name, value in net.parameters().items():
        np.testing.assert_array_equal(value.numpy(), expected[name])
    assert meta["seed"] < CONTROL_SEED


def test_control_auc_and_factor_table_from_a_run(small_zoo, tmp_path):
    from simbench.bench.run import run_benchmark

    rows = run_benchmark("procrustes", zoo=small_zoo.path, out=tmp_path, n_boot=50, topology=False)
    assert 0.5 < rows["control_auc"][0] <= 1 and rows["control_auc_low"][0] <= rows["control_auc"][0]
    table = factor_table(tmp_path)
    assert list(table["metric"]) == ["procrustes"] and "dominant" in table
    zoo = rows["zoo"][0]
    assert factor_table(tmp_path, zoo=zoo).equals(table)
    with pytest.raises(ValueError, match=f"no rows of zoo 'zoo/{zoo}'; its rows are of zoo\\(s\\) {zoo} "
                                         r"\(--zoo takes a zoo's name, not its path\)"):
        factor_table(tmp_path, zoo=f"zoo/{zoo}")


def test_verdict():
    assert verdict(0.1, 0.3) == "activation" and verdict(-0.3, -0.1) == "Dale's law"
    assert verdict(-0.1, 0.2).startswith("neither") and verdict(np.nan, 1) == "—"
    with pytest.raises(FileNotFoundError):
        factor_table(pd.__file__ + "-missing")


def test_split_half_ranking_is_perfect_for_metrics_of_graded_noise(tmp_path):
    """Metrics that add more and more noise to a pure-architecture distance rank the
    same in both halves of the seeds."""
    from simbench.bench.leaderboard import save_distances
    from simbench.bench.reliability import half_scores, ranking_reliability, seed_halves
    from simbench.zoo.store import Zoo

    archs = ["gru", "lstm", "ugrnn", "vanilla-tanh"]
    manifest = pd.DataFrame([{"id": f"t-{a}-s{s}", "suite": "s", "task": "t", "architecture": a, "hidden": 32,
                              "seed": s, "passed": True, "content_hash": f"{a}{s}"} for a in archs for s in range(8)])
    zoo = Zoo(tmp_path / "zoo", manifest)
    a, b = seed_halves(manifest["seed"])
    assert a.sum() == b.sum() == 16 and not (a & b).any()
    arch = manifest["architecture"].to_numpy()
    base = (arch[:, None] != arch[None]).astype(float)
    rows = []
    for k, noise in enumerate((0.1, 0.5, 1.0, 2.0)):
        x = np.random.default_rng(k).random(base.shape) * noise
        d = base + x + x.T
        np.fill_diagonal(d, 0)
        save_distances(tmp_path / "lb", "s", f"m{k}", manifest["id"], d)
        rows.append({"metric": f"m{k}", "params": f"m{k}", "suite": "s", "zoo": "zoo"})
    pd.DataFrame(rows).to_csv(tmp_path / "lb" / "s.csv", index=False)
    halves = half_scores(tmp_path / "lb", zoo, "s")
    reliability = ranking_reliability(halves).set_index("score")
    assert reliability.loc["arch_auc", "spearman"] == pytest.approx(1.0)
    assert reliability.loc["arch_auc", "metrics"] == 4


class _Networks:
    """The part of a Zoo that ``with_controls`` reads: its manifest and its length."""

    def __init__(self, rows):
        self.manifest = pd.DataFrame(rows)

    def __len__(self):
        return len(self.manifest)


@pytest.mark.parametrize("spec, atol", [("cka", 0.0), ("rsa:max_items=40", 0.0), ("procrustes", 1e-12)])
def test_with_controls_gives_the_joint_matrix_of_the_pair_loop(spec, atol):
    """One ``cross`` block per cell fills exactly the entries the former loop over
    ``metric.distance`` did, with the same values (the loop metrics bit for bit, the
    vectorised CCA / shape family to rounding), and leaves the others NaN."""
    from simbench.bench.controls import with_controls
    from simbench.bench.design import Design
    from simbench.metrics import get_metric

    rng = np.random.default_rng(0)
    trained = [{"id": f"t-{a}-h8-s{s}", "task": "t", "architecture": a, "hidden": 8, "seed": s,
                "control": "", "source_id": ""} for a in ("gru", "lstm", "ctrnn-relu-dale") for s in range(3)]
    controls = [{**row, "id": f"{row['id']}-{c}", "control": c, "source_id": row["id"]}
                for row in trained for c in ("shuffled", "random")]
    metric = get_metric(spec)
    states = [metric.prepare(rng.normal(size=(40, 5)) + k, label=r["id"]) for k, r in enumerate(trained)]
    control_states = [metric.prepare(rng.normal(size=(40, 6)), label=r["id"]) for r in controls]
    distance = metric.pairwise(states)
    design, joint = with_controls(metric, distance, states, _Networks(trained), _Networks(controls), control_states)

    n, m = len(trained), len(controls)
    expected = Design.from_manifest(pd.concat([pd.DataFrame(trained), pd.DataFrame(controls)], ignore_index=True))
    assert design.table.equals(expected.table)
    loop = np.full((n + m, n + m), np.nan)
    loop[:n, :n] = distance
    np.fill_diagonal(loop, 0.0)
    cells = design.cells
    for c in range(m):
        for i in np.flatnonzero(cells[:n] == cells[n + c]):
            loop[i, n + c] = loop[n + c, i] = metric.distance(states[i], control_states[c])
    assert np.array_equal(np.isnan(joint), np.isnan(loop)) and np.isfinite(joint).sum() == n * n + m + 2 * 3 * (3 * 6)
    np.testing.assert_allclose(joint, loop, rtol=0, atol=atol)

    asked = []  # control states may come one cell at a time, from a function of their positions

    def cell_states(positions):
        asked.append(positions)
        return [control_states[p] for p in positions]

    _, lazily = with_controls(metric, distance, states, _Networks(trained), _Networks(controls), cell_states)
    np.testing.assert_array_equal(lazily, joint)
    assert sorted(p for positions in asked for p in positions) == list(range(m))
    assert all(len({design.cells[n + p] for p in positions}) == 1 for positions in asked)


def test_a_control_the_metric_cannot_score_is_left_out_of_the_design():
    """A control whose state is None (its endpoints all coincide) is dropped: the joint
    matrix and design are those of the other controls, and control_auc is the one
    computed without it."""
    from simbench.bench.controls import with_controls
    from simbench.bench.design import control_pairs
    from simbench.metrics import get_metric

    rng = np.random.default_rng(1)
    trained = [{"id": f"t-{a}-h8-s{s}", "task": "t", "architecture": a, "hidden": 8, "seed": s,
                "control": "", "source_id": ""} for a in ("gru", "lstm") for s in range(3)]
    controls = [{**row, "id": f"{row['id']}-{c}", "control": c, "source_id": row["id"]}
                for row in trained for c in ("shuffled", "random")]
    metric = get_metric("cka")
    states = [metric.prepare(rng.normal(size=(40, 5)), label=r["id"]) for r in trained]
    control_states = [metric.prepare(rng.normal(size=(40, 6)), label=r["id"]) for r in controls]
    distance = metric.pairwise(states)
    dropped = 3
    with_none = [None if k == dropped else s for k, s in enumerate(control_states)]
    design, joint = with_controls(metric, distance, states, _Networks(trained), _Networks(controls), with_none)
    others = [r for k, r in enumerate(controls) if k != dropped]
    expected_design, expected = with_controls(metric, distance, states, _Networks(trained), _Networks(others),
                                              [s for k, s in enumerate(control_states) if k != dropped])
    assert len(design) == len(trained) + len(controls) - 1
    assert design.table.equals(expected_design.table)
    np.testing.assert_array_equal(joint, expected)
    pairs = control_pairs(design)
    assert pairs.defined and not np.isnan(joint[pairs.i, pairs.j]).any()


def test_controls_evaluate_on_the_threads_asked_for_and_restore_them(monkeypatch, tmp_path):
    import torch

    from simbench.zoo import controls

    seen = []
    monkeypatch.setattr(controls, "_add_controls", lambda root, kinds, progress: seen.append(torch.get_num_threads()) or 0)
    before = torch.get_num_threads()
    assert add_controls(tmp_path, progress=False) == 0 and seen == [1]
    add_controls(tmp_path, progress=False, threads=2)
    assert seen == [1, 2] and torch.get_num_threads() == before
