"""OOD psychometric maps: the task's own inputs, closed-form maps of hand-built deciders,
common random numbers, batching, errors and the PNG."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from dynamics_helpers import REFERENCE_ZOO

from simbench.dynamics.ood import cddm_inputs, ood_levels, ood_map, ood_maps, plot_ood_map
from simbench.metrics import get_metric
from simbench.zoo.store import load_zoo
from simbench.zoo.tasks import cddm, get_task


class Decider:
    """A Network-like CDDM solver: h accumulates the evidence of one feature per context,
    R − L of the relevant channel pair (``follow="relevant"``) or of the other one."""

    n_inputs, n_outputs, state_size, time, alpha = 6, 2, 1, "discrete", None

    def __init__(self, follow: str = "relevant", name: str = "decider"):
        self.follow = follow
        self.metadata = {"task": "cddm", "id": name}

    def step(self, h, u):
        motion, color = u[:, 2] - u[:, 3], u[:, 4] - u[:, 5]
        if self.follow == "relevant":
            evidence = u[:, 0] * motion + u[:, 1] * color
        else:
            evidence = u[:, 0] * color + u[:, 1] * motion
        return h + evidence[:, None]

    def readout(self, h):
        return torch.cat([h, -h], -1)

    def initial_state(self, batch=1):
        return torch.zeros(batch, 1, dtype=torch.float32)


def _step_map(levels, axis):
    """1[c > 0] + ½ 1[c = 0] along ``axis`` (0: relevant rows, 1: irrelevant columns)."""
    step = (levels > 0) + 0.5 * (levels == 0)
    grid = np.broadcast_to(step[:, None] if axis == 0 else step[None, :], (len(levels),) * 2)
    return np.stack([grid, grid])


def test_inputs_are_the_tasks_own_on_its_coherences():
    probe = get_task("cddm").suite.probe_trials()
    before, after = cddm_inputs(cddm.COHERENCES)
    n = len(cddm.COHERENCES)
    index = {c: i for i, c in enumerate(cddm.COHERENCES)}
    for row, cond in probe.conditions.iterrows():
        k = cddm.CONTEXTS.index(cond.context)
        relevant, irrelevant = (cond.motion, cond.color) if k == 0 else (cond.color, cond.motion)
        mine = k * n * n + index[relevant] * n + index[irrelevant]
        np.testing.assert_allclose(probe.inputs[row, : cddm.STIM_ON], np.broadcast_to(before[mine], (cddm.STIM_ON, 6)))
        np.testing.assert_allclose(probe.inputs[row, cddm.STIM_ON:],
                                   np.broadcast_to(after[mine], (cddm.T - cddm.STIM_ON, 6)), rtol=1e-6)


def test_the_grid_is_the_papers():
    levels = ood_levels()
    assert len(levels) == 31 and levels[0] == -4 and levels[-1] == 4 and levels[15] == 0
    np.testing.assert_allclose(np.diff(levels), 8 / 30)


def test_an_ideal_decider_has_the_step_map_and_a_context_blind_one_its_transpose():
    levels = ood_levels(n_levels=9)
    ideal = ood_map(Decider("relevant"), n_levels=9, repeats=2, noise=0.0)
    blind = ood_map(Decider("irrelevant"), n_levels=9, repeats=2, noise=0.0)
    np.testing.assert_array_equal(ideal.choice, _step_map(levels, 0))
    np.testing.assert_array_equal(blind.choice, _step_map(levels, 1))
    assert ideal.accuracy("inside") == ideal.accuracy("outside") == 1.0
    assert blind.accuracy() == pytest.approx(0.5)
    # ood distance in closed form: per context, 8·8/2 cells differ by 1 and 2·8 cells by ½
    assert get_metric("ood:n_levels=9,repeats=2,noise=0.0").distance(ideal, blind) == pytest.approx(
        np.sqrt((32 + 16 * 0.25) / 81))


def test_noise_only_blurs_the_undecidable_row():
    noisy = ood_map(Decider(), n_levels=9, repeats=5)
    decided = noisy.levels != 0
    np.testing.assert_array_equal(noisy.choice[:, decided], _step_map(noisy.levels, 0)[:, decided])
    zero = noisy.choice[:, ~decided]
    assert np.all(np.isin(zero * 5, np.arange(6))) and 0 < zero.mean() < 1


def test_every_network_sees_the_same_noisy_trials():
    a, b = ood_maps([Decider(name="a"), Decider(name="b")], n_levels=7, repeats=3)
    np.testing.assert_array_equal(a.choice, b.choice)
    other_seed = ood_map(Decider(), n_levels=7, repeats=3, seed=1)
    assert not np.array_equal(a.choice, other_seed.choice)


def test_a_batch_of_zoo_networks_equals_one_at_a_time():
    zoo = load_zoo(REFERENCE_ZOO)
    ids = ["cddm-ctrnn-relu-dale-h32-s0", "cddm-ctrnn-relu-dale-h32-s1", "cddm-gru-h32-s0"]
    nets = [zoo.network(i) for i in ids]
    together = ood_maps(nets, n_levels=9, repeats=2)
    for net, batched in zip(nets, together):
        alone = ood_map(net, n_levels=9, repeats=2)
        np.testing.assert_array_equal(batched.choice, alone.choice)
        assert batched.network == net.metadata["id"]
    assert together[0].accuracy("inside") == 1.0  # a trained network solves the trained range


def test_networks_of_other_suites_and_non_networks_get_one_clear_error():
    zoo = load_zoo(REFERENCE_ZOO)
    with pytest.raises(ValueError, match="flipflop3-gru-h32-s0 is trained on 'flipflop3'.*cddm suite only"):
        ood_map(zoo.network("flipflop3-gru-h32-s0"))
    unnamed = Decider()
    unnamed.metadata = {}
    with pytest.raises(ValueError, match="no metadata\\['task'\\]"):
        ood_map(unnamed)
    with pytest.raises(ValueError, match="not a network"):
        ood_map(np.zeros((10, 3)))
    with pytest.raises(ValueError, match="repeats"):
        ood_map(Decider(), repeats=0)


def test_the_heat_map_is_a_png(tmp_path):
    path = plot_ood_map(ood_map(Decider(), n_levels=5, repeats=1), tmp_path / "maps" / "ood.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in path.parent.iterdir()] == ["ood.png"]  # no temporary file left


def test_cli_ood_prints_the_accuracies_and_saves_the_map(tmp_path, capsys):
    from simbench.cli import main

    out = tmp_path / "map.png"
    assert main(["ood", "cddm-vanilla-relu-h32-s0", "--zoo", str(REFERENCE_ZOO), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "inside" in printed and "outside" in printed and out.read_bytes()[:4] == b"\x89PNG"
    assert main(["ood", "flipflop3-gru-h32-s0", "--zoo", str(REFERENCE_ZOO)]) == 2
    assert "cddm suite only" in "".join(capsys.readouterr())
