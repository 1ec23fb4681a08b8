"""The gonogo and memorynumber suites: inputs, masks, probes, and closed-form optimal outputs.

(The generic checks of every registered task, shapes, seeding and performance bounds,
are in tests/test_tasks.py and cover these tasks too.)
"""

import numpy as np
import pytest

from simbench.dynamics.inputs import constant_inputs
from simbench.zoo.catalog import task_table
from simbench.zoo.tasks import get_suite, get_task, gonogo, memorynumber, suite_tasks

PROBE_VALUES = np.linspace(0.0, 1.0, 11)


def _window(*spans, T):
    """Indicator over time of the half-open spans [a, b)."""
    out = np.zeros(T)
    for a, b in spans:
        out[a:b] = 1.0
    return out


def test_suites_are_registered_with_two_tasks_each():
    assert [t.name for t in suite_tasks("gonogo")] == ["gonogo", "gonogo-immediate"]
    assert [t.name for t in suite_tasks("memorynumber")] == ["memorynumber", "memorynumber-binary"]
    table = task_table().set_index("task")
    for name in ("gonogo", "gonogo-immediate", "memorynumber", "memorynumber-binary"):
        assert table.loc[name, "threshold"] == 0.8 and table.loc[name, "score"] == "r2"
        assert table.loc[name, "inputs"] == 3 and table.loc[name, "outputs"] == 1


def test_gonogo_inputs_targets_and_masks():
    probe = get_task("gonogo").probe()
    assert probe.inputs.shape == (11, 60, 3)
    np.testing.assert_allclose(probe.conditions["value"], PROBE_VALUES)
    np.testing.assert_allclose(probe.inputs[:, :, 0], np.repeat(PROBE_VALUES[:, None], 60, 1), atol=1e-7)
    np.testing.assert_array_equal(probe.inputs[:, :, 1], np.broadcast_to(_window((30, 60), T=60), (11, 60)))
    np.testing.assert_array_equal(probe.inputs[:, :, 2], 1.0)
    go = (PROBE_VALUES > 0.5).astype(float)  # v = 0.5 is no-go
    np.testing.assert_array_equal(probe.conditions["go"], go)
    np.testing.assert_array_equal(probe.targets[:, :, 0], go[:, None] * _window((30, 60), T=60))
    np.testing.assert_array_equal(probe.mask[:, :, 0], np.broadcast_to(_window((10, 30), (40, 60), T=60), (11, 60)))
    immediate = get_task("gonogo-immediate").probe()
    np.testing.assert_array_equal(immediate.targets[:, :, 0], np.repeat(go[:, None], 60, 1))
    np.testing.assert_array_equal(immediate.mask[0, :, 0], _window((10, 60), T=60))


def test_gonogo_training_noise_sits_on_the_stimulus_only():
    trials = get_suite("gonogo").trials(np.random.default_rng(0), 256)
    residual = trials.inputs[:, :, 0] - trials.latent["value"][:, None]
    assert residual.std() == pytest.approx(gonogo.NOISE, rel=0.05)
    assert 0.0 <= trials.latent["value"].min() and trials.latent["value"].max() <= 1.0
    np.testing.assert_array_equal(trials.inputs[:, :, 1:], get_task("gonogo").probe().inputs[:1, :, 1:].repeat(256, 0))


def test_memorynumber_inputs_targets_and_masks():
    probe = get_task("memorynumber").probe()
    assert probe.inputs.shape == (11, 120, 3)
    stimulus = np.repeat(PROBE_VALUES[:, None], 120, 1) * _window((20, 30), T=120)
    np.testing.assert_allclose(probe.inputs[:, :, 0], stimulus, atol=1e-7)
    np.testing.assert_array_equal(probe.inputs[0, :, 1], _window((60, 120), T=120))
    np.testing.assert_array_equal(probe.inputs[:, :, 2], 1.0)
    recall = _window((60, 120), T=120)
    np.testing.assert_allclose(probe.targets[:, :, 0], PROBE_VALUES[:, None] * recall, atol=1e-7)
    np.testing.assert_array_equal(probe.mask[0, :, 0], _window((0, 60), (80, 120), T=120))
    binary = get_task("memorynumber-binary").probe()
    np.testing.assert_array_equal(binary.targets[:, :, 0], (PROBE_VALUES > 0.5)[:, None] * recall)
    np.testing.assert_array_equal(binary.mask, probe.mask)


def test_memorynumber_onsets_are_jittered_in_training_only():
    trials = get_suite("memorynumber").trials(np.random.default_rng(1), 2000)
    onsets = trials.latent["onset"]
    assert onsets.min() == 0 and onsets.max() == 40  # 20 ± 20, both ends drawn
    stimulus = trials.inputs[:, :, 0]
    on = np.arange(120)[None, :] - onsets[:, None]
    inside = (on >= 0) & (on < 10)
    assert not stimulus[~inside].any()
    pulse_mean = np.where(inside, stimulus, 0).sum(1) / 10
    np.testing.assert_allclose(pulse_mean, trials.latent["value"], atol=5 * memorynumber.NOISE / np.sqrt(10))


