"""The files a user exchanges with simbench: a suite's probe inputs out, recordings back in.

A zoo network is recorded on its suite's probe set: ``C`` fixed conditions of ``T``
steps (``memory3``: 24 × 200). To compare your own model or experiment with the zoo,
record it on the same inputs:

1. ``simbench probe SUITE --out inputs.npz`` (:func:`write_probe`) writes ``inputs.npz``
   holding ``inputs`` ``[C, T, I]`` (float32), ``suite`` and ``conditions`` (the condition
   table as JSON records), and the same table as ``inputs.conditions.csv``.
2. Feed condition ``c`` to your model (time step ``t`` gets ``inputs[c, t]``), starting
   from its resting state, and save its states: ``np.savez("mine.npz", states=S)`` with
   ``S`` ``[C, T, units]`` in the same condition order.
3. ``simbench place SUITE --states mine.npz`` (:func:`load_recording`,
   :func:`check_recording`, then :func:`simbench.bench.place.place`).

A Network-like object is recorded here directly (:func:`record`). Files are read with
``allow_pickle=False``: a recording someone sent you runs none of their code.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from simbench.dynamics.system import as_system
from simbench.zoo.store import atomic_write, atomic_write_text
from simbench.zoo.tasks import get_suite


def write_probe(suite: str, out) -> tuple[Path, Path]:
    """Write ``suite``'s probe inputs and condition table (module doc); returns both paths."""
    trials = get_suite(suite).probe_trials()
    out = Path(out)
    if out.suffix != ".npz":
        raise ValueError(f"{out}: the probe file must end in .npz")
    conditions = trials.conditions.to_json(orient="records")
    arrays = {"inputs": np.ascontiguousarray(trials.inputs, dtype=np.float32),
              "suite": np.array(suite), "conditions": np.array(conditions)}
    atomic_write(out, lambda tmp: _save_npz(tmp, arrays))
    table = out.with_suffix(".conditions.csv")
    atomic_write_text(table, trials.conditions.to_csv(index_label="condition"))
    return out, table


def _save_npz(path: Path, arrays: dict) -> None:
    with open(path, "wb") as f:  # a file object: np.savez would append ".npz" to a name
        np.savez(f, **arrays)


def read_probe(path) -> tuple[np.ndarray, pd.DataFrame, str]:
    """``(inputs [C, T, I], conditions, suite)`` from a file :func:`write_probe` wrote."""
    with np.load(path, allow_pickle=False) as f:
        conditions = pd.read_json(io.StringIO(str(f["conditions"])), orient="records")
        return f["inputs"], conditions, str(f["suite"])


def load_recording(path) -> np.ndarray:
    """The ``states`` array of an ``.npz`` file (or its only array; or a ``.npy`` array), as float64."""
    path = Path(path)
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, EOFError, ValueError) as error:  # missing, truncated, or neither .npz nor .npy
        raise ValueError(f"{path}: not a readable .npz recording ({' '.join(str(error).split()[:12])})") from None
    if isinstance(loaded, np.ndarray):
        return np.asarray(loaded, dtype=np.float64)
    with loaded:
        names = list(loaded.keys())
        if "states" not in names and len(names) != 1:
            raise ValueError(f"{path}: no array named 'states' (found {', '.join(names) or 'none'}); "
                             "save yours with np.savez(path, states=S)")
        return np.asarray(loaded["states" if "states" in names else names[0]], dtype=np.float64)


def check_recording(states, suite: str, label: str = "your recording") -> np.ndarray:
    """``states`` as float64 ``[C, T, units]``, after checking them against ``suite``'s probe.

    One ``ValueError`` names what was expected: ``C`` conditions and ``T`` steps of the
    suite's probe set, at least one unit, finite values.
    """
    probe = get_suite(suite).probe_trials().inputs
    (n_cond, n_steps), hint = probe.shape[:2], f"`simbench probe {suite}` writes its inputs"
    expected = f"expected states [{n_cond} conditions, {n_steps} time steps, units] on {suite}'s probe set"
    if isinstance(states, torch.Tensor):
        states = states.detach().cpu().numpy()
    states = np.asarray(states)
    if not np.issubdtype(states.dtype, np.number) or np.iscomplexobj(states):
        raise ValueError(f"{label}: dtype {states.dtype}; {expected}")
    if states.ndim != 3:
        raise ValueError(f"{label}: shape {states.shape}; {expected} ({hint})")
    if states.shape[0] != n_cond:
        raise ValueError(f"{label}: {states.shape[0]} conditions; {expected} ({hint})")
    if states.shape[1] != n_steps:
        raise ValueError(f"{label}: {states.shape[1]} time steps; {expected} ({hint})")
    if states.shape[2] < 1:
        raise ValueError(f"{label}: no units; {expected}")
    states = np.asarray(states, dtype=np.float64)
    bad = ~np.isfinite(states)
    if bad.any():
        c, t, u = np.argwhere(bad)[0]
        raise ValueError(f"{label}: {int(bad.sum())} NaN or inf values (first at condition {c}, step {t}, "
                         f"unit {u}); {expected} with finite values")
    return states


