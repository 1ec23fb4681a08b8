"""Untrained controls: networks that share a trained network's parts but solve nothing.

Tolmachev & Engel (Nat. Mach. Intell. 7:1742, 2025) compare trained networks with
two controls; simbench makes both for every trained network of a zoo:

- ``shuffled``: the trained weights, rearranged so that the learned structure is
  destroyed while every weight's value survives. With ``x @ W_rec`` (rows are
  presynaptic units, one ``[H, H]`` block per gate), each presynaptic unit's outgoing
  weights are permuted among its targets, the self-connection (diagonal) kept in
  place; this is the paper's "permuted within each column, off the diagonal" in its
  ``W[post, pre]`` convention, and it keeps every unit's sign (Dale's law). The units
  of the input weights (``W_in`` columns, per gate block) and of the readout (``W_out``
  rows) are permuted independently; under Dale's law the readout's rows are permuted
  within the excitatory units, so the readout still sees E units only. Biases are kept.
- ``random``: a fresh initialisation of the same architecture and size, from the seed
  ``CONTROL_SEED + seed`` (independent of the trained network's own initial weights).

Controls are stored in the zoo as members with ``control`` ∈ {``shuffled``,
``random``}, ``source_id`` naming the trained network, ``steps = 0`` and
``passed = False`` always (benchmarks leave them out of every score but
``control_auc``). Their ``performance`` is measured on the same held-out batch
definition as training uses, for information.
"""

from __future__ import annotations

import numpy as np
import torch

from simbench.zoo.architectures import get_architecture
from simbench.zoo.tasks import get_task

CONTROLS = ("shuffled", "random")
#: seed offset of the ``random`` controls' initialisation
CONTROL_SEED = 1_000_000
#: stream of the performance batch (``SeedSequence [seed, PERFORMANCE_STREAM]``)
PERFORMANCE_STREAM = 7


def control_id(network_id: str, kind: str) -> str:
    return f"{network_id}-{kind}"


def _permute_rows_off_diagonal(block: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each row's off-diagonal entries permuted among themselves (square block)."""
    out = block.copy()
    size = len(block)
    for row in range(size):
        others = np.delete(np.arange(size), row)
        out[row, others] = block[row, rng.permutation(others)]
    return out


def shuffled_weights(weights: dict[str, np.ndarray], hidden: int, rng: np.random.Generator,
                     excitatory: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The ``shuffled`` control's weights (module docstring); ``excitatory``: Dale's E units."""
    out = {k: np.array(v, copy=True) for k, v in weights.items()}
    w_rec, w_in = out["w_rec"], out["w_in"]
    for start in range(0, w_rec.shape[1], hidden):
        gate = slice(start, start + hidden)
        w_rec[:, gate] = _permute_rows_off_diagonal(w_rec[:, gate], rng)
        w_in[:, gate] = w_in[:, gate][:, rng.permutation(hidden)]
    rows = np.arange(hidden)
    if excitatory is not None:
        groups = [rows[excitatory], rows[~excitatory]]
    else:
        groups = [rows]
    order = rows.copy()
    for group in groups:
        order[group] = rng.permutation(group)
    out["w_out"] = out["w_out"][order]
    return out


def random_weights(metadata: dict) -> dict[str, np.ndarray]:
    """The ``random`` control's weights: a fresh initialisation of the architecture."""
    arch = get_architecture(metadata["architecture"])
    population = arch.population(metadata["n_inputs"], metadata["n_outputs"], metadata["hidden"],
                                 [CONTROL_SEED + int(metadata["seed"])], **metadata["options"])
    return {k: v.numpy() for k, v in population.member_parameters(0).items()}


def excitatory_units(metadata: dict) -> np.ndarray | None:
    """Boolean E-unit mask of a Dale's-law network, else None."""
    arch = get_architecture(metadata["architecture"])
    population = arch.population(metadata["n_inputs"], metadata["n_outputs"], metadata["hidden"], [0],
                                 **metadata["options"])
    if not population.options.get("dale"):
        return None
    return (population.unit_sign > 0).numpy()


def control_metadata(source: dict, kind: str, performance: float) -> dict:
    """Metadata of a control made from the trained network ``source``."""
    meta = {**source, "control": kind, "source_id": source["id"], "steps": 0,
            "stop_reason": "untrained control", "final_loss": float("nan"), "performance": performance,
            "passed": False, "train_seconds": 0.0}
    meta.pop("content_hash", None)
    meta.pop("id", None)
    return meta


def control_performance(weights: dict[str, np.ndarray], metadata: dict, batch: int = 128) -> float:
    """Task performance of a network given by its weights (held-out batch, no noise)."""
    from simbench.zoo.store import network_from_weights

    task = get_task(metadata["task"])
    data = task.sample(np.random.default_rng([int(metadata["seed"]), PERFORMANCE_STREAM]), batch)
    with torch.no_grad():
        _, outputs = network_from_weights(weights, metadata).run(data.inputs)
    return task.performance(outputs.numpy(), data.targets, data.mask)


def make_controls(weights: dict[str, np.ndarray], metadata: dict) -> dict[str, tuple[dict, dict]]:
    """``{kind: (weights, metadata)}`` of both controls of one trained network."""
    rng = np.random.default_rng([int(metadata["seed"]), CONTROL_SEED])
    made = {
        "shuffled": shuffled_weights(weights, metadata["hidden"], rng, excitatory_units(metadata)),
        "random": random_weights(metadata),
    }
    return {kind: (w, control_metadata(metadata, kind, control_performance(w, metadata)))
            for kind, w in made.items()}


def add_controls(root, kinds=CONTROLS, progress: bool = True, threads: int = 1) -> int:
    """Store both controls of every trained network of the zoo at ``root`` that lacks them.

    Resumable: controls already present are kept. Returns how many were written; the
    manifest is rebuilt from the networks' metadata first (so controls written by a run
    killed before its next rebuild are listed, not refused), after every 50 networks and
    at the end. ``threads``: torch threads while evaluating the controls (restored
    afterwards); one is fastest for these small batches, and on a loaded machine more
    than one made the evaluation hundreds of times slower (measured: 4 controls a
    minute with torch's default of 2 threads at load 10, against the whole benchmark
    zoo's 2106 in ten minutes with one).
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _add_controls(root, kinds, progress)
    finally:
        torch.set_num_threads(previous)


def _add_controls(root, kinds, progress: bool) -> int:
    from pathlib import Path

    from rich.progress import Progress

    from simbench.zoo.store import load_zoo, write_manifest, write_network

    root = Path(root)
    write_manifest(root)  # a run killed between two manifest rebuilds left controls it does not list
    zoo = load_zoo(root)
    manifest = zoo.manifest
    trained = manifest[manifest["control"].astype("string").fillna("") == ""] if "control" in manifest else manifest
    present = {p.stem for p in (root / "networks").glob("*.json")}
    todo = [i for i in trained["id"] if any(control_id(i, k) not in present for k in kinds)]
    written = 0
    with Progress(disable=not progress) as bar:
        job = bar.add_task(f"controls of {root.name}", total=len(todo))
        for network_id in todo:
            network = zoo.network(network_id)
            weights = {k: v.numpy() for k, v in network.parameters().items()}
            for kind, (w, meta) in make_controls(weights, network.metadata).items():
                if kind in kinds and control_id(network_id, kind) not in present:
                    write_network(root, control_id(network_id, kind), w, meta)
                    written += 1
            bar.advance(job)
            if written and written % 50 == 0:
                write_manifest(root)
    write_manifest(root)
    return written
