"""Prepared states that travel with the zoo: ``ZOO/analyses/states/<producer>/<hash>``.

Some metrics spend most of their time on a per-network analysis whose result is small:
a latent circuit fitted to each network (``latent-circuit``, Langdon & Engel 2025), its
out-of-distribution behaviour map (``ood``), its persistence diagrams (``ph``), its DMD
operator (``dsa``). Like the fixed-point analyses (:func:`~simbench.dynamics.cache.analyse_zoo`),
those states can be committed with a zoo, so a fresh clone scores them without
recomputing them: ``simbench zoo analyse ZOO --metric ID ...`` stores them, and every run
reads them before the local cache (:func:`~simbench.bench.engine.prepare_all`).

The files are the engine's state-cache entries (safetensors, no pickle): named by the
network's content hash, in a folder named by the producer key, which covers the
metric's parameters, its ``version`` and what its inputs were made from (the suite's
recording version, or the analysis options). A changed metric or network therefore
never reads an old state; it looks in another folder, or under another name, and
computes. An entry is also checked on load (metric and producer in its metadata), and a
broken one is recomputed with a logged warning. Delete ``ZOO/analyses/states`` to
recompute everything from the networks.
"""

from __future__ import annotations

import shutil
from simbench.bench.controls import controls_of
from simbench.bench.engine import state_key
from simbench.bench.run import (applies_to, chosen_suites, for_suite, prepared_states, state_cache, state_inputs,
                                stored_states_folder)
from simbench.metrics import get_metric


def store_states(zoo, specs: list[str]) -> dict[str, int]:
    """Store the prepared states of metrics ``specs`` for the zoo's networks above threshold
    (and their untrained controls, if the zoo has them) in every suite each metric is defined
    on; ``{metric name on suite: states stored}``. Resumable: states already stored are
    kept, those in the local cache copied, the rest prepared."""
    stored = {}
    for spec in specs:
        metric = get_metric(spec)
        for suite in chosen_suites(metric, zoo, undefined="skip"):
            kept = zoo.filter(suite=suite, passed=True)
            controls = controls_of(zoo, kept)
            for part in [kept] + ([controls] if controls is not None else []):
                name = for_suite(metric, suite).name
                stored[name] = stored.get(name, 0) + _store(for_suite(metric, suite), part)
    return stored


def _store(metric, part) -> int:
    """Prepare (or read) ``metric``'s states of ``part`` and copy them into the stored folder."""
    if not applies_to(metric, str(part.manifest.suite.iloc[0])):
        return 0
    prepared_states(metric, part)  # fills the local cache (reads the stored states first)
    producer = state_key(metric, state_inputs(metric, part)[1])
    source, target = state_cache(part) / producer, stored_states_folder(part) / producer
    target.mkdir(parents=True, exist_ok=True)
    for digest, network_id in zip(part.manifest.content_hash, part.ids):
        name = f"{digest}.safetensors"
        if (target / name).exists():
            continue
        if not (source / name).exists():
            raise ValueError(f"{metric.name}: the state of {network_id} was not cached (it is not arrays "
                             f"plus JSON-able info), so it cannot be stored with the zoo")
        shutil.copyfile(source / name, target / name)
    return len(part)


def stored_size(zoo) -> int:
    """Bytes of the zoo's stored states."""
    folder = stored_states_folder(zoo)
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0