def record(network, suite: str, label: str = "your network") -> np.ndarray:
    """States ``[C, T, S]`` (float64) of a Network-like object on ``suite``'s probe set.

    ``network`` needs ``step(h [B, S], u [B, I])``, ``readout(h)`` and
    ``initial_state(batch)``; it is simulated from ``initial_state`` with the dynamics
    layer's batched loop (:meth:`simbench.dynamics.System.run`, in float64 when the
    network computes in it). Its input size must be the suite's.
    """
    inputs = get_suite(suite).probe_trials().inputs
    system = as_system(network_like(network, suite, label))
    with torch.no_grad():
        states = system.run(inputs[None])[0].numpy()
    return check_recording(states, suite, f"{label}'s states")


def network_like(network, suite: str, label: str = "your network"):
    """``network`` itself, or a view with ``n_inputs`` set, once its input size is checked."""
    missing = [name for name in ("step", "readout", "initial_state") if not callable(getattr(network, name, None))]
    if missing:
        raise TypeError(f"{label} ({type(network).__name__}) needs step(h, u), readout(h) and "
                        f"initial_state(batch); missing {', '.join(missing)}")
    n_inputs = get_suite(suite).n_inputs
    declared = getattr(network, "n_inputs", None)
    if declared is not None:
        if int(declared) != n_inputs:
            raise ValueError(f"{label} takes {declared} inputs; suite {suite} has {n_inputs} "
                             f"(its probe inputs are [conditions, time, {n_inputs}])")
        return network
    h = torch.as_tensor(network.initial_state(1))
    try:
        with torch.no_grad():
            network.step(h, torch.zeros(1, n_inputs, dtype=h.dtype))
    except (RuntimeError, ValueError, IndexError, TypeError) as error:
        raise ValueError(f"{label}: step(h [1, {h.shape[-1]}], u [1, {n_inputs}]) failed; suite {suite} "
                         f"has {n_inputs} inputs ({error})") from None
    return _WithInputs(network, n_inputs)


class _WithInputs:
    """A Network-like object with the ``n_inputs`` attribute the dynamics layer reads."""

    def __init__(self, network, n_inputs: int):
        self.network, self.n_inputs = network, n_inputs
        self.time = getattr(network, "time", "discrete")
        self.alpha = getattr(network, "alpha", None)
        self.metadata = dict(getattr(network, "metadata", None) or {})

    def step(self, h, u):
        return self.network.step(h, u)

    def readout(self, h):
        return self.network.readout(h)

    def initial_state(self, batch: int = 1):
        return self.network.initial_state(batch)



def load_network(spec: str):
    """The network ``spec`` names: ``path/to/file.py:NAME`` or ``package.module:NAME``.

    ``NAME`` is a Network-like object or a function of no arguments returning one (this
    runs your code: it is your network). ``ValueError`` when it cannot be found.
    """
    import importlib
    import importlib.util

    source, _, name = spec.rpartition(":")
    if not source or not name:
        raise ValueError(f"--network {spec!r}: expected FILE.py:NAME or MODULE:NAME")
    try:
        if source.endswith(".py"):
            if not Path(source).is_file():
                raise ValueError(f"--network {spec!r}: no file {source}")
            module_spec = importlib.util.spec_from_file_location(Path(source).stem, source)
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(source)
        obj = getattr(module, name)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"--network {spec!r}: {error}") from None
    network = obj if callable(getattr(obj, "step", None)) else obj() if callable(obj) else obj
    missing = [m for m in ("step", "readout", "initial_state") if not callable(getattr(network, m, None))]
    if missing:
        raise ValueError(f"--network {spec!r}: {type(network).__name__} lacks {', '.join(missing)}; a network "
                         "needs step(h, u), readout(h) and initial_state(batch)")
    return network
