"""Running networks on given inputs, many at once: the helpers behind the behavioural analyses.

:func:`stack_groups` splits a list of networks into groups that step as one batched
:class:`~simbench.dynamics.system.System` (zoo networks of one architecture, size and
options); any other Network-like object is a group of its own. :func:`task_of` reads a
network's task from its metadata with one clear error when it has none.
:func:`torch_threads` sets torch's thread count for a block: the analyses take an
explicit ``threads`` argument (default 1), because on a few shared cores the default of
one thread per core makes the threads wait on each other at every small step.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager

import numpy as np
import torch

from simbench.dynamics.system import as_system, stackable
from simbench.zoo.task import Task
from simbench.zoo.tasks import get_task


@contextmanager
def torch_threads(threads: int):
    """Run the block with ``threads`` torch threads; the previous count is restored."""
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    previous = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def is_network_like(obj) -> bool:
    """Whether ``obj`` has the Network interface (``step``, ``readout``, ``initial_state``)."""
    return all(callable(getattr(obj, name, None)) for name in ("step", "readout", "initial_state"))


def network_label(network, default: str = "network") -> str:
    """The id in a network's metadata, else ``default``."""
    return str((getattr(network, "metadata", None) or {}).get("id") or default)


def task_of(network, analysis: str, label: str | None = None) -> Task:
    """The task named in ``network.metadata["task"]``; ``ValueError`` naming ``label`` otherwise."""
    label = label or network_label(network)
    if not is_network_like(network):
        raise ValueError(f"{analysis}: {label} is a {type(network).__name__}, not a network: give a zoo "
                         "Network or an object with step(h, u), readout(h), initial_state(batch) and "
                         "metadata={'task': ...}")
    name = (getattr(network, "metadata", None) or {}).get("task")
    if name is None:
        raise ValueError(f"{analysis}: {label} has no metadata['task']; a Network-like object needs "
                         "metadata={'task': <a task name from `simbench tasks`>} so its inputs are known")
    return get_task(name)


def stack_groups(networks: Sequence) -> list[list[int]]:
    """Indices of ``networks`` in groups that :func:`~simbench.dynamics.system.as_system` stacks."""
    groups: list[list[int]] = []
    for i, net in enumerate(networks):
        for group in groups:
            if stackable([networks[group[0]], net]):
                group.append(i)
                break
        else:
            groups.append([i])
    return groups


def group_system(networks: Sequence, dtype=torch.float32):
    """One :class:`~simbench.dynamics.system.System` for a group from :func:`stack_groups`."""
    return as_system(list(networks), dtype=dtype)
