"""One benchmark run: a metric on a zoo's suites → scores, leaderboard rows, distance matrices.

For each suite, the networks above threshold are recorded on the suite's probe set
(conditions × time flattened to samples; metrics declaring ``input = "network"`` get
the network's dynamics analysis, cached in the zoo's ``dynamics/`` folder), prepared
once (cached in the zoo's ``cache/`` folder), compared in all pairs, and scored
(:mod:`simbench.bench.scores`). ``topology_rho`` compares the distances with the
fixed-point-topology distance and ``ood_rho`` with the distance between out-of-distribution
behaviour maps (:func:`reference_matrix`; ``ood`` is defined on the ``cddm`` suite only).
A metric that declares ``suites`` (a tuple of suite names) runs on those suites only.
Each suite's row and matrix are published together as soon as that suite is scored,
so a run that fails on a later suite keeps the suites it finished (a row is never
half-written: :func:`~simbench.bench.leaderboard.publish`); ``resume=True`` skips the
suites whose row for this metric and this exact set of networks is already published
(a long run resumes), and a suite cut in the middle of its distance matrix starts again
at its first unfinished row (finished rows are saved in the zoo's ``cache/pairs``:
:mod:`simbench.bench.checkpoint`; removed once the suite is published).
"""

from __future__ import annotations

import hashlib
from concurrent.futures import as_completed
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd

from simbench.bench.engine import all_pairs, prepare_all
from simbench.dynamics.cache import analysis_key, lazy_dynamics
from simbench.bench.leaderboard import check_output_folder, load_distances, publish
from simbench.bench.controls import controls_of, with_controls
from simbench.bench.design import Design
from simbench.bench.rows import score_columns
from simbench.metrics import get_metric
from simbench.zoo.cache import cache_dir
from simbench.zoo.pool import available_cores, process_pool
from simbench.zoo.store import Zoo, load_zoo, recording_key
from simbench.zoo.tasks import SUITES, get_suite

#: the metric whose distance is the benchmark's ground truth for "same scaffold"
TOPOLOGY_METRIC = "fp-topology"
#: the metric whose distance grounds a metric by behaviour (``ood_rho``)
OOD_METRIC = "ood"
#: reference name (:data:`simbench.bench.scores.REFERENCES`) → the metric computing it
REFERENCE_METRICS = {"topology": TOPOLOGY_METRIC, "ood": OOD_METRIC}
REFERENCE_ZOO = Path(__file__).resolve().parents[2] / "zoo" / "reference"
#: the reference zoo's published rows (their recorded seconds order a parallel run)
REFERENCE_LEADERBOARDS = Path(__file__).resolve().parents[2] / "leaderboards"


@dataclass
class SuiteResult:
    row: dict
    ids: list[str]
    distance: np.ndarray
    checkpoint: Path | None = None  # the saved partial matrix, removed once published


def simbench_version() -> str:
    """The installed simbench's version (``simbench.__version__``, read without importing
    the package's facade, which sits above every layer)."""
    try:
        return version("simbench")
    except PackageNotFoundError:  # a source tree that is not installed
        return "0.0.0+unknown"


def default_zoo() -> Zoo:
    if not (REFERENCE_ZOO / "manifest.csv").exists():
        raise ValueError(f"no reference zoo at {REFERENCE_ZOO}; pass --zoo DIR")
    return load_zoo(REFERENCE_ZOO)


def for_suite(metric, suite: str):
    """``metric`` as it runs on ``suite`` (see :func:`with_trajectory_structure`)."""
    return with_trajectory_structure(metric, len(get_suite(suite).probe_trials().conditions))


def with_trajectory_structure(metric, n_conditions: int):
    """Tell a metric that reads trajectories how many conditions a recording holds.

    Recordings are conditions × time flattened; metrics with an ``n_conditions``
    parameter (``dsa``: one delay embedding per trajectory; ``rsa``: an RDM over the
    probe conditions) get the suite's count unless the user set one.
    """
    declared = getattr(type(metric), "parameters", {}).get("n_conditions")
    if declared is None or metric.params["n_conditions"] != declared.default:
        return metric
    return type(metric)(**{**metric.params, "n_conditions": n_conditions})


