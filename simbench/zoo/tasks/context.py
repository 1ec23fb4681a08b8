"""Suite ``context``: two noisy stimulus streams and a one-hot context (Mante et al. 2013).

Inputs ``[stim_a, stim_b, ctx_a, ctx_b]``, one output. Constants:

- ``T = 100`` steps; the context is on for the whole trial, the streams from
  ``STIM_ON = 10``.
- Each stream's mean is piecewise constant over ``SEGMENT = 30`` steps (three segments),
  each mean drawn as ±U[0.1, 1]. Changing means are what separates the two tasks: an
  integrator cannot report the current sign, a sign reporter cannot integrate.
- Training inputs carry white noise of std ``NOISE = 0.1`` on the streams while they
  are on; the probe set is noise-free.
- ``cdi`` scales the integral by ``1/INTEGRAL_SCALE = 1/45`` (std ≈ 0.7 at trial end).
- ``cdr`` masks ``SETTLE = 10`` steps (one CTRNN time constant) after each segment start.

Probe set (32 conditions): context ∈ {a, b} × stream means held constant over the
stimulus period, each in ``PROBE_LEVELS = (−1, −0.4, 0.4, 1)``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from simbench.zoo.task import Suite, Task, Trials

T = 100
STIM_ON = 10
SEGMENT = 30
NOISE = 0.1
MEAN_MIN, MEAN_MAX = 0.1, 1.0
INTEGRAL_SCALE = 45.0
SETTLE = 10
PROBE_LEVELS = (-1.0, -0.4, 0.4, 1.0)
N_SEGMENTS = (T - STIM_ON) // SEGMENT


class Context(Suite):
    name = "context"
    n_inputs = 4
    n_outputs = 1
    n_steps = T

    def trials(self, rng, batch):
        magnitude = rng.uniform(MEAN_MIN, MEAN_MAX, size=(batch, N_SEGMENTS, 2))
        sign = rng.choice([-1.0, 1.0], size=(batch, N_SEGMENTS, 2))
        context = rng.integers(0, 2, size=batch)
        noise = NOISE * rng.standard_normal((batch, T, 2))
        return self._build(magnitude * sign, context, noise)

    def probe_trials(self):
        rows, means, contexts = [], [], []
        for context, level_a, level_b in itertools.product(range(2), PROBE_LEVELS, PROBE_LEVELS):
            rows.append({"context": "ab"[context], "mean_a": level_a, "mean_b": level_b})
            means.append(np.tile([level_a, level_b], (N_SEGMENTS, 1)))
            contexts.append(context)
        trials = self._build(np.array(means), np.array(contexts), None)
        return Trials(trials.inputs, trials.latent, pd.DataFrame(rows))

    @staticmethod
    def _build(segment_means, context, noise):
        batch = len(context)
        means = np.zeros((batch, T, 2))
        means[:, STIM_ON : STIM_ON + N_SEGMENTS * SEGMENT] = np.repeat(segment_means, SEGMENT, axis=1)
        streams = means.copy()
        if noise is not None:
            streams[:, STIM_ON:] += noise[:, STIM_ON:]
        inputs = np.zeros((batch, T, 4), dtype=np.float32)
        inputs[..., :2] = streams
        inputs[np.arange(batch), :, 2 + context] = 1.0
        selected = means[np.arange(batch), :, context]
        return Trials(inputs, {"context": context, "selected_mean": selected})


CONTEXT = Context()


class ContextIntegration(Task):
    """Integrate the stream the context selects, ignore the other: a line attractor per context.

    y_t = Σ_{s≤t} m_s / INTEGRAL_SCALE with m the selected stream's (noise-free) mean.
    """

    name = "cdi"
    suite = CONTEXT

    def targets(self, trials):
        integral = np.cumsum(trials.latent["selected_mean"], axis=1) / INTEGRAL_SCALE
        return integral[..., None], np.ones((*integral.shape, 1))


class ContextReport(Task):
    """Report the sign of the selected stream's current mean, no integration.

    Target 0 before the stimulus, sign(m_t) after; ``performance`` is the fraction of
    masked stimulus-period steps whose output has the target's sign.
    """

    name = "cdr"
    suite = CONTEXT
    score = "accuracy"

    def targets(self, trials):
        current = np.sign(trials.latent["selected_mean"])[..., None]
        mask = np.ones_like(current)
        for start in range(STIM_ON, STIM_ON + N_SEGMENTS * SEGMENT, SEGMENT):
            mask[:, start : start + SETTLE] = 0.0
        return current, mask

    def performance(self, outputs, targets, mask):
        outputs, targets, mask = self.validated(outputs, targets, mask)
        judged = (mask > 0) & (targets != 0)
        if not judged.any():
            raise ValueError("cdr: no stimulus-period steps to score")
        agree = np.sign(outputs) == targets
        return float(agree[judged].mean())
