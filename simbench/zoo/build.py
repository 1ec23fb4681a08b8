"""Building a zoo from a recipe: train the missing shards, store them, resume after a crash.

A shard (one population: architecture × hidden size × suite) is the unit of work and of
resumption: its networks are written only once the whole shard has trained, each file
atomically. ``build_zoo`` run again after an interruption skips the shards whose
networks are all present and retrains the rest from their seeds, so the result equals
an uninterrupted build (bitwise, for the same thread count).

Executors: in-process (``workers=1``), a local process pool (``workers>1``, each worker
with ``threads`` torch threads), or a Dask cluster (``scheduler="tcp://…"``, extra
``simbench[dask]``). Workers return weights as numpy arrays; only the client writes.
"""

from __future__ import annotations

import os
from concurrent.futures import as_completed
from dataclasses import asdict, replace
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from simbench.zoo.pool import process_pool
from simbench.zoo.recipe import Recipe, RecipeError, Shard, load_recipe, network_id
from simbench.zoo.store import RECIPE, Zoo, ZooError, atomic_write_text, write_manifest, write_network


def train_shard(shard: Shard) -> list[dict]:
    """Train one shard; returns per network its metadata and weights (numpy)."""
    from simbench.zoo.training import train_population

    result = train_population(shard.architecture, shard.hidden, list(shard.members), shard.config,
                              progress=False, **shard.options)
    population = result.population
    out = []
    for index, row in result.table.iterrows():
        weights = {k: v.numpy() for k, v in population.member_parameters(index).items()}
        metadata = {
            **{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()},
            "n_inputs": population.n_inputs, "n_outputs": population.n_outputs,
            "options": {**shard.options}, "config": asdict(shard.config), "shard": shard.key,
        }
        out.append({"id": network_id(row["task"], shard.architecture, shard.hidden, row["seed"]),
                    "weights": weights, "metadata": metadata})
    return out


def prepare_output(recipe: Recipe, out: Path) -> None:
    """Create the zoo directory, or check that the zoo there may grow by this recipe.

    A zoo may be rebuilt from an edited recipe when the edit only adds networks: the
    training configuration and architecture options are unchanged and every network
    already built is still listed. Anything else would mix networks trained two ways,
    and raises :class:`RecipeError`. The copied ``recipe.toml`` is replaced by the new one.
    """
    out.mkdir(parents=True, exist_ok=True)
    copied = out / RECIPE
    present = sorted(p.stem for p in (out / "networks").glob("*.json"))
    if copied.exists() and present and copied.read_text() != recipe.source:
        _check_growth(recipe, copied, present)
    if not copied.exists() or copied.read_text() != recipe.source:
        atomic_write_text(copied, recipe.source)


def _check_growth(recipe: Recipe, copied: Path, present: list[str]) -> None:
    def refuse(why):
        raise RecipeError(f"{copied.parent} holds a zoo built from another recipe ({copied} differs "
                          f"from {recipe.path}: {why}); choose another --out")

    try:
        before = load_recipe(copied)
    except RecipeError as error:
        refuse(f"the copied recipe no longer parses: {error}")
    if before.config != recipe.config:
        refuse("the [train] settings differ")
    if before.options != recipe.options:
        refuse("the [options] differ")
    missing = sorted(set(present) - set(recipe.network_ids()))
    if missing:
        refuse(f"{len(missing)} built networks are not in it, e.g. {missing[0]}")


def pending_shards(recipe: Recipe, out: Path) -> list[Shard]:
    present = {p.stem for p in (out / "networks").glob("*.json")}
    return [s for s in recipe.shards()
            if any(network_id(m.task, s.architecture, s.hidden, m.seed) not in present for m in s.members)]


def build_zoo(recipe_path, out=None, workers: int = 1, threads: int | None = None,
              scheduler: str | None = None, progress: bool = True) -> Zoo:
    """Train what is missing from the zoo ``out`` (default ``zoo/<recipe name>``)."""
    recipe = load_recipe(recipe_path)  # checked completely before anything is written
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive integer (or None), got {threads!r}")
    threads = threads or max(1, (os.cpu_count() or 1) // workers)
    out = Path(out) if out else Path(recipe_path).parent / recipe.name
    prepare_output(recipe, out)
    shards = [replace(s, config=replace(s.config, threads=threads)) for s in pending_shards(recipe, out)]
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[last]}"), TimeElapsedColumn(), disable=not progress)
    with bar:
        job = bar.add_task(f"zoo {recipe.name}", total=len(shards), last="")
        for shard, networks in _execute(shards, workers, scheduler):
            for network in networks:
                write_network(out, network["id"], network["weights"], network["metadata"])
            write_manifest(out)
            bar.update(job, advance=1, last=shard.key)
    if not (out / "networks").exists():
        raise ZooError(f"{recipe_path}: the recipe selects no networks")
    write_manifest(out)
    return Zoo(out)


def _execute(shards: list[Shard], workers: int, scheduler: str | None):
    """Yield ``(shard, trained networks)`` as shards finish."""
    if not shards:
        return
    if scheduler:
        yield from _execute_dask(shards, scheduler)
    elif workers == 1:
        for shard in shards:
            yield shard, train_shard(shard)
    else:
        with process_pool(workers) as pool:
            futures = {pool.submit(train_shard, s): s for s in shards}
            for future in as_completed(futures):
                yield futures[future], future.result()


def _execute_dask(shards: list[Shard], scheduler: str):
    try:
        from distributed import Client, as_completed as dask_completed
    except ImportError:
        raise ImportError("--scheduler needs Dask: pip install 'simbench[dask]' -c constraints.txt") from None
    with Client(scheduler) as client:
        futures = [client.submit(train_shard, s, pure=False, key=f"shard-{s.key}") for s in shards]
        by_key = {f.key: s for f, s in zip(futures, shards)}
        for future in dask_completed(futures):
            yield by_key[future.key], future.result()