def distances(metric, kept: Zoo, workers=1, scheduler=None) -> tuple[np.ndarray, float, float]:
    """``(D, prepare seconds, pairwise seconds)`` of one metric on the networks of ``kept``.

    Dynamics metrics (``input = "network"``) prepare from the zoo's cached dynamics
    analysis; their prepare seconds include the analysis time.
    """
    states, prepare_seconds = prepared_states(metric, kept)
    distance, pairwise_seconds = all_pairs(metric, states, workers, scheduler)
    return distance, prepare_seconds, pairwise_seconds


def prepared_states(metric, kept: Zoo, cache_states: bool = True, refused: str = "raise") -> tuple[list, float]:
    """``metric``'s prepared state of every network of ``kept`` (in order) and the seconds.

    States are read from the zoo's stored states (``ZOO/analyses/states``, committed with
    the zoo: :mod:`simbench.bench.stored`) or its cache (``cache/metrics``), else prepared
    and cached (:func:`~simbench.bench.engine.prepare_all`); dynamics metrics prepare from
    the zoo's cached dynamics analysis, and their seconds include the analysis time.
    ``cache_states=False``: states that are not stored are prepared and not cached (a
    state can be as large as its recording: 35 MB a network on cddm). ``refused="none"``:
    a network the metric refuses gets the state ``None`` (:func:`~simbench.bench.engine.prepare_all`).
    """
    network = getattr(metric, "input", "recording") == "network"
    inputs, input_key = state_inputs(metric, kept)
    states, prepare_seconds, _ = prepare_all(metric, inputs, list(kept.manifest.content_hash),
                                             cache=state_cache(kept) if cache_states else None,
                                             labels=kept.ids, input_key=input_key,
                                             stored=stored_states_folder(kept), refused=refused)
    analysis_seconds = 0.0
    if network:  # each state records what its analysis cost (the same whether cached or not)
        analysis_seconds = sum(float(s.info.get("analysis_seconds", 0.0)) for s in states if s is not None)
    return states, analysis_seconds + prepare_seconds


def state_inputs(metric, kept: Zoo) -> tuple[list, str]:
    """Zero-argument loaders of what ``metric.prepare`` takes for each network of ``kept``
    (recordings, dynamics analyses or the networks; nothing is loaded until called), and
    the key naming their producer in the state cache (:func:`~simbench.bench.engine.state_key`)."""
    kind = getattr(metric, "input", "recording")
    if kind == "network":  # a network whose state is cached is never read nor analysed
        return lazy_dynamics(kept, kept.ids, metric.analysis_options, progress=True), \
            analysis_key(metric.analysis_options)
    if kind == "model":
        return [lambda i=i: kept.network(i) for i in kept.ids], "model"
    return ([lambda i=i: kept.recording(i).samples() for i in kept.ids],
            "|".join(recording_key(s) for s in sorted(set(kept.manifest.suite))))


def state_cache(zoo: Zoo) -> Path:
    """The zoo's local cache of prepared states (not committed)."""
    return cache_dir(zoo.path, "cache/metrics")


def stored_states_folder(zoo: Zoo) -> Path:
    """The zoo's stored prepared states, ``ZOO/analyses/states`` (committed with it)."""
    return Path(zoo.path) / "analyses" / "states"


def applies_to(metric, suite: str) -> bool:
    """Whether ``metric`` is defined on ``suite`` (a metric class may declare ``suites``)."""
    suites = getattr(type(metric), "suites", None)
    return suites is None or suite in suites


def topology_reference(kept: Zoo, suite: str, out) -> np.ndarray:
    """The fixed-point-topology distance (default ``fp-topology``) between ``kept``'s networks
    (:func:`reference_matrix`)."""
    return reference_matrix(kept, suite, out, TOPOLOGY_METRIC)


