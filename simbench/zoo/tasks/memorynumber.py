"""Suite ``memorynumber``: hold a briefly shown value until a recall cue (Tolmachev & Engel 2025).

Inputs ``[stimulus, recall_cue, constant]``, one output. Constants (continuous-time
networks integrate with α = dt/τ = 0.1, a 10-step time constant):

- ``T = 120`` steps (12 τ). The stimulus channel carries v ∈ [0, 1] for
  ``STIM_DURATION = 10`` steps (one τ: a unit covers 65 % of the way to its drive) from
  ``STIM_ON = 20``; in training the onset is jittered uniformly by up to ``JITTER = 20``
  steps either way (onsets 0…40), so the networks cannot time the recall from the
  stimulus and must hold v for 10–50 steps before the cue and 60 steps after its start
  (up to 10 τ). The probe uses the unjittered onset.
- The recall cue is on over ``[RECALL_ON, T) = [60, 120)``; the constant channel is 1
  throughout.
- Loss mask ``[0, RECALL_ON) ∪ [RECALL_ON + SETTLE, T) = [0, 60) ∪ [80, 120)``: the
  output must stay at 0 until the cue and then report; ``SETTLE = 20`` steps (2 τ) after
  the cue are free, the time a leaky readout needs to get within 15 % of its target.
- Training adds white noise of std ``NOISE = 0.03`` to the stimulus channel while the
  stimulus is on (the best estimate of v, the mean over its 10 steps, then has
  std 0.01); nothing is added during the hold, so the hold is limited by the networks'
  own noise only. The probe is noise-free.

Probe set: ``N_PROBE = 11`` values on ``linspace(0, 1, 11)``, onset ``STIM_ON``.

Tasks (same inputs, different scaffolds):

- ``memorynumber``: output v during the recall period: a graded memory, a line
  attractor along which the networks hold any value in [0, 1].
- ``memorynumber-binary``: output 1 if v > 0.5 else 0 during the recall period: a
  categorical memory, two point attractors (a delayed go/no-go, the same boundary as
  ``gonogo``). Two attractors against a continuum is the scaffold contrast of
  ``flipflop3`` against ``integrate3`` in the ``memory3`` suite.

**Performance** is R² over the recall part of the mask only (``[80, 120)``); the
pre-cue zeros are trained but not scored. With them in the score, a network holding
only the category of v (outputs 0.25 / 0.75) would reach R² 0.91 on ``memorynumber``;
on the recall period alone it reaches 1 − (1/48)/(1/12) = 0.75, below ``THRESHOLD =
0.8`` (the value of the tracker's issue 13), and a network holding v exactly reaches
1 − (1/12)/(1/4) = 0.67 on ``memorynumber-binary``. So the threshold admits only
networks with the scaffold of their own task (``tests/test_new_tasks.py`` checks both
numbers).

**Who learns it.** In the reference zoo (zoo/reference/README.md) 34 of 36 CTRNNs and 10
of 12 UGRNN and vanilla ReLU networks pass both tasks, no GRU, LSTM or vanilla tanh
network does: the first scored step comes 30–80 steps after the pulse, and a discrete
cell at initialisation forgets the pulse long before (a GRU keeps ≈ 0.73 of its state
per step), so no gradient reaches it. Those networks stay at the memoryless solution
(output 0.5 during recall). Training-only feedback within a few steps of the pulse lets
GRUs learn, but that is another task; the suite keeps the paper's timing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simbench.zoo.task import Suite, Task, Trials, r_squared

T = 120
STIM_ON = 20
STIM_DURATION = 10
JITTER = 20
RECALL_ON = 60
SETTLE = 20
BOUNDARY = 0.5
NOISE = 0.03
N_PROBE = 11
THRESHOLD = 0.8


class MemoryNumberSuite(Suite):
    name = "memorynumber"
    n_inputs = 3
    n_outputs = 1
    n_steps = T

    def trials(self, rng, batch):
        values = rng.uniform(0.0, 1.0, size=batch)
        onsets = STIM_ON + rng.integers(-JITTER, JITTER + 1, size=batch)
        noise = NOISE * rng.standard_normal((batch, STIM_DURATION))
        return self._build(values, onsets, noise)

    def probe_trials(self):
        values = np.linspace(0.0, 1.0, N_PROBE)
        trials = self._build(values, np.full(N_PROBE, STIM_ON), None)
        return Trials(trials.inputs, trials.latent, pd.DataFrame({"value": values}))

    @staticmethod
    def _build(values, onsets, noise):
        values = np.asarray(values, dtype=np.float64)
        batch = len(values)
        pulse = np.broadcast_to(values[:, None], (batch, STIM_DURATION))
        if noise is not None:
            pulse = pulse + noise
        inputs = np.zeros((batch, T, 3), dtype=np.float32)
        steps = onsets[:, None] + np.arange(STIM_DURATION)[None, :]
        inputs[np.arange(batch)[:, None], steps, 0] = pulse
        inputs[:, RECALL_ON:, 1] = 1.0
        inputs[:, :, 2] = 1.0
        return Trials(inputs, {"value": values, "onset": np.asarray(onsets)})


MEMORYNUMBER = MemoryNumberSuite()


def _recall_targets(reported: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Targets: 0 before the cue, ``reported`` from it; mask [0, RECALL_ON) ∪ [RECALL_ON + SETTLE, T)."""
    targets = np.zeros((len(reported), T, 1), dtype=np.float32)
    targets[:, RECALL_ON:, 0] = np.asarray(reported, dtype=np.float32)[:, None]
    mask = np.ones_like(targets)
    mask[:, RECALL_ON:RECALL_ON + SETTLE] = 0.0
    return targets, mask


class _Recall(Task):
    """A recall task: R² over the recall part of the mask (see the module docstring)."""

    suite = MEMORYNUMBER
    threshold = THRESHOLD

    def performance(self, outputs, targets, mask):
        outputs, targets, mask = self.validated(outputs, targets, mask)
        recall = mask.copy()
        recall[:, :RECALL_ON + SETTLE] = 0.0
        return r_squared(outputs, targets, recall)


class MemoryNumber(_Recall):
    """Report the remembered value v during the recall period."""

    name = "memorynumber"

    def targets(self, trials):
        return _recall_targets(trials.latent["value"])


class MemoryNumberBinary(_Recall):
    """Report whether the remembered value exceeded 0.5 (1) or not (0) during recall."""

    name = "memorynumber-binary"

    def targets(self, trials):
        return _recall_targets(trials.latent["value"] > BOUNDARY)