@pytest.mark.parametrize("suite", ["gonogo", "memorynumber"])
def test_probe_is_deterministic_and_shared(suite):
    first, second = (t.probe() for t in suite_tasks(suite))
    again = suite_tasks(suite)[0].probe()
    np.testing.assert_array_equal(first.inputs, again.inputs)
    np.testing.assert_array_equal(first.targets, again.targets)
    np.testing.assert_array_equal(first.inputs, second.inputs)
    assert first.conditions.equals(second.conditions)


def _gonogo_optimum(inputs, immediate):
    """Threshold the stimulus (its trial mean, noise averaged out) and gate by the cue."""
    go = (inputs[:, :, 0].mean(1) > 0.5)[:, None]
    gate = np.ones_like(inputs[:, :, 1]) if immediate else inputs[:, :, 1]
    return (go * gate)[..., None]


def _memory_optimum(inputs, binary):
    """The pulse's value (its mean over the 10 stimulus steps), reported while the cue is on."""
    value = inputs[:, :, 0].sum(1) / memorynumber.STIM_DURATION
    reported = (value > 0.5) if binary else value
    return reported[:, None, None] * inputs[:, :, 1:2]


@pytest.mark.parametrize("name, optimum", [
    ("gonogo", lambda x: _gonogo_optimum(x, False)),
    ("gonogo-immediate", lambda x: _gonogo_optimum(x, True)),
    ("memorynumber", lambda x: _memory_optimum(x, False)),
    ("memorynumber-binary", lambda x: _memory_optimum(x, True)),
])
def test_closed_form_optimum_scores_one(name, optimum):
    task = get_task(name)
    probe = task.probe()
    assert task.performance(optimum(probe.inputs), probe.targets, probe.mask) == 1.0
    # noisy training inputs: only trials within ~0.01 of the boundary (noise std of the
    # estimate) can fall on the wrong side, ~1 % of them, each costing 1/var = 4–5 % of R²
    batch = task.sample(np.random.default_rng(2), 512)
    assert task.performance(optimum(batch.inputs), batch.targets, batch.mask) > 0.9


def test_the_threshold_separates_the_scaffolds_of_each_suite():
    rng = np.random.default_rng(3)
    gated, immediate = get_task("gonogo"), get_task("gonogo-immediate")
    trials = gated.suite.trials(rng, 4000)
    (y_gated, m_gated), (y_now, m_now) = gated.targets(trials), immediate.targets(trials)
    assert immediate.performance(y_gated, y_now, m_now) == pytest.approx(0.2, abs=0.03)
    assert gated.performance(y_now, y_gated, m_gated) == 0.0
    graded, binary = get_task("memorynumber"), get_task("memorynumber-binary")
    trials = graded.suite.trials(rng, 20000)
    (y_graded, m), (y_binary, _) = graded.targets(trials), binary.targets(trials)
    category_held = y_graded.copy()
    category_held[:, memorynumber.RECALL_ON:, 0] = np.where(trials.latent["value"] > 0.5, 0.75, 0.25)[:, None]
    assert graded.performance(category_held, y_graded, m) == pytest.approx(1 - 1 / 4, abs=0.01)
    assert binary.performance(y_graded, y_binary, m) == pytest.approx(1 - 1 / 3, abs=0.01)
    assert max(0.75, 2 / 3) + 0.01 < graded.threshold


def test_recall_score_ignores_the_pre_cue_period_only():
    task = get_task("memorynumber")
    probe = task.probe()
    wrong_before_cue = probe.targets.copy()
    wrong_before_cue[:, :60] += 1.0
    assert task.performance(wrong_before_cue, probe.targets, probe.mask) == 1.0
    wrong_in_settling = probe.targets.copy()
    wrong_in_settling[:, 60:80] += 1.0
    assert task.performance(wrong_in_settling, probe.targets, probe.mask) == 1.0
    late = probe.targets.copy()
    late[:, 80:] = 0.5
    assert task.performance(late, probe.targets, probe.mask) == 0.0


def test_constant_inputs_of_the_dynamics_analysis():
    inputs, labels = constant_inputs("gonogo")
    assert inputs.shape == (22, 3) and len(labels) == 22
    np.testing.assert_allclose(inputs[:11, 0], PROBE_VALUES, atol=1e-7)
    assert set(inputs[:, 1]) == {0.0, 1.0} and (inputs[:, 2] == 1).all()
    inputs, labels = constant_inputs("memorynumber-binary")
    np.testing.assert_array_equal(inputs, [[0, 0, 1], [0, 1, 1]])
    assert labels == ["hold", "recall"]