def reference_matrix(kept: Zoo, suite: str, out, spec: str) -> np.ndarray | None:
    """The distance of metric ``spec`` (default parameters) between ``kept``'s networks.

    Read from the published matrix when ``out`` holds a row of that metric for this
    suite and zoo whose matrix covers ``kept``'s networks (this exact set, or a superset
    such as the full zoo when ``kept`` is a subsample); otherwise computed (from the zoo's
    cached analyses where the metric has them). ``None`` where the metric is not defined
    on ``suite`` (``ood`` outside ``cddm``).
    """
    metric = for_suite(get_metric(spec), suite)
    if not applies_to(metric, suite):
        return None
    path = Path(out) / f"{suite}.csv"
    table = pd.read_csv(path, keep_default_na=False, na_values=[""]) if path.exists() else None
    if table is not None and ((table.params == metric.name) & (table.zoo == kept.path.name)).any():
        published = load_distances(out, suite, metric.name)
        if set(kept.ids) <= set(published.index):
            return published.loc[kept.ids, kept.ids].to_numpy(dtype=float)
    return distances(metric, kept)[0]


def published_row(out, suite: str, name: str, kept: Zoo) -> pd.Series | None:
    """The row of metric ``name`` in ``out/<suite>.csv`` for exactly ``kept``'s networks, or None."""
    path = Path(out) / f"{suite}.csv"
    if not path.exists():
        return None
    table = pd.read_csv(path, keep_default_na=False, na_values=[""])
    match = table[(table.params == name) & (table.zoo_hash.astype(str) == kept.hash[:16])]
    return match.iloc[-1] if len(match) else None


def references_of(metric, distance: np.ndarray, kept: Zoo, suite: str, out) -> dict:
    """The reference matrices of the ``*_rho`` scores (``{}`` when ``out`` is None): a
    reference metric's own distance is its reference."""
    if out is None:
        return {}
    references = {}
    for name, spec in REFERENCE_METRICS.items():
        own = metric.name == for_suite(get_metric(spec), suite).name
        matrix = distance if own else reference_matrix(kept, suite, out, spec)
        if matrix is not None:
            references[name] = matrix
    return references


def _pad(matrix: np.ndarray, size: int) -> np.ndarray:
    """A reference matrix over the kept networks, NaN-padded for the controls after them."""
    out = np.full((size, size), np.nan)
    out[:len(matrix), :len(matrix)] = matrix
    return out


def first_seeds(kept: Zoo, per_cell: int | None) -> Zoo:
    """``kept`` with only the ``per_cell`` lowest seeds of each task × architecture × width
    cell (all of them when ``per_cell`` is None): a documented subsample for metrics whose
    all-pairs cost does not fit, with every cell and factor still present."""
    if per_cell is None:
        return kept
    if per_cell < 2:
        raise ValueError(f"seeds per cell must be at least 2 (a cell's two seeds are the negative pairs), "
                         f"got {per_cell!r}")
    manifest = kept.manifest.sort_values("seed", kind="stable")
    chosen = manifest.groupby(["task", "architecture", "hidden"], sort=False).head(per_cell)
    return type(kept)(kept.path, kept.manifest.loc[kept.manifest.index.isin(chosen.index)])


