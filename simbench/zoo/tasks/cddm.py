"""Suite ``cddm``: context-dependent decision making as in Tolmachev & Engel (2025).

Inputs ``[ctx_motion, ctx_color, motion_R, motion_L, color_R, color_L]``; the stimulus
channels of a feature with coherence c carry ``(1 + c)/2`` (R) and ``(1 − c)/2`` (L).
Constants:

- ``T = 300`` steps; the context is on for the whole trial, the stimulus from
  ``STIM_ON = 100``; the decision period is ``[DECISION_ON, T) = [200, 300)``.
- Coherences: ``COHERENCES`` = {0, ±1/64, ±1/32, ±1/16, ±1/8, ±1/4, ±1/2, ±1}
  (15 values); the condition grid is context × motion × color = 2 × 15 × 15 = 450.
- Targets: two one-hot outputs ``[choice_R, choice_L]`` during the decision period by
  the sign of the relevant coherence, all-zero for c = 0 and before the decision period.
- Loss mask: ``[0, STIM_ON) ∪ [DECISION_ON, T)`` on both outputs.
- Training draws conditions uniformly from the grid and adds white noise of std
  ``NOISE = 0.03`` to the four stimulus channels while they are on (our choice; the
  probe set is the noise-free grid).

``performance`` is choice accuracy on trials with non-zero relevant coherence: the
choice is the output with the larger mean over the decision period.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from simbench.zoo.task import Suite, Task, Trials

T = 300
STIM_ON = 100
DECISION_ON = 200
NOISE = 0.03
_MAGNITUDES = [2.0**-k for k in range(6, -1, -1)]
COHERENCES = np.array(sorted([0.0] + _MAGNITUDES + [-m for m in _MAGNITUDES]))
CONTEXTS = ("motion", "color")


def condition_grid() -> pd.DataFrame:
    """The 450 conditions: context × motion coherence × color coherence."""
    rows = [
        {"context": context, "motion": motion, "color": color}
        for context, motion, color in itertools.product(CONTEXTS, COHERENCES, COHERENCES)
    ]
    grid = pd.DataFrame(rows)
    grid["relevant"] = np.where(grid["context"] == "motion", grid["motion"], grid["color"])
    return grid


class CDDM(Suite):
    name = "cddm"
    n_inputs = 6
    n_outputs = 2
    n_steps = T

    def __init__(self):
        self.grid = condition_grid()

    def trials(self, rng, batch):
        rows = self.grid.iloc[rng.integers(0, len(self.grid), size=batch)]
        noise = NOISE * rng.standard_normal((batch, T - STIM_ON, 4))
        return self._build(rows, noise)

    def probe_trials(self):
        trials = self._build(self.grid, None)
        return Trials(trials.inputs, trials.latent, self.grid.copy())

    @staticmethod
    def _build(rows, noise):
        batch = len(rows)
        motion = rows["motion"].to_numpy()
        color = rows["color"].to_numpy()
        is_motion = (rows["context"] == "motion").to_numpy()
        inputs = np.zeros((batch, T, 6), dtype=np.float32)
        inputs[:, :, 0] = is_motion[:, None]
        inputs[:, :, 1] = ~is_motion[:, None]
        stimulus = np.stack([(1 + motion) / 2, (1 - motion) / 2, (1 + color) / 2, (1 - color) / 2], -1)
        inputs[:, STIM_ON:, 2:] = stimulus[:, None, :]
        if noise is not None:
            inputs[:, STIM_ON:, 2:] += noise
        relevant = rows["relevant"].to_numpy()
        return Trials(inputs, {"relevant": relevant})


class ContextDecision(Task):
    """Choose R or L by the sign of the context-relevant coherence."""

    name = "cddm"
    suite = CDDM()
    score = "accuracy"

    def targets(self, trials):
        relevant = trials.latent["relevant"]
        batch = len(relevant)
        targets = np.zeros((batch, T, 2), dtype=np.float32)
        targets[relevant > 0, DECISION_ON:, 0] = 1.0
        targets[relevant < 0, DECISION_ON:, 1] = 1.0
        mask = np.zeros_like(targets)
        mask[:, :STIM_ON] = 1.0
        mask[:, DECISION_ON:] = 1.0
        return targets, mask

    def performance(self, outputs, targets, mask):
        outputs, targets, mask = self.validated(outputs, targets, mask)
        wanted = targets[:, DECISION_ON:].mean(1)  # [B, 2]: one-hot, or zeros for c = 0
        decided = wanted.sum(-1) > 0
        if not decided.any():
            raise ValueError("cddm: no trial with non-zero relevant coherence to score")
        mean = outputs[:, DECISION_ON:].mean(1)
        wanted_side = wanted.argmax(-1)
        rows = np.arange(len(mean))
        correct = mean[rows, wanted_side] > mean[rows, 1 - wanted_side]  # a tie is no choice
        return float(correct[decided].mean())
