"""Tasks: shapes, determinism, and targets checked against independent computations."""

import numpy as np
import pytest
from scipy.signal import lfilter

from simbench.zoo.tasks import SUITES, TASKS, get_suite, get_task, suite_tasks
from simbench.zoo.tasks import cddm, memory3, oscillation


@pytest.mark.parametrize("name", list(TASKS))
def test_sample_shapes_and_reproducibility(name):
    task = get_task(name)
    a = task.sample(np.random.default_rng(7), 5)
    b = task.sample(np.random.default_rng(7), 5)
    assert a.inputs.shape == (5, task.n_steps, task.n_inputs)
    assert a.targets.shape == a.mask.shape == (5, task.n_steps, task.n_outputs)
    assert a.inputs.dtype == a.targets.dtype == a.mask.dtype == np.float32
    for x, y in zip((a.inputs, a.targets, a.mask), (b.inputs, b.targets, b.mask)):
        np.testing.assert_array_equal(x, y)
    c = task.sample(np.random.default_rng(8), 5)
    assert not np.array_equal(a.inputs, c.inputs)


@pytest.mark.parametrize("name", list(TASKS))
def test_performance_bounds(name):
    task = get_task(name)
    batch = task.sample(np.random.default_rng(0), 16)
    assert task.performance(batch.targets, batch.targets, batch.mask) == 1.0
    wrong = task.performance(-batch.targets - 1, batch.targets, batch.mask)
    assert 0.0 <= wrong < 0.5


@pytest.mark.parametrize("suite", list(SUITES))
def test_probe_is_shared_deterministic_and_described(suite):
    tasks = suite_tasks(suite)
    probes = [t.probe() for t in tasks]
    for probe in probes:
        np.testing.assert_array_equal(probe.inputs, probes[0].inputs)
        assert len(probe.conditions) == probe.inputs.shape[0]
    np.testing.assert_array_equal(tasks[0].probe().targets, probes[0].targets)


def _last_sign(onsets):
    """Reference flip-flop state by an explicit loop."""
    state = np.zeros_like(onsets)
    current = np.zeros(onsets.shape[::2])
    for t in range(onsets.shape[1]):
        current = np.where(onsets[:, t] != 0, onsets[:, t], current)
        state[:, t] = current
    return state


def test_flipflop_holds_sign_of_last_pulse():
    task = get_task("flipflop3")
    trials = task.suite.trials(np.random.default_rng(1), 64)
    targets, mask = task.targets(trials)
    np.testing.assert_array_equal(targets, _last_sign(trials.latent["onsets"]))
    assert set(np.unique(targets[mask > 0])) == {-1.0, 1.0}
    # pulses are PULSE_WIDTH wide, at least REFRACTORY apart on a channel
    onsets = trials.latent["onsets"]
    for b, c in zip(*np.nonzero((onsets != 0).any(1))):
        times = np.flatnonzero(onsets[b, :, c])
        assert np.all(np.diff(times) >= memory3.REFRACTORY)
    assert np.abs(trials.inputs).sum() == pytest.approx(memory3.PULSE_WIDTH * np.abs(onsets).sum())


def test_integrate_is_scaled_running_sum_and_decay_a_leaky_filter():
    trials = memory3.MEMORY3.trials(np.random.default_rng(2), 32)
    total, _ = get_task("integrate3").targets(trials)
    # after a whole pulse, the integral moves by exactly ±1/3
    expected = np.cumsum(trials.latent["onsets"], axis=1)[:, -1] / 3
    np.testing.assert_allclose(total[:, -1], expected, atol=1e-5)
    trace, mask = get_task("decay3").targets(trials)
    lam = np.exp(-1 / memory3.DECAY_TAU)
    reference = lfilter([(1 - lam) * memory3.DECAY_GAIN], [1, -lam], trials.inputs, axis=1)
    np.testing.assert_allclose(trace, reference, atol=1e-5)
    assert mask.all()


def test_sine_frequency_follows_the_cue():
    probe = get_task("sine").probe()
    omega = probe.conditions["omega"].to_numpy()
    assert omega.min() == pytest.approx(0.1) and omega.max() == pytest.approx(0.3)
    t = np.arange(oscillation.T)
    np.testing.assert_allclose(probe.targets[..., 0], np.sin(omega[:, None] * t), atol=1e-5)
    hold = get_task("hold").probe()
    np.testing.assert_allclose(hold.targets[:, :, 0], probe.inputs[:, :, 0])
    assert not probe.mask[:, : oscillation.SETTLE].any()


def test_context_tasks_follow_the_selected_stream():
    suite = get_suite("context")
    trials = suite.trials(np.random.default_rng(3), 16)
    context = trials.latent["context"]
    np.testing.assert_array_equal(trials.inputs[np.arange(16), 0, 2 + context], 1.0)
    np.testing.assert_array_equal(trials.inputs[np.arange(16), 0, 3 - context], 0.0)
    selected = trials.latent["selected_mean"]
    integral, _ = get_task("cdi").targets(trials)
    np.testing.assert_allclose(integral[:, -1, 0], selected.sum(1) / 45.0)
    sign, mask = get_task("cdr").targets(trials)
    np.testing.assert_array_equal(sign[:, :, 0], np.sign(selected))
    assert not mask[:, 10:20].any() and mask[:, 20:40].all()


def test_cddm_matches_tolmachev_engel():
    task = get_task("cddm")
    probe = task.probe()
    grid = probe.conditions
    assert len(grid) == 450 and len(cddm.COHERENCES) == 15
    assert set(np.abs(cddm.COHERENCES)) == {0.0} | {2.0**-k for k in range(7)}
    x = probe.inputs
    assert x.shape == (450, 300, 6)
    motion = grid["motion"].to_numpy()
    np.testing.assert_allclose(x[:, 150, 2], (1 + motion) / 2)
    np.testing.assert_allclose(x[:, 150, 3], (1 - motion) / 2)
    assert not x[:, :100, 2:].any()
    is_motion = (grid["context"] == "motion").to_numpy()
    np.testing.assert_array_equal(x[:, :, 0], np.broadcast_to(is_motion[:, None], (450, 300)))
    relevant = grid["relevant"].to_numpy()
    np.testing.assert_array_equal(probe.targets[relevant > 0, 250], [[1, 0]] * (relevant > 0).sum())
    assert not probe.targets[relevant == 0].any()
    assert not probe.targets[:, :200].any()
    expected_mask = np.zeros(300)
    expected_mask[:100] = expected_mask[200:] = 1
    np.testing.assert_array_equal(probe.mask[0, :, 0], expected_mask)


def test_bad_input_names_the_culprit():
    with pytest.raises(ValueError, match="flipflop3"):
        get_task("flipflop")
    with pytest.raises(ValueError, match="memory3"):
        get_suite("memory")
    with pytest.raises(ValueError, match="positive"):
        get_task("sine").sample(np.random.default_rng(0), 0)
    task = get_task("hold")
    with pytest.raises(ValueError, match="share one"):
        task.performance(np.zeros((2, 3, 1)), np.zeros((2, 4, 1)), np.ones((2, 4, 1)))
