"""Base class of the metrics that need the network itself (``input = "model"``).

A recording fixes the inputs; some comparisons need to run the network on inputs of
their own (out-of-distribution trials, :mod:`simbench.metrics.ood`) or to fit a model to
its behaviour on its task (:mod:`simbench.metrics.latent_circuit`). These metrics declare
``input = "model"``: the bench passes them loaders of the zoo's networks
(:func:`simbench.bench.run.distances`), and their :meth:`~ModelMetric.prepare` accepts

- a zoo :class:`~simbench.zoo.architectures.Network`, or any Network-like object
  (``step(h, u)``, ``readout(h)``, ``initial_state(batch)``, ``n_inputs`` and
  ``metadata={"task": ...}``), so users can place their own networks among the zoo's;
- the analysis result itself (``result_type``, e.g. an
  :class:`~simbench.dynamics.ood.OODMap`);
- a :class:`~simbench.metrics.base.State` this metric prepared.

What they share with the dynamics metrics (dispatch over State / result / network,
batched preparation in :meth:`~ModelMetric.prepare_many`, ``pairwise``, ``cross``) is
:class:`~simbench.metrics.analysed_base.AnalysedMetric`. A state is numpy arrays plus
JSON-able info (cacheable without pickle), fingerprinted by its arrays so a network
compared with itself scores exactly 0.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from simbench.metrics.analysed_base import AnalysedMetric, fingerprint
from simbench.metrics.base import State


class ModelMetric(AnalysedMetric):
    """Subclasses set ``result_type`` and implement ``_analyse``, ``_signature``, ``_distance``."""

    input: ClassVar[str] = "model"
    kind: ClassVar[str] = "dynamics"
    needs: ClassVar[str] = "needs the network itself"
    samples_are: ClassVar[str] = "samples"
    #: the per-network analysis result that ``prepare`` also accepts as is
    result_type: ClassVar[type] = type(None)

    def _as_result(self, item: Any) -> Any | None:
        return item if isinstance(item, self.result_type) else None

    def _results_accepted(self) -> str:
        return f"a {self.result_type.__name__}"

    def _state(self, result) -> State:
        arrays, info, n_samples = self._signature(result)
        arrays = {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in arrays.items()}
        info = json.loads(json.dumps(dict(info)))
        info["fingerprint"] = fingerprint(str(n_samples).encode(), arrays)
        return State(metric=self.name, n_samples=int(n_samples), arrays=arrays, info=info)

    # -- for subclasses --------------------------------------------------------------------
    def _analyse(self, networks: Sequence) -> list:
        """One ``result_type`` per network, computed together."""
        raise NotImplementedError

    def _signature(self, result) -> tuple[Mapping[str, np.ndarray], Mapping[str, Any], int]:
        """``(arrays, JSON-able info, n_samples)`` describing one network's result."""
        raise NotImplementedError