def score_suite(metric, zoo: Zoo, suite: str, workers=1, scheduler=None, n_boot=1000,
                topology_from="leaderboards", controls: bool = True,
                seeds_per_cell: int | None = None, cache_states: bool = True) -> SuiteResult:
    """Distances and scores of one metric on one suite's networks above threshold
    (the ``seeds_per_cell`` lowest seeds of each cell only, when given: :func:`first_seeds`).

    ``controls``: score the zoo's untrained controls of these networks too
    (``control_auc``; :mod:`simbench.bench.controls`), when the zoo has them.

    ``topology_from``: leaderboard folder where published reference matrices
    (fixed-point topology, OOD maps) may be found (:func:`reference_matrix`); ``None``
    leaves ``topology_rho`` and ``ood_rho`` empty.
    """
    get_suite(suite)
    kept = first_seeds(zoo.filter(suite=suite, passed=True), seeds_per_cell)
    if len(kept) < 2:
        raise ValueError(f"suite {suite!r}: {len(kept)} network(s) above threshold in {zoo.path}; need 2")
    metric = for_suite(metric, suite)
    manifest = kept.manifest
    states, prepare_seconds = prepared_states(metric, kept, cache_states)
    checkpoint = pairs_checkpoint(metric, kept, suite)
    distance, pairwise_seconds = all_pairs(metric, states, workers, scheduler, checkpoint)
    references = references_of(metric, distance, kept, suite, topology_from)
    design, joint = Design.from_manifest(manifest), distance
    untrained = controls_of(zoo, kept) if controls else None
    if untrained is not None:
        def cell_states(positions: list) -> list:  # one cell's control states at a time
            cell = type(untrained)(untrained.path, untrained.manifest.iloc[positions])
            # an untrained control may be degenerate (e.g. every trajectory ends in one
            # state: no endpoint configuration): a refused one is None, left out
            return prepared_states(metric, cell, cache_states, refused="none")[0]

        design, joint = with_controls(metric, distance, states, kept, untrained, cell_states)
        references = {k: _pad(v, len(design)) for k, v in references.items()}
    scores = score_columns(joint, design, references, n_boot=n_boot)
    row = {
        "metric": metric.id, "params": metric.name, "kind": metric.kind, "suite": suite,
        "zoo": zoo.path.name, "zoo_hash": kept.hash[:16], "n_networks": len(kept),
        "n_architectures": manifest.architecture.nunique(), "n_tasks": manifest.task.nunique(),
        "seeds_per_cell": seeds_per_cell,
    }
    row.update(scores)
    row.update({
        "prepare_seconds": round(prepare_seconds, 3), "pairwise_seconds": round(pairwise_seconds, 3),
        "simbench_version": simbench_version(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
    })
    return SuiteResult(row, kept.ids, distance, checkpoint[0])


def pairs_checkpoint(metric, kept: Zoo, suite: str) -> tuple[Path, str]:
    """Where the partial distance matrix of ``metric`` on ``kept`` is saved as its rows
    finish (the zoo's ``cache/pairs``), and the key a resumed run must match: the metric's
    configuration and code version, these exact networks in this order (the matrix's rows
    follow it) and the simbench version (:mod:`simbench.bench.checkpoint`)."""
    networks = hashlib.sha256("".join(kept.manifest.content_hash).encode()).hexdigest()
    key = f"{metric.name}|v{getattr(metric, 'version', '')}|{networks}|{simbench_version()}"
    name = f"{suite}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"
    return cache_dir(kept.path, "cache/pairs") / name, key


def run_benchmark(metric_spec: str, zoo=None, suites=None, out="leaderboards", workers=1,
                  scheduler=None, n_boot=1000, topology: bool = True, controls: bool = True,
                  resume: bool = False, undefined_suites: str = "error",
                  seeds_per_cell: int | None = None, cache_states: bool = True) -> pd.DataFrame:
    """Score ``metric_spec`` on every requested suite, publishing each suite's row and
    matrix as soon as it is scored.

    ``topology=False`` skips ``topology_rho`` and ``ood_rho`` (they need every network's
    fixed points and OOD maps). Suites default to those of the zoo on which the metric is
    defined; named suites it is not defined on are dropped, and naming none it is defined
    on is an error (``undefined_suites="skip"``: an empty result instead, as ``--metric
    all`` does). ``resume=True`` skips the
    suites already published for this metric and these networks (:func:`published_row`).
    ``seeds_per_cell``: score only the lowest seeds of each cell (:func:`first_seeds`; the
    row says so in its ``seeds_per_cell`` column). ``cache_states=False``: do not write
    prepared states to the zoo's cache (:func:`prepared_states`). Returns the rows
    computed now.
    """
    check_output_folder(out)  # before any work: a bad --out fails now, not after the computing
    if workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    metric = get_metric(metric_spec)
    zoo = load_zoo(zoo) if zoo else default_zoo()
    chosen = chosen_suites(metric, zoo, suites, undefined_suites)
    if resume:
        chosen = [s for s in chosen if published_row(
            out, s, for_suite(metric, s).name, first_seeds(zoo.filter(suite=s, passed=True), seeds_per_cell)) is None]
    rows = []
    for suite in chosen:  # each suite published once scored: a later failure keeps it
        result = score_suite(metric, zoo, suite, workers, scheduler, n_boot, out if topology else None, controls,
                             seeds_per_cell, cache_states)
        publish(out, suite, result.row, result.ids, result.distance)
        if result.checkpoint:
            result.checkpoint.unlink(missing_ok=True)
        rows.append(result.row)
    return pd.DataFrame(rows)


def chosen_suites(metric, zoo: Zoo, suites=None, undefined: str = "error") -> list[str]:
    """The suites a run scores: those of ``suites`` (checked) on which ``metric`` is defined,
    or every such suite of ``zoo`` in :data:`SUITES` order. Named suites that the metric is
    not defined on are dropped; if that leaves none, ``undefined="error"`` raises (one
    error naming the suites it is defined on) and ``"skip"`` returns ``[]``."""
    present = list(dict.fromkeys(zoo.manifest.suite))
    for suite in suites or []:
        get_suite(suite)
        if suite not in present:
            raise ValueError(f"suite {suite!r} has no networks in {zoo.path}; it has {', '.join(present)}")
    chosen = [s for s in (suites or [s for s in SUITES if s in present]) if applies_to(metric, s)]
    if suites and not chosen and undefined == "error":
        raise ValueError(f"{metric.id} is defined on the {', '.join(type(metric).suites)} suite(s) only, "
                         f"not on {', '.join(repr(s) for s in suites)}")
    return chosen


def run_metrics(metrics: list, jobs: int | None = None, **options):
    """:func:`run_benchmark` for each of ``metrics``, ``jobs`` at a time; yields
    ``(metric, rows)`` or ``(metric, exception)`` as each finishes (a failing metric does
    not stop the others).

    ``jobs > 1`` runs the metrics in spawned processes with one torch/BLAS thread each
    (:func:`~simbench.zoo.pool.process_pool`), the costliest first (:func:`by_expected_cost`)
    so that no long metric starts last. Each run publishes its own rows (the leaderboard
    files are locked while written), and runs share the zoo's caches, whose entries are
    written atomically. ``jobs=None``: every available core when there are several
    metrics, else 1. Memory grows with ``jobs``: each process holds one metric's states.
    """
    metrics = list(metrics)
    jobs = min(jobs or (available_cores() if len(metrics) > 1 else 1), max(len(metrics), 1))
    if jobs == 1:
        for metric in metrics:
            try:
                yield metric, run_benchmark(metric, **options)
            except Exception as error:  # reported by the caller; the next metric still runs
                yield metric, error
        return
    order = by_expected_cost(metrics, [options.get("out", "leaderboards"), REFERENCE_LEADERBOARDS])
    with process_pool(jobs, threads=1) as pool:
        running = {pool.submit(run_benchmark, metric, **options): metric for metric in order}
        for future in as_completed(running):
            error = future.exception()
            yield running[future], future.result() if error is None else error


def by_expected_cost(metrics: list, folders: list) -> list:
    """``metrics`` ordered by their recorded cost, costliest first: the prepare + pairwise
    seconds of their rows, summed over the suites of the first of ``folders`` that has
    rows of them (a metric's costliest parameter setting per suite). Metrics with no row
    come first (their cost is unknown), in their given order."""
    recorded: dict[str, float] = {}
    for folder in folders:
        found = recorded_seconds(folder)
        recorded.update({k: v for k, v in found.items() if k not in recorded})
    return sorted(metrics, key=lambda m: -recorded.get(m.id, float("inf")))


def recorded_seconds(folder) -> dict[str, float]:
    """``{metric id: prepare + pairwise seconds summed over suites}`` of ``folder``'s rows."""
    per_suite = []
    for path in sorted(Path(folder).glob("*.csv")) if Path(folder).is_dir() else []:
        rows = pd.read_csv(path)
        if {"metric", "prepare_seconds", "pairwise_seconds"} <= set(rows.columns):
            seconds = rows.prepare_seconds.fillna(0) + rows.pairwise_seconds.fillna(0)
            per_suite.append(seconds.groupby(rows.metric.astype(str)).max())
    return pd.concat(per_suite).groupby(level=0).sum().to_dict() if per_suite else {}
