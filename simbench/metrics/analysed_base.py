"""Base class of the metrics that analyse the network itself, not a recording of it.

Two families compare networks through a per-network analysis that needs the network's
step function: the dynamics metrics (fixed points, Jacobians, limit cycles; ``input =
"network"``, :mod:`simbench.metrics.dynamics_base`) and the model metrics (out-of-
distribution trials, fitted latent circuits; ``input = "model"``,
:mod:`simbench.metrics.model_base`). The bench dispatches on ``input``
(:func:`simbench.bench.run.prepared_states`, :func:`simbench.bench.engine.prepare_all`);
everything else they share lives here. :meth:`AnalysedMetric.prepare` accepts

- a zoo Network or any Network-like object (``step``, ``readout``, ``initial_state``;
  :func:`~simbench.dynamics.simulate.is_network_like`), analysed by the subclass's
  :meth:`~AnalysedMetric._analyse`;
- an analysis result the subclass recognises (:meth:`~AnalysedMetric._as_result`);
- a :class:`~simbench.metrics.base.State` this metric prepared.

:meth:`~AnalysedMetric.prepare_many` analyses all the networks of one call together
(batched populations, much faster than one at a time); ``prepare``, ``pairwise`` and
``cross`` use it. A state's fingerprint hashes everything its distance reads, so a
network compared with itself scores exactly 0.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from simbench.dynamics.simulate import is_network_like
from simbench.metrics.base import Metric, State, loop_cross, loop_pairs


def fingerprint(salt: bytes, arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-1 of ``salt`` and every array (name, shape and bytes, in name order)."""
    digest = hashlib.sha1(salt)
    for k in sorted(arrays):
        digest.update(k.encode() + str(arrays[k].shape).encode() + arrays[k].tobytes())
    return digest.hexdigest()


class AnalysedMetric(Metric):
    """Subclasses implement :meth:`_as_result`, :meth:`_analyse`, :meth:`_state` and
    ``_distance``, and say in :attr:`needs` and :meth:`_results_accepted` what they take."""

    #: what the bench passes to ``prepare`` (subclasses: ``"network"`` or ``"model"``)
    input: ClassVar[str] = "model"
    kind: ClassVar[str] = "dynamics"
    #: completes "<id> ... (input = '<input>')" in the error for an item it cannot take
    needs: ClassVar[str] = "needs the network itself"
    #: what ``n_samples`` of a state counts, for the error on unmatched pairs
    samples_are: ClassVar[str] = "samples"

    # -- the contract ----------------------------------------------------------------------
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
            elif (result := self._as_result(item)) is not None:
                states[i] = self._state(result)
            elif is_network_like(item):
                networks.append(i)
            else:
                raise ValueError(
                    f"{self.id}: {labels[i]} is a {type(item).__name__}; {self.id} {self.needs} "
                    f"(input = {self.input!r}): give a zoo Network or a Network-like object (step, "
                    f"readout, initial_state, metadata['task']), {self._results_accepted()} or a State "
                    "it prepared, not a recording")
        if networks:
            for i, result in zip(networks, self._analyse([items[i] for i in networks])):
                states[i] = self._state(result)
        return states

    def pairwise(self, items: Sequence) -> np.ndarray:
        states = self._states(items)
        return self._zero_identical(self._pairwise_states(states), states)

    def cross(self, items_a: Sequence, items_b: Sequence) -> np.ndarray:
        """Every network of ``items_a`` against every one of ``items_b``; the networks of
        both lists are analysed in one call."""
        states_a, states_b = self._states_of_both(items_a, items_b)
        return self._zero_identical_cross(self._cross_states(states_a, states_b), states_a, states_b)

    def _prepare_items(self, items: list, labels: list[str]) -> list[State]:
        return self.prepare_many(items, labels)

    def _pairwise_states(self, states: list[State]) -> np.ndarray:
        """All pairs of prepared states; subclasses may vectorise."""
        return loop_pairs(self._distance, states)

    def _cross_states(self, states_a: list[State], states_b: list[State]) -> np.ndarray:
        """``[len(a), len(b)]`` distances of prepared states; subclasses may vectorise.

        A subclass that vectorises only :meth:`_pairwise_states` gets the off-diagonal
        block of it on both lists stacked (cheaper than a Python loop over the pairs for
        vectorised metrics); otherwise the pairs are looped over.
        """
        if type(self)._pairwise_states is not AnalysedMetric._pairwise_states:
            return self._pairwise_states(states_a + states_b)[:len(states_a), len(states_a):]
        return loop_cross(self._distance, states_a, states_b)

    def _check_pair(self, a: State, b: State, la: str, lb: str) -> None:
        if a.n_samples != b.n_samples:
            raise ValueError(f"{la} was prepared with {a.n_samples} {self.samples_are}, {lb} with "
                             f"{b.n_samples}: compare networks of one suite, prepared with the same "
                             "parameters")

    # -- for subclasses --------------------------------------------------------------------
    def _as_result(self, item: Any) -> Any | None:
        """``item`` as this metric's per-network analysis result, or None if it is none."""
        raise NotImplementedError

    def _results_accepted(self) -> str:
        """The analysis results ``prepare`` takes, for the error on anything else."""
        raise NotImplementedError

    def _analyse(self, networks: Sequence) -> list:
        """One analysis result per network, computed together."""
        raise NotImplementedError

    def _state(self, result: Any) -> State:
        """The prepared state of one analysis result (fingerprinted, see :func:`fingerprint`)."""
        raise NotImplementedError
