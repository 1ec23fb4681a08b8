"""simbench.place: a user's network or recording among the reference zoo's memory3 networks.

Known answers: a conjugate copy of a zoo network (states h ↦ h M, M invertible) is at
CCA distance 0 from its source and sees the rest of the zoo exactly as its source does;
Procrustes is blind to a rotation and sees a stretch; an ``nn.GRU`` holding a zoo GRU's
weights is that network (same recording, same fixed points); the percentile and the
leave-one-out rule are checked against hand-computed values.
"""

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import simbench
from simbench.bench.leaderboard import distance_path
from simbench.bench.place import (SUBJECT, _published_matrix, cell_percentiles, loo_accuracy, place,
                                   suite_networks, zoo_matrix)
from simbench.bench.recordings import load_network, read_probe
from simbench.bench.run import for_suite, prepared_states
from simbench.cli import main
from simbench.dynamics import AnalysisOptions
from simbench.metrics import get_metric
from simbench.zoo.adapters import TorchRNNAdapter
from simbench.zoo.store import load_zoo
from simbench.zoo.tasks import get_suite

ROOT = Path(__file__).resolve().parents[1]
SOURCE = "flipflop3-gru-h32-s0"
QUICK_ANALYSIS = AnalysisOptions(n_initial=32).with_(max_iters=500)


@pytest.fixture(scope="module")
def zoo():
    return load_zoo(ROOT / "zoo" / "reference")


@pytest.fixture(scope="module")
def states(zoo):
    return zoo.recording(SOURCE).states.astype(np.float64)


def invertible_map(units: int, condition: float, seed: int = 0) -> np.ndarray:
    """Q₁ diag(s) Q₂ with singular values log-spaced over [1/√condition, √condition]."""
    rng = np.random.default_rng(seed)
    q1, _ = np.linalg.qr(rng.standard_normal((units, units)))
    q2, _ = np.linalg.qr(rng.standard_normal((units, units)))
    return q1 * np.geomspace(condition ** -0.5, condition ** 0.5, units) @ q2


def distance_to(placement, network_id: str) -> float:
    return float(placement.distances.set_index("id").distance[network_id])


# --- the acceptance test -----------------------------------------------------------

def test_conjugate_copy_placed_with_cca_lands_in_its_own_cell(zoo, states):
    mapped = states @ invertible_map(states.shape[-1], condition=25.0)
    placed = place(mapped, "memory3", "cca", zoo)
    assert placed.nearest.id[0] == SOURCE and placed.nearest.distance[0] < 1e-5
    # with its source left out, the copy sees every other network as the source does
    alone = place(mapped, "memory3", "cca", zoo, exclude=[SOURCE])
    row = placed.zoo_distance.loc[SOURCE, alone.distances.id].to_numpy()
    np.testing.assert_allclose(alone.distances.distance, row, atol=1e-5)
    assert tuple(alone.cells.loc[0, ["task", "architecture"]]) == ("flipflop3", "gru")
    assert list(alone.calls.call) == ["flipflop3", "gru"]
    assert alone.calls.nearest[0] == placed.zoo_distance.loc[SOURCE].drop(SOURCE).idxmin()


def test_procrustes_sees_the_stretch_and_not_the_rotation(zoo, states):
    units = states.shape[-1]
    stretched = place(states @ invertible_map(units, condition=25.0), "memory3", "procrustes", zoo)
    rotated = place(states @ invertible_map(units, condition=1.0), "memory3", "procrustes", zoo)
    cca = place(states @ invertible_map(units, condition=25.0), "memory3", "cca", zoo)
    assert distance_to(rotated, SOURCE) < 1e-6
    assert distance_to(cca, SOURCE) < 1e-5
    assert distance_to(stretched, SOURCE) > 0.1
    own = stretched.cells.set_index(["task", "architecture"]).loc[("flipflop3", "gru")]
    assert own.percentile > rotated.cells.set_index(["task", "architecture"]).loc[("flipflop3", "gru")].percentile


def test_mds_puts_an_exact_copy_on_its_source(zoo, states):
    placed = place(states @ invertible_map(states.shape[-1], condition=25.0), "memory3", "cca", zoo)
    xy = placed.mds.set_index("id")[["x", "y"]]
    spread = float(np.ptp(xy.to_numpy(), axis=0).max())
    assert np.hypot(*(xy.loc[SUBJECT] - xy.loc[SOURCE])) < 1e-3 * spread
    assert len(placed.mds) == len(placed.distances) + 1


# --- networks ------------------------------------------------------------------------------

