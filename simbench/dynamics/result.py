"""What the dynamics analysis of one network produces, as plain arrays (no pickle).

:class:`DynamicsResult` holds, for one network and its K constant-input conditions:

- **fixed points** (``fp_*``, P rows): state, condition index, speed q, eigenvalues of
  the linearised dynamics (``fp_eig_re``/``fp_eig_im``: eigenvalues of the step map's
  Jacobian ∂F/∂h in discrete time, of the right-hand side's Jacobian (∂F/∂h − I)/α in
  continuous time), number of unstable dimensions (|λ| > 1, resp. Re λ > 0), readout,
  and the step-map Jacobian itself (``fp_jacobian``: ``[0, S, S]`` unless the analysis
  ran with ``keep_jacobians=True``);
- **slow points** (``slow_*``, Q rows): where optimisation first got slower than
  ``tol_slow`` (see :mod:`simbench.dynamics.fixed_points`), the first
  ``keep_slow_points`` per condition (none by default; the manifold measures below use
  up to ``max_slow_points`` either way);
- **slow manifolds** per condition (``manifold_*``, K rows): dimension (median number of
  slow modes over the slow points of the largest connected piece of the slow-point
  cloud, capped by the cloud's PCA dimension, when the piece is extended; else 0), the
  cloud's PCA dimension, the piece's extent and number of points, and the
  step-map eigenvalues at the slowest slow point (``slow_spectrum_*``, zeros if none);
- **limit cycles** (``cycle_*``, L rows): condition, period (steps), angular frequency,
  state and readout amplitudes, one period of the orbit resampled at 32 phases;
- **topology edges** (``edges`` [E, 4]: condition, source fixed point, target kind
  0 = fixed point / 1 = cycle / 2 = other rest region, target index), with the
  "other" regions in ``rest_*``.

:meth:`to_arrays` gives ``(dict of numpy arrays, JSON-able dict)``; :meth:`from_arrays`
inverts it, so a zoo can cache results as safetensors + JSON. :meth:`save` /
:meth:`load` do exactly that in one safetensors file (the JSON goes in its metadata).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

#: array fields and their dtypes
ARRAY_FIELDS = {
    "inputs": np.float64,
    "fp_x": np.float64, "fp_condition": np.int64, "fp_q": np.float64, "fp_eig_re": np.float64,
    "fp_eig_im": np.float64, "fp_unstable": np.int64, "fp_readout": np.float64, "fp_jacobian": np.float64,
    "slow_x": np.float64, "slow_condition": np.int64, "slow_q": np.float64,
    "manifold_dim": np.int64, "manifold_pca_dim": np.int64, "manifold_extent": np.float64,
    "manifold_n": np.int64, "manifold_marginal": np.float64,
    "slow_spectrum_re": np.float64, "slow_spectrum_im": np.float64,
    "cycle_condition": np.int64, "cycle_period": np.float64, "cycle_omega": np.float64,
    "cycle_amplitude": np.float64, "cycle_readout_amplitude": np.float64, "cycle_orbit": np.float64,
    "cycle_readout_mean": np.float64,
    "edges": np.int64, "rest_x": np.float64, "rest_condition": np.int64, "rest_readout": np.float64,
}

VERSION = 1


@dataclass
class DynamicsResult:
    """Fixed points, slow manifolds, limit cycles and topology of one network (module doc)."""

    conditions: list[str]
    time: str
    alpha: float
    spread: float
    inputs: np.ndarray
    fp_x: np.ndarray
    fp_condition: np.ndarray
    fp_q: np.ndarray
    fp_eig_re: np.ndarray
    fp_eig_im: np.ndarray
    fp_unstable: np.ndarray
    fp_readout: np.ndarray
    fp_jacobian: np.ndarray
    slow_x: np.ndarray
    slow_condition: np.ndarray
    slow_q: np.ndarray
    manifold_dim: np.ndarray
    manifold_pca_dim: np.ndarray
    manifold_extent: np.ndarray
    manifold_n: np.ndarray
    manifold_marginal: np.ndarray
    slow_spectrum_re: np.ndarray
    slow_spectrum_im: np.ndarray
    cycle_condition: np.ndarray
    cycle_period: np.ndarray
    cycle_omega: np.ndarray
    cycle_amplitude: np.ndarray
    cycle_readout_amplitude: np.ndarray
    cycle_orbit: np.ndarray
    cycle_readout_mean: np.ndarray
    edges: np.ndarray
    rest_x: np.ndarray
    rest_condition: np.ndarray
    rest_readout: np.ndarray
    sign_threshold: float = 0.3
    network: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)

    # -- derived -------------------------------------------------------------------
    @property
    def n_conditions(self) -> int:
        return len(self.conditions)

    @property
    def eigenvalues(self) -> np.ndarray:
        """Native eigenvalues ``[P, S]`` (complex): step map (discrete) or rhs (continuous)."""
        return self.fp_eig_re + 1j * self.fp_eig_im

    @property
    def step_eigenvalues(self) -> np.ndarray:
        """Eigenvalues of the one-step map F (1 + αμ for continuous time): comparable across families."""
        ev = self.eigenvalues
        return ev if self.time == "discrete" else 1 + self.alpha * ev

    @property
    def fp_stable(self) -> np.ndarray:
        return self.fp_unstable == 0

    def signs(self, readout: np.ndarray) -> list[str]:
        """Readout sign patterns: '+' above ``sign_threshold``, '-' below its negative, else '0'."""
        readout = np.atleast_2d(readout)
        thr = self.sign_threshold
        return ["".join("+" if v > thr else "-" if v < -thr else "0" for v in row) for row in readout]

    def fp_labels(self) -> list[str]:
        """Node labels of fixed points: ``"<unstable dims>|<readout signs>"``."""
        return [f"{k}|{s}" for k, s in zip(self.fp_unstable.tolist(), self.signs(self.fp_readout))]

    def counts(self, condition: int, max_index: int = 3) -> np.ndarray:
        """Fixed points of one condition by number of unstable dims: ``[0, 1, …, ≥max_index]``."""
        k = np.minimum(self.fp_unstable[self.fp_condition == condition], max_index)
        return np.bincount(k, minlength=max_index + 1)

    def summary(self):
        """A pandas table: one row per condition with counts, manifold dimension and cycles."""
        import pandas as pd

        rows = []
        for k, label in enumerate(self.conditions):
            here = self.fp_condition == k
            cyc = self.cycle_condition == k
            rows.append({
                "condition": label, "fixed_points": int(here.sum()),
                "stable": int((here & self.fp_stable).sum()),
                "saddles": int((here & ~self.fp_stable).sum()),
                "manifold_dim": int(self.manifold_dim[k]), "manifold_pca_dim": int(self.manifold_pca_dim[k]),
                "slow_points": int(self.manifold_n[k]), "cycles": int(cyc.sum()),
                "cycle_period": float(self.cycle_period[cyc][0]) if cyc.any() else float("nan"),
            })
        return pd.DataFrame(rows)

    def graph(self, condition: int | None = None):
        """Topology graph (``networkx.DiGraph``) of one condition, or of all (disjoint union).

        Nodes: ``("fp", i)`` fixed points, ``("cycle", j)`` limit cycles, ``("rest", r)``
        other rest regions (e.g. on a slow manifold); attributes ``label``, ``kind`` and
        ``condition``. Edges: saddle → where trajectories leaving it along its unstable
        eigenvectors come to rest, attribute ``weight`` = number of such trajectories.
        """
        from simbench.dynamics.topology import build_graph

        return build_graph(self, condition)

    # -- serialisation -----------------------------------------------------------------
    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict]:
        """``(arrays, meta)``: numpy arrays (C-contiguous) and a JSON-serialisable dict."""
        arrays = {name: np.ascontiguousarray(getattr(self, name), dtype=dtype) for name, dtype in ARRAY_FIELDS.items()}
        meta = {"version": VERSION, "conditions": list(self.conditions), "time": self.time,
                "alpha": float(self.alpha), "spread": float(self.spread),
                "sign_threshold": float(self.sign_threshold),
                "network": _jsonable(self.network), "options": _jsonable(self.options)}
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict) -> DynamicsResult:
        missing = sorted(set(ARRAY_FIELDS) - set(arrays))
        if missing:
            raise ValueError(f"dynamics result is missing arrays: {', '.join(missing)}")
        if meta.get("version") != VERSION:
            raise ValueError(f"dynamics result version {meta.get('version')!r}, expected {VERSION}")
        values = {name: np.asarray(arrays[name], dtype=dtype) for name, dtype in ARRAY_FIELDS.items()}
        return cls(conditions=list(meta["conditions"]), time=meta["time"], alpha=float(meta["alpha"]),
                   spread=float(meta["spread"]), sign_threshold=float(meta.get("sign_threshold", 0.3)),
                   network=dict(meta.get("network", {})), options=dict(meta.get("options", {})), **values)

    def save(self, path) -> None:
        """One safetensors file; the JSON part is stored in its metadata (atomic write)."""
        from safetensors.numpy import save_file

        from simbench.zoo.store import atomic_write

        arrays, meta = self.to_arrays()
        atomic_write(Path(path), lambda tmp: save_file(arrays, str(tmp), {"dynamics": json.dumps(meta)}))

    @classmethod
    def load(cls, path) -> DynamicsResult:
        from safetensors import safe_open

        with safe_open(str(path), "np") as f:
            meta = json.loads((f.metadata() or {})["dynamics"])
            arrays = {k: f.get_tensor(k) for k in f.keys()}
        return cls.from_arrays(arrays, meta)

    def __eq__(self, other) -> bool:
        if not isinstance(other, DynamicsResult):
            return NotImplemented
        a, ma = self.to_arrays()
        b, mb = other.to_arrays()
        return ma == mb and all(np.array_equal(a[k], b[k]) for k in a)

    def __repr__(self) -> str:
        name = self.network.get("id") or self.network.get("task") or "network"
        return (f"<DynamicsResult {name}: {len(self.fp_q)} fixed points, {len(self.cycle_period)} cycles, "
                f"manifold dims {self.manifold_dim.tolist()} over {self.n_conditions} conditions>")


def _jsonable(value):
    """Plain JSON types (numpy scalars → Python, tuples → lists)."""
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v)))


FIELD_NAMES = [f.name for f in fields(DynamicsResult)]
