"""The constant inputs under which a suite's fixed points are sought.

Fixed points exist for a *constant* input u; each suite names the inputs whose
fixed-point structure is its computational scaffold:

- ``memory3`` (flipflop3, integrate3, decay3): zero input, the memory period between
  pulses (1 condition).
- ``oscillation`` (sine, hold): each of the probe's 11 cue levels, held for the whole
  trial (11 conditions).
- ``context`` (cdi, cdr): each context with zero stimulus, ``[0, 0, 1, 0]`` and
  ``[0, 0, 0, 1]`` (2 conditions): where an integrator holds its value.
- ``cddm``: each context with the stimulus off, ``[1, 0, 0, 0, 0, 0]`` /
  ``[0, 1, 0, 0, 0, 0]`` (the pre-stimulus period), *and* each context with the stimulus
  on at zero coherence, all four stimulus channels at 0.5 (the decision period of an
  undecided trial, where the choice attractors live) — 4 conditions. Stimulus-off alone
  would only show the resting state; the Tolmachev & Engel fixed-point configurations
  are those of the stimulus period.
- ``gonogo`` (gonogo, gonogo-immediate): each of the probe's 11 stimulus values with the
  go cue off and on, ``[v, 0, 1]`` and ``[v, 1, 1]`` (22 conditions): where the
  decision is withheld and where it is reported.
- ``memorynumber`` (memorynumber, memorynumber-binary): the stimulus off with the
  recall cue off and on, ``[0, 0, 1]`` and ``[0, 1, 1]`` (2 conditions): the hold
  period, where the line attractor or the two category attractors live, and recall.
"""

from __future__ import annotations

import numpy as np

from simbench.zoo.tasks import get_suite, get_task
from simbench.zoo.tasks import gonogo, oscillation


def constant_inputs(name: str) -> tuple[np.ndarray, list[str]]:
    """``(inputs [K, I] float32, labels)`` for a suite or task name (see module doc)."""
    try:
        suite = get_suite(name)
    except ValueError:
        suite = get_task(name).suite
    if suite.name == "memory3":
        return np.zeros((1, 3), np.float32), ["zero"]
    if suite.name == "oscillation":
        levels = np.linspace(oscillation.LEVEL_MIN, oscillation.LEVEL_MAX, oscillation.N_PROBE)
        return levels[:, None].astype(np.float32), [f"level={level:.2f}" for level in levels]
    if suite.name == "context":
        return np.array([[0, 0, 1, 0], [0, 0, 0, 1]], np.float32), ["ctx=a", "ctx=b"]
    if suite.name == "cddm":
        rows = [[1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0],
                [1, 0, .5, .5, .5, .5], [0, 1, .5, .5, .5, .5]]
        return np.array(rows, np.float32), ["ctx=motion,stim=off", "ctx=color,stim=off",
                                            "ctx=motion,stim=0", "ctx=color,stim=0"]
    if suite.name == "gonogo":
        values = np.linspace(0.0, 1.0, gonogo.N_PROBE)
        rows = [[v, cue, 1.0] for cue in (0.0, 1.0) for v in values]
        return np.array(rows, np.float32), [f"v={v:.1f},cue={cue:.0f}" for v, cue, _ in rows]
    if suite.name == "memorynumber":
        return np.array([[0, 0, 1], [0, 1, 1]], np.float32), ["hold", "recall"]
    raise ValueError(f"no constant inputs defined for suite {suite.name!r}")
