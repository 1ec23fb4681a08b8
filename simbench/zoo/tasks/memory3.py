"""Suite ``memory3``: three channels of sparse ±1 pulses, three outputs.

Constants (chosen so that continuous-time networks with α = dt/τ = 0.1, i.e. a
10-step time constant, can learn every task, while discrete-time cells lose nothing):

- ``T = 200`` steps per trial (20 CTRNN time constants).
- A pulse lasts ``PULSE_WIDTH = 5`` steps (half a CTRNN time constant: long enough for
  a unit with α = 0.1 to move 41 % of the way to its drive, short enough to stay sparse).
- Each channel starts a pulse at each step with probability ``PULSE_PROB = 0.018``,
  never within ``REFRACTORY = 20`` steps of its previous onset, and never in the last
  ``PULSE_WIDTH`` steps; signs are ±1 with equal probability (≈ 3 pulses per channel,
  holds of up to the whole trial).
- Long holds make the networks keep their memory for up to 20 time constants, so the
  flip-flop patterns become attractors rather than slow points. Measured on Dale-law
  ReLU CTRNNs (flipflop3, default training, ``simbench.dynamics``): with ``T = 120`` and
  ``PULSE_PROB = 0.03`` (holds ≤ 11 τ) 2 of 6 seeds had eight stable fixed points, the
  others held some patterns only as slow points drifting away after 11–79 τ; with
  ``PULSE_PROB = 0.015`` 4 of 6; with ``T = 200`` 6 of 6. ``T = 300`` (holds ≤ 30 τ)
  also gives 6 of 6, but vanilla tanh networks then integrate (integrate3) only to
  R² 0.4–0.8 (zoo/reference/README.md).
- After each onset the channel's targets are masked for ``SETTLE = 10`` steps (one
  CTRNN time constant) in ``flipflop3`` and ``integrate3``, so a network is judged on
  the state it settles in, not on how fast it switches (Maheswaranathan et al. 2019
  score the held state as well).

Probe set (24 conditions): at ``t = 10`` every channel receives a pulse with sign
pattern ``s ∈ {±1}³`` (8 patterns, visiting all flip-flop corners), at ``t = 100``
channel ``flip ∈ {0, 1, 2}`` receives a pulse of the opposite sign; each pattern is then
held for about 9 time constants.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from simbench.zoo.task import Suite, Task, Trials

T = 200
PULSE_WIDTH = 5
PULSE_PROB = 0.018
REFRACTORY = 20
SETTLE = 10
PROBE_FIRST, PROBE_FLIP = 10, 100
#: integrate3: a full pulse moves the integral by 1/3, so a trial stays within about ±1
INTEGRATE_STEP = 1.0 / 3.0
#: decay3: leaky trace y_t = λ y_{t−1} + (1 − λ) g u_t with λ = exp(−1/DECAY_TAU)
DECAY_TAU = 10.0
DECAY_GAIN = 2.0


class Memory3(Suite):
    name = "memory3"
    n_inputs = 3
    n_outputs = 3
    n_steps = T

    def trials(self, rng: np.random.Generator, batch: int) -> Trials:
        onsets = np.zeros((batch, T, 3), dtype=np.float32)
        since = np.full((batch, 3), REFRACTORY)
        draws = rng.random((batch, T, 3))
        signs = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=(batch, T, 3))
        for t in range(T - PULSE_WIDTH):
            start = (draws[:, t] < PULSE_PROB) & (since >= REFRACTORY)
            onsets[:, t] = np.where(start, signs[:, t], 0.0)
            since = np.where(start, 0, since + 1)
        return Trials(_pulses(onsets), {"onsets": onsets})

    def probe_trials(self) -> Trials:
        rows, onsets = [], []
        for signs in itertools.product([1.0, -1.0], repeat=3):
            for flip in range(3):
                trial = np.zeros((T, 3), dtype=np.float32)
                trial[PROBE_FIRST] = signs
                trial[PROBE_FLIP, flip] = -signs[flip]
                onsets.append(trial)
                rows.append({"s0": signs[0], "s1": signs[1], "s2": signs[2], "flip": flip})
        onsets = np.stack(onsets)
        return Trials(_pulses(onsets), {"onsets": onsets}, pd.DataFrame(rows))


MEMORY3 = Memory3()


def _pulses(onsets: np.ndarray) -> np.ndarray:
    """Extend each signed onset into a pulse of PULSE_WIDTH steps."""
    inputs = np.zeros_like(onsets)
    for lag in range(PULSE_WIDTH):
        inputs[:, lag:] += onsets[:, : T - lag]
    return inputs


def _settle_mask(onsets: np.ndarray) -> np.ndarray:
    """0 during the SETTLE steps after each onset, 1 elsewhere."""
    hit = onsets != 0
    settling = np.zeros_like(hit)
    for lag in range(SETTLE):
        settling[:, lag:] |= hit[:, : T - lag]
    return (~settling).astype(np.float32)


class FlipFlop3(Task):
    """Each output holds the sign of the last pulse on its channel: 2³ stable fixed points.

    Targets before a channel's first pulse are undefined and masked.
    """

    name = "flipflop3"
    suite = MEMORY3

    def targets(self, trials):
        onsets = trials.latent["onsets"]
        # forward-fill the sign of the most recent onset
        index = np.where(onsets != 0, np.arange(T)[None, :, None], 0)
        last = np.maximum.accumulate(index, axis=1)
        state = np.take_along_axis(onsets, last, axis=1)
        mask = _settle_mask(onsets) * (state != 0)
        return state, mask


class Integrate3(Task):
    """Each output is the running sum of its channel's pulses (continuous attractor).

    y_t = INTEGRATE_STEP / PULSE_WIDTH · Σ_{s≤t} u_s, so one full pulse moves it by 1/3.
    """

    name = "integrate3"
    suite = MEMORY3

    def targets(self, trials):
        total = np.cumsum(trials.inputs, axis=1) * (INTEGRATE_STEP / PULSE_WIDTH)
        return total, _settle_mask(trials.latent["onsets"])


class Decay3(Task):
    """Each output is a leaky trace of its channel (one stable fixed point, no memory).

    y_t = λ y_{t−1} + (1 − λ) · DECAY_GAIN · u_t with λ = exp(−1/DECAY_TAU); a pulse
    peaks at ≈ 0.8. Nothing is masked: the trace is a linear filter of the input.
    """

    name = "decay3"
    suite = MEMORY3

    def targets(self, trials):
        lam = np.exp(-1.0 / DECAY_TAU)
        trace = np.zeros_like(trials.inputs)
        y = np.zeros_like(trials.inputs[:, 0])
        for t in range(T):
            y = lam * y + (1 - lam) * DECAY_GAIN * trials.inputs[:, t]
            trace[:, t] = y
        return trace, np.ones_like(trace)
