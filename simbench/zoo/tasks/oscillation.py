"""Suite ``oscillation``: one static cue level in, one output.

Constants:

- ``T = 120`` steps; the cue level ℓ is on for the whole trial.
- Training draws ℓ uniformly from ``[LEVEL_MIN, LEVEL_MAX] = [0.2, 1.0]``.
- ``sine`` maps ℓ linearly to a frequency ω ∈ ``[OMEGA_MIN, OMEGA_MAX] = [0.1, 0.3]``
  rad/step (Sussillo & Barak 2013 style). The range sits at the slow end of the
  0.1–0.6 rad/step band: a continuous-time unit with α = 0.1 attenuates a 0.6 rad/step
  drive six-fold, so faster waves would measure the low-pass filter, not the scaffold.
  At ω = 0.1 a trial still holds ~2 periods.
- The first ``SETTLE = 10`` steps (one CTRNN time constant) are masked in both tasks.

Probe set: ``N_PROBE = 11`` evenly spaced cue levels over the training range.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simbench.zoo.task import Suite, Task, Trials

T = 120
LEVEL_MIN, LEVEL_MAX = 0.2, 1.0
OMEGA_MIN, OMEGA_MAX = 0.1, 0.3
SETTLE = 10
N_PROBE = 11


def frequency(level: np.ndarray) -> np.ndarray:
    """Angular frequency (rad/step) cued by ``level``."""
    fraction = (np.asarray(level) - LEVEL_MIN) / (LEVEL_MAX - LEVEL_MIN)
    return OMEGA_MIN + fraction * (OMEGA_MAX - OMEGA_MIN)


class Oscillation(Suite):
    name = "oscillation"
    n_inputs = 1
    n_outputs = 1
    n_steps = T

    def trials(self, rng, batch):
        return self._from_levels(rng.uniform(LEVEL_MIN, LEVEL_MAX, size=batch))

    def probe_trials(self):
        levels = np.linspace(LEVEL_MIN, LEVEL_MAX, N_PROBE)
        trials = self._from_levels(levels)
        table = pd.DataFrame({"level": levels, "omega": frequency(levels)})
        return Trials(trials.inputs, trials.latent, table)

    @staticmethod
    def _from_levels(levels):
        levels = np.asarray(levels, dtype=np.float32)
        inputs = np.broadcast_to(levels[:, None, None], (len(levels), T, 1)).copy()
        return Trials(inputs, {"level": levels})


OSCILLATION = Oscillation()


def _settled(shape) -> np.ndarray:
    mask = np.ones(shape, dtype=np.float32)
    mask[:, :SETTLE] = 0.0
    return mask


class Sine(Task):
    """Output sin(ω t) with ω set by the cue: a limit cycle per cue level."""

    name = "sine"
    suite = OSCILLATION
    threshold = 0.8

    def targets(self, trials):
        omega = frequency(trials.latent["level"])
        wave = np.sin(omega[:, None] * np.arange(T)[None, :])[..., None]
        return wave, _settled(wave.shape)


class Hold(Task):
    """Output the cued level for the whole trial: one input-dependent fixed point."""

    name = "hold"
    suite = OSCILLATION

    def targets(self, trials):
        level = trials.latent["level"]
        held = np.broadcast_to(level[:, None, None], trials.inputs.shape).copy()
        return held, _settled(held.shape)