def torch_twin(network) -> TorchRNNAdapter:
    """An nn.GRU + nn.Linear holding a zoo GRU's weights (the zoo GRU is in torch's convention)."""
    p = network.parameters()
    rnn, readout = nn.GRU(3, network.state_size, batch_first=True), nn.Linear(network.state_size, 3)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(p["w_in"].T)
        rnn.weight_hh_l0.copy_(p["w_rec"].T)
        rnn.bias_ih_l0.copy_(p["b_in"].reshape(-1))
        rnn.bias_hh_l0.copy_(p["b_rec"].reshape(-1))
        readout.weight.copy_(p["w_out"].T)
        readout.bias.copy_(p["b_out"].reshape(-1))
    return TorchRNNAdapter(rnn, readout)


def test_a_torch_gru_with_a_zoo_gru_weights_is_placed_on_it_with_its_fixed_points(zoo):
    twin = torch_twin(zoo.network(SOURCE))
    recorded, _ = twin.run(get_suite("memory3").probe_trials().inputs)
    np.testing.assert_allclose(recorded.numpy(), zoo.recording(SOURCE).states, atol=1e-5)
    placed = place(twin, "memory3", "cca", zoo, analysis=QUICK_ANALYSIS)
    assert placed.nearest.id[0] == SOURCE and placed.nearest.distance[0] < 1e-4
    mine, theirs = (placed.fixed_points[placed.fixed_points.network == n].drop(columns="network")
                    .reset_index(drop=True) for n in (SUBJECT, SOURCE))
    pd.testing.assert_frame_equal(mine, theirs)
    assert mine.fixed_points[0] > 0
    assert placed.topology_distance == 0.0
    assert placed.topology.transitions.nunique() == 1


def test_place_and_the_adapter_are_simbench_names():
    assert simbench.place is place and simbench.TorchRNNAdapter is TorchRNNAdapter
    assert {"place", "TorchRNNAdapter"} <= set(simbench.__all__)


def test_adapter_run_is_exactly_the_torch_gru():
    torch.manual_seed(0)
    rnn, readout = nn.GRU(3, 16, batch_first=True), nn.Linear(16, 2)
    x = torch.randn(5, 40, 3)
    states, outputs = TorchRNNAdapter(rnn, readout).run(x)
    with torch.no_grad():
        expected = rnn(x)[0]
        assert torch.equal(states, expected)
        assert torch.equal(outputs, readout(expected))


@pytest.mark.parametrize("make", [
    lambda: nn.GRU(3, 8, batch_first=True),
    lambda: nn.RNN(3, 8, nonlinearity="relu", batch_first=True),
    lambda: nn.LSTM(3, 8, num_layers=2, batch_first=True),
    lambda: nn.GRU(3, 8, num_layers=2, bias=False),
], ids=["gru", "rnn-relu", "lstm-2-layers", "gru-2-layers-no-bias"])
def test_adapter_step_follows_torch_equations_in_float64(make):
    torch.manual_seed(1)
    rnn, readout = make().double(), nn.Linear(8, 2).double()
    net = TorchRNNAdapter(rnn, readout)
    x = torch.randn(4, 30, 3, dtype=torch.float64)
    h, steps = net.initial_state(4), []
    for t in range(x.shape[1]):
        h = net.step(h, x[:, t])
        steps.append(h)
    states = torch.stack(steps, 1)
    with torch.no_grad():
        out, final = rnn(x if rnn.batch_first else x.transpose(0, 1))
        out = out if rnn.batch_first else out.transpose(0, 1)
        layers = rnn.num_layers
        last = states[..., (layers - 1) * 8: layers * 8]
        torch.testing.assert_close(last, out, rtol=0, atol=1e-12)
        h_n = final[0] if isinstance(rnn, nn.LSTM) else final
        torch.testing.assert_close(states[:, -1, : layers * 8], h_n.transpose(0, 1).reshape(4, -1), rtol=0, atol=1e-12)
        if isinstance(rnn, nn.LSTM):
            c_n = final[1].transpose(0, 1).reshape(4, -1)
            torch.testing.assert_close(states[:, -1, layers * 8:], c_n, rtol=0, atol=1e-12)
        torch.testing.assert_close(net.readout(states), readout(last), rtol=0, atol=1e-12)


