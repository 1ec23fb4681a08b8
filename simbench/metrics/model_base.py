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

:meth:`~ModelMetric.prepare_many` analyses all networks given in one call together
(batched populations); ``prepare`` and ``pairwise`` use it. A state is numpy arrays plus
JSON-able info (cacheable without pickle), fingerprinted by its arrays so a network
compared with itself scores exactly 0.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from simbench.dynamics.simulate import is_network_like
from simbench.metrics.base import Metric, State


class ModelMetric(Metric):
    """Subclasses set ``result_type`` and implement ``_analyse``, ``_signature``, ``_distance``."""

    input: ClassVar[str] = "model"
    kind: ClassVar[str] = "dynamics"
    #: the per-network analysis result that ``prepare`` also accepts as is
    result_type: ClassVar[type] = type(None)

    def prepare(self, X: Any, *, label: str = "X") -> State:
        if isinstance(X, State):
            return self._ensure_state(X, label)
        return self.prepare_many([X], labels=[label])[0]

    def prepare_many(self, items: Sequence, labels: Sequence[str] | None = None) -> list[State]:
        """States of many items; the networks among them are analysed in one call."""
        items = list(items)
        labels = list(labels) if labels is not None else [f"network {i}" for i in range(len(items))]
        states: list = [None] * len(items)
        networks = []
        for i, item in enumerate(items):
            if isinstance(item, State):
                states[i] = self._ensure_state(item, labels[i])
            elif isinstance(item, self.result_type):
                states[i] = self._state(item)
            elif is_network_like(item):
                networks.append(i)
            else:
                raise ValueError(
                    f"{self.id}: {labels[i]} is a {type(item).__name__}; {self.id} needs the network itself "
                    "(input = 'model'): give a zoo Network or a Network-like object (step, readout, "
                    f"initial_state, metadata['task']), a {self.result_type.__name__} or a State it prepared, "
                    "not a recording")
        if networks:
            for i, result in zip(networks, self._analyse([items[i] for i in networks])):
                states[i] = self._state(result)
        return states

    def pairwise(self, items: Sequence) -> np.ndarray:
        states = self.prepare_many(items)
        for i, s in enumerate(states[1:], start=1):
            self._check_pair(states[0], s, "network 0", f"network {i}")
        return self._zero_identical(self._pairwise_states(states), states)

    def _pairwise_states(self, states: list[State]) -> np.ndarray:
        """All pairs of prepared states; subclasses may vectorise."""
        n = len(states)
        D = np.zeros((n, n))
        for i in range(n):
            for j in range(i + 1, n):
                D[i, j] = D[j, i] = float(self._distance(states[i], states[j]))
        return D

    def _state(self, result) -> State:
        arrays, info, n_samples = self._signature(result)
        arrays = {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in arrays.items()}
        info = json.loads(json.dumps(dict(info)))
        digest = hashlib.sha1(str(n_samples).encode())
        for k in sorted(arrays):
            digest.update(k.encode() + str(arrays[k].shape).encode() + arrays[k].tobytes())
        info["fingerprint"] = digest.hexdigest()
        return State(metric=self.name, n_samples=int(n_samples), arrays=arrays, info=info)

    @staticmethod
    def _check_pair(a: State, b: State, la: str, lb: str) -> None:
        if a.n_samples != b.n_samples:
            raise ValueError(f"{la} has {a.n_samples} samples, {lb} has {b.n_samples}: compare networks "
                             "of one suite, prepared with the same parameters")

    # -- for subclasses --------------------------------------------------------------------
    def _analyse(self, networks: Sequence) -> list:
        """One ``result_type`` per network, computed together."""
        raise NotImplementedError

    def _signature(self, result) -> tuple[Mapping[str, np.ndarray], Mapping[str, Any], int]:
        """``(arrays, JSON-able info, n_samples)`` describing one network's result."""
        raise NotImplementedError
