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
different suites are refused as a pair. What they share with the model metrics
(dispatch over State / result / network, batched preparation, ``pairwise``, ``cross``)
is :class:`~simbench.metrics.analysed_base.AnalysedMetric`; :meth:`prepare_many`
analyses a list of networks as batched populations (one per architecture), much faster
than one at a time.

Analysis results are memoised in-process by the network's content hash and the analysis
options, so the four dynamics metrics share one analysis per network within a process.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from simbench.dynamics.analysis import AnalysisOptions, analyse_many
from simbench.dynamics.result import DynamicsResult
from simbench.metrics.analysed_base import AnalysedMetric, fingerprint
from simbench.metrics.base import Param, State

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


class DynamicsMetric(AnalysedMetric):
    """A metric on networks' dynamics; subclasses implement :meth:`_signature` and ``_distance``."""

    input: ClassVar[str] = "network"
    kind: ClassVar[str] = "dynamics"
    needs: ClassVar[str] = "compares networks' dynamics"
    samples_are: ClassVar[str] = "constant inputs"
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

    # -- the AnalysedMetric hooks ------------------------------------------------------------
    def _analyse(self, networks: Sequence) -> list[DynamicsResult]:
        return self.analyse(networks)

    def _as_result(self, item: Any) -> DynamicsResult | None:
        if isinstance(item, DynamicsResult):
            return item
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Mapping):
            return DynamicsResult.from_arrays(*item)
        return None

    def _results_accepted(self) -> str:
        return "a DynamicsResult (or its to_arrays() pair)"

    def _state(self, result: DynamicsResult) -> State:
        out = dict(self._signature(result))
        arrays = {k: np.ascontiguousarray(v) for k, v in out.items() if isinstance(v, np.ndarray)}
        info = {k: v for k, v in out.items() if not isinstance(v, np.ndarray)}
        info = json.loads(json.dumps(info))
        info["fingerprint"] = fingerprint(json.dumps(info, sort_keys=True).encode(), arrays)
        info["network"] = result.network.get("id", "")
        # what the analysis behind the state cost, so a run from cached states reports it too
        info["analysis_seconds"] = float(result.network.get("analysis_seconds", 0.0))
        return State(metric=self.name, n_samples=result.n_conditions, arrays=arrays, info=info)

    # -- for subclasses --------------------------------------------------------------------
    def _signature(self, result: DynamicsResult) -> Mapping[str, Any]:
        """Arrays (→ State.arrays) and JSON-able values (→ State.info) describing one network."""
        raise NotImplementedError
