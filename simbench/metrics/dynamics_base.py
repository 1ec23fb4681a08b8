"""Base class of the metrics that compare networks through their dynamics analysis.

The geometry metrics compare recordings; these need the *network* (its step function),
because fixed points, Jacobians and limit cycles are properties of the dynamics, not
of one set of trajectories. They declare ``input = "network"`` (the built-in geometry
metrics implicitly take ``"recording"``), and their :meth:`prepare` accepts

- a zoo :class:`~simbench.zoo.architectures.Network` or any Network-like object (analysed
  with :func:`simbench.dynamics.analyse` on its task's probe inputs and its suite's
  constant inputs, :mod:`simbench.dynamics.inputs`);
- a :class:`~simbench.dynamics.result.DynamicsResult` already computed (e.g. read from
  the zoo's analyses by :func:`simbench.dynamics.cache.zoo_dynamics`), or its
  ``(arrays, meta)`` pair from ``to_arrays()``;
- a :class:`~simbench.metrics.base.State` this metric prepared.

``prepare`` returns a State of numpy arrays and JSON-able info (cacheable without
pickle); ``n_samples`` is the number of constant-input conditions, so networks of
different suites are refused as a pair. :meth:`prepare_many` analyses a list of networks
as batched populations (one per architecture), much faster than one at a time;
:meth:`pairwise` uses it.

Analysis results are memoised in-process by the network's content hash and the analysis
options, so the four dynamics metrics share one analysis per network within a process.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from simbench.dynamics.analysis import AnalysisOptions, analyse_many
from simbench.dynamics.result import DynamicsResult
from simbench.metrics.base import Metric, Param, State

#: analysis parameters every dynamics metric accepts
ANALYSIS_PARAMETERS = {
    "n_initial": Param(256, low=8, doc="initial states per constant input of the fixed-point search"),
    "max_iters": Param(5000, low=10, doc="iteration limit of the fixed-point search"),
    "seed": Param(0, low=0, doc="seed of the initial states"),
}

_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 512


def clear_analysis_cache() -> None:
    _CACHE.clear()


def _cache_key(network, options: AnalysisOptions):
    digest = (getattr(network, "metadata", None) or {}).get("content_hash")
    if not digest:
        return None
    return digest, json.dumps(options.as_dict(), sort_keys=True)


class DynamicsMetric(Metric):
    """A metric on networks' dynamics; subclasses implement :meth:`_signature` and ``_distance``."""

    input: ClassVar[str] = "network"
    kind: ClassVar[str] = "dynamics"
    parameters: ClassVar[dict[str, Param]] = dict(ANALYSIS_PARAMETERS)

    # -- analysis ------------------------------------------------------------------------
    @property
    def analysis_options(self) -> AnalysisOptions:
        return AnalysisOptions(n_initial=self.n_initial, seed=self.seed).with_(max_iters=self.max_iters)

    def analyse(self, networks: Sequence) -> list[DynamicsResult]:
        """Dynamics results of ``networks`` (memoised; uncached ones analysed as batches)."""
        options = self.analysis_options
        out: list = [None] * len(networks)
        todo = []
        for i, net in enumerate(networks):
            key = _cache_key(net, options)
            if key is not None and key in _CACHE:
                _CACHE.move_to_end(key)
                out[i] = _CACHE[key]
            else:
                todo.append(i)
        if todo:
            for i, result in zip(todo, analyse_many([networks[i] for i in todo], options=options)):
                out[i] = result
                key = _cache_key(networks[i], options)
                if key is not None:
                    _CACHE[key] = result
                    while len(_CACHE) > _CACHE_SIZE:
                        _CACHE.popitem(last=False)
        return out

    # -- the contract ----------------------------------------------------------------------
    def prepare(self, X: Any, *, label: str = "X") -> State:
        if isinstance(X, State):
            return self._ensure_state(X, label)
        return self.prepare_many([X], labels=[label])[0]

    def prepare_many(self, items: Sequence, labels: Sequence[str] | None = None) -> list[State]:
        """States of many items; networks among them are analysed as batched populations."""
        items = list(items)
        labels = list(labels) if labels is not None else [f"network {i}" for i in range(len(items))]
        results: list = [None] * len(items)
        networks = []
        for i, item in enumerate(items):
            if isinstance(item, State):
                results[i] = self._ensure_state(item, labels[i])
            elif isinstance(item, DynamicsResult):
                results[i] = item
            elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Mapping):
                results[i] = DynamicsResult.from_arrays(*item)
            elif hasattr(item, "step") and hasattr(item, "readout"):
                networks.append(i)
            else:
                raise ValueError(
                    f"{self.id}: {labels[i]} is a {type(item).__name__}; {self.id} compares networks' dynamics "
                    "(input = 'network'): give a Network (or Network-like object), a DynamicsResult, or a "
                    "State it prepared, not a recording")
        if networks:
            for i, result in zip(networks, self.analyse([items[i] for i in networks])):
                results[i] = result
        return [r if isinstance(r, State) else self._state(r) for r in results]

    def _state(self, result: DynamicsResult) -> State:
        out = dict(self._signature(result))
        arrays = {k: np.ascontiguousarray(v) for k, v in out.items() if isinstance(v, np.ndarray)}
        info = {k: v for k, v in out.items() if not isinstance(v, np.ndarray)}
        info = json.loads(json.dumps(info))
        digest = hashlib.sha1(json.dumps(info, sort_keys=True).encode())
        for k in sorted(arrays):
            digest.update(k.encode() + str(arrays[k].shape).encode() + arrays[k].tobytes())
        info["fingerprint"] = digest.hexdigest()
        info["network"] = result.network.get("id", "")
        # what the analysis behind the state cost, so a run from cached states reports it too
        info["analysis_seconds"] = float(result.network.get("analysis_seconds", 0.0))
        return State(metric=self.name, n_samples=result.n_conditions, arrays=arrays, info=info)

    def pairwise(self, items: Sequence) -> np.ndarray:
        states = self.prepare_many(items)
        for i, s in enumerate(states[1:], start=1):
            self._check_pair(states[0], s, "network 0", f"network {i}")
        return self._pairwise_states(states)

    def _pairwise_states(self, states: list[State]) -> np.ndarray:
        n = len(states)
        D = np.zeros((n, n))
        for i in range(n):
            for j in range(i + 1, n):
                if states[i].info.get("fingerprint") != states[j].info.get("fingerprint"):
                    D[i, j] = D[j, i] = float(self._distance(states[i], states[j]))
        return D

    @staticmethod
    def _check_pair(a: State, b: State, la: str, lb: str) -> None:
        if a.n_samples != b.n_samples:
            raise ValueError(f"{la} was analysed under {a.n_samples} constant inputs, {lb} under "
                             f"{b.n_samples}: compare networks of one suite")

    # -- for subclasses --------------------------------------------------------------------
    def _signature(self, result: DynamicsResult) -> Mapping[str, Any]:
        """Arrays (→ State.arrays) and JSON-able values (→ State.info) describing one network."""
        raise NotImplementedError