def test_adapter_refuses_what_it_cannot_represent():
    with pytest.raises(ValueError, match="bidirectional"):
        TorchRNNAdapter(nn.GRU(3, 8, bidirectional=True), nn.Linear(16, 3))
    with pytest.raises(ValueError, match=r"nn.Linear\(8, n_outputs\)"):
        TorchRNNAdapter(nn.GRU(3, 8), nn.Linear(9, 3))
    with pytest.raises(TypeError, match="nn.RNN, nn.GRU or nn.LSTM"):
        TorchRNNAdapter(nn.Linear(3, 8), nn.Linear(8, 3))


# --- bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize("spoil, message", [
    (lambda s: s[:20], "20 conditions; expected states [24 conditions, 200 time steps, units]"),
    (lambda s: s[:, :150], "150 time steps; expected states [24 conditions, 200 time steps"),
    (lambda s: s.reshape(-1, s.shape[-1]), "shape (4800, 32); expected states [24 conditions"),
    (lambda s: np.where(np.arange(s.shape[1])[None, :, None] == 7, np.nan, s),
     "NaN or inf values (first at condition 0, step 7"),
], ids=["conditions", "time-steps", "flattened", "nan"])
def test_a_bad_recording_names_what_was_expected(zoo, states, spoil, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        place(spoil(states), "memory3", "cca", zoo)


def test_a_network_of_the_wrong_input_size_names_the_suite(zoo):
    with pytest.raises(ValueError, match=re.escape("takes 4 inputs; suite memory3 has 3")):
        place(TorchRNNAdapter(nn.GRU(4, 8), nn.Linear(8, 3)), "memory3", "cca", zoo)

    class NoInputSize:  # no n_inputs attribute: the failing step is reported instead
        def step(self, h, u):
            return torch.tanh(h + u @ torch.ones(4, 8, dtype=u.dtype))

        def readout(self, h):
            return h[:, :3]

        def initial_state(self, batch):
            return torch.zeros(batch, 8)

    with pytest.raises(ValueError, match=re.escape("step(h [1, 8], u [1, 3]) failed; suite memory3 has 3 inputs")):
        place(NoInputSize(), "memory3", "cca", zoo)


def test_other_bad_requests_are_named(zoo, states, tmp_path):
    with pytest.raises(ValueError, match="needs your network, not a recording"):
        place(states, "memory3", "fp-count", zoo)
    with pytest.raises(ValueError, match="fp-count analyses the zoo's networks with its own options"):
        place(states, "memory3", "fp-count", zoo, analysis=QUICK_ANALYSIS)
    with pytest.raises(ValueError, match="exclude: nope not among the passed memory3 networks"):
        place(states, "memory3", "cca", zoo, exclude=["nope"])
    np.savez(tmp_path / "two.npz", a=states, b=states)
    with pytest.raises(ValueError, match="no array named 'states' .found a, b."):
        place(tmp_path / "two.npz", "memory3", "cca", zoo)
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="not a readable .npz recording"):
        place(tmp_path / "junk.npz", "memory3", "cca", zoo)
    with pytest.raises(TypeError, match="cannot place a dict"):
        place({}, "memory3", "cca", zoo)


# --- definitions, against hand-computed answers ---------------------------------------------

def test_cell_percentile_is_the_mean_mid_rank_among_within_cell_distances():
    # cell (t, x): three networks whose pairwise distances are 1, 2, 3; cell (u, x): one network
    D = np.array([[0, 1, 2, 9], [1, 0, 3, 9], [2, 3, 0, 9], [9, 9, 9, 0]], dtype=float)
    info = pd.DataFrame({"id": list("abcd"), "task": ["t", "t", "t", "u"], "architecture": ["x"] * 4})

    def percentile(d):
        return cell_percentiles(np.asarray(d, dtype=float), D, info).set_index("task").percentile

    # F(0.5) = 0, F(2) = (1 + ½)/3 = ½, F(4) = 1: mean ½
    assert percentile([0.5, 2.0, 4.0, 1.0])["t"] == pytest.approx(50.0)
    assert percentile([0.1, 0.1, 0.1, 1.0])["t"] == 0.0
    assert percentile([5.0, 5.0, 5.0, 1.0])["t"] == 100.0
    assert np.isnan(percentile([1, 1, 1, 1])["u"])
    cells = cell_percentiles(np.array([0.5, 2.0, 4.0, 1.0]), D, info)
    assert list(cells.task) == ["u", "t"]  # nearest cell (median distance 1 < 2) first
    assert cells.set_index("task").within_median["t"] == 2.0


