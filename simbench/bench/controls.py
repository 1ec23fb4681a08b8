"""Scoring untrained controls: the distances ``control_auc`` needs, and no others.

``control_auc`` (:mod:`simbench.bench.design`) compares trained–control pairs of one
cell with trained–trained pairs of that cell, so only those distances are computed:
for a cell of n seeds, n · 2n trained–control pairs, not the (3n)² of a full matrix, as
one :meth:`~simbench.metrics.base.Metric.cross` block per cell (vectorised where the
metric is). The other entries of the joint matrix are NaN and no score reads them.

A control the metric cannot score (its state is ``None``: e.g. an untrained network
whose trajectories all end in one state has no endpoint configuration) is left out of
the design, so ``control_auc`` is computed on the controls the metric can see.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simbench.bench.design import Design


def controls_of(zoo, kept):
    """The zoo's controls made from networks of ``kept`` (a Zoo), or None."""
    manifest = zoo.manifest
    if "control" not in manifest or "source_id" not in manifest:
        return None
    is_control = manifest["control"].astype("string").fillna("") != ""
    chosen = is_control & manifest["source_id"].isin(kept.ids)
    if not chosen.any():
        return None
    return type(zoo)(zoo.path, manifest[chosen])


def with_controls(metric, distance: np.ndarray, states: list, kept, controls, control_states):
    """``(design, joint distance)`` over kept networks then controls (module docstring).

    ``control_states``: the controls' prepared states in ``controls``' order, or a
    function of a list of control positions returning their states. The function is
    called once per cell, so only one cell's control states are held at a time (a cddm
    recording is 35 MB: three times a suite's states do not fit in memory at once).
    A state ``None`` marks a control the metric cannot score: it is dropped from the
    returned design and matrix.
    """
    states_of = control_states if callable(control_states) else (lambda rows: [control_states[r] for r in rows])
    manifest = pd.concat([kept.manifest, controls.manifest], ignore_index=True)
    design = Design.from_manifest(manifest)
    n, m = len(kept), len(controls)
    joint = np.full((n + m, n + m), np.nan)
    joint[:n, :n] = distance
    np.fill_diagonal(joint, 0.0)
    cells, unscorable = design.cells, []
    for cell in np.unique(cells[n:]):
        rows, columns = np.flatnonzero(cells[:n] == cell), n + np.flatnonzero(cells[n:] == cell)
        if not rows.size:
            continue
        found = states_of(list(columns - n))
        unscorable += [c for c, state in zip(columns, found) if state is None]
        columns = np.array([c for c, state in zip(columns, found) if state is not None], dtype=int)
        if columns.size:
            block = metric.cross([states[i] for i in rows], [s for s in found if s is not None])
            joint[np.ix_(rows, columns)] = block
            joint[np.ix_(columns, rows)] = block.T
    if not unscorable:
        return design, joint
    keep = np.setdiff1d(np.arange(n + m), unscorable)
    return design.subset(keep), joint[np.ix_(keep, keep)]