def test_leave_one_out_accuracy_of_the_call_rule_on_a_line():
    # positions on a line; the architecture is called among networks of the *called* task
    x = np.array([0.0, 1.0, 2.5, 3.0, 10.0, 11.0, 5.2])
    task = np.array(["T1", "T1", "T1", "T1", "T2", "T2", "T2"])
    arch = np.array(["A", "B", "A", "A", "A", "B", "A"])
    D = np.abs(x[:, None] - x[None, :])
    # task: all right but the last (its nearest, at 3.0, is T1); architecture: right for
    # the networks at 2.5 and 3.0 (each other's nearest) and at 5.2 (called T1, nearest A)
    assert loo_accuracy(D, task, arch) == pytest.approx((6 / 7, 3 / 7))


def test_the_published_matrix_is_used_only_when_it_checks_out(zoo, tmp_path):
    metric = for_suite(get_metric("cca"), "memory3")
    full, _ = suite_networks(zoo, "memory3")
    kept = full.filter(task="flipflop3")
    states, _ = prepared_states(metric, kept)
    assert _published_matrix(metric, kept, full, ROOT / "leaderboards") is not None
    computed = zoo_matrix(metric, states, kept, full, None)
    published = zoo_matrix(metric, states, kept, full, ROOT / "leaderboards")
    np.testing.assert_allclose(published, computed, atol=1e-9)
    boards = tmp_path / "boards"
    shutil.copytree(ROOT / "leaderboards", boards)
    path = distance_path(boards, "memory3", metric.name)
    frame = pd.read_csv(path, index_col=0)
    frame.loc[kept.ids[0], kept.ids[-1]] += 0.5  # a stale entry on a spot-checked pair
    frame.to_csv(path)
    np.testing.assert_allclose(zoo_matrix(metric, states, kept, full, boards), computed, atol=1e-9)


# --- files and the command line ---------------------------------------------------------------

def test_probe_file_round_trips_and_place_command_reads_a_recording(zoo, states, tmp_path, capsys):
    assert main(["probe", "memory3", "--out", str(tmp_path / "inputs.npz")]) == 0
    inputs, conditions, suite = read_probe(tmp_path / "inputs.npz")
    trials = get_suite("memory3").probe_trials()
    assert suite == "memory3" and np.array_equal(inputs, trials.inputs)
    pd.testing.assert_frame_equal(conditions, trials.conditions, check_dtype=False)
    table = pd.read_csv(tmp_path / "inputs.conditions.csv", index_col="condition").rename_axis(None)
    pd.testing.assert_frame_equal(table, trials.conditions, check_dtype=False)

    np.savez(tmp_path / "mine.npz", states=states @ invertible_map(states.shape[-1], condition=25.0))
    args = ["place", "memory3", "--states", str(tmp_path / "mine.npz"), "--zoo", str(zoo.path),
            "--leaderboards", str(ROOT / "leaderboards"), "--out", str(tmp_path / "figs")]
    capsys.readouterr()
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert SOURCE in printed and (tmp_path / "figs" / "place-memory3-cca.png").stat().st_size > 0
    np.savez(tmp_path / "short.npz", states=states[:, :10])
    assert main(args[:3] + [str(tmp_path / "short.npz")] + args[4:]) == 2
    captured = capsys.readouterr()
    assert "10 time steps; expected states" in " ".join((captured.out + captured.err).split())


def test_load_network_reads_a_file_or_a_module(tmp_path):
    (tmp_path / "mine.py").write_text(
        "from torch import nn\nimport simbench\n\n"
        "def build():\n    return simbench.TorchRNNAdapter(nn.GRU(3, 8), nn.Linear(8, 3))\n")
    net = load_network(f"{tmp_path / 'mine.py'}:build")
    assert isinstance(net, TorchRNNAdapter) and net.n_inputs == 3
    with pytest.raises(ValueError, match="has no attribute 'missing'"):
        load_network(f"{tmp_path / 'mine.py'}:missing")
    with pytest.raises(ValueError, match="lacks step, readout, initial_state"):
        load_network("collections:OrderedDict")
    with pytest.raises(ValueError, match="expected FILE.py:NAME"):
        load_network("nothing")


@pytest.mark.slow
def test_readme_example_runs_as_written(tmp_path, monkeypatch):
    """The README's "Place your own network or recording" example, executed as written."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Place your own network or recording", 1)[1].split("\n## ", 1)[0]
    code = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(code) == 1
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code[0], "README.md", "exec"), scope)
    placed = scope["placed"]
    assert placed.calls.call[0] == "flipflop3"  # cca's 1-NN task call: 1.0 on the leaderboard
    assert set(placed.fixed_points.network) == {SUBJECT, placed.nearest.id[0]}
    assert (tmp_path / "place" / "place-memory3-cca.png").exists()
