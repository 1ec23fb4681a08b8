"""Place your own network or recording among a zoo's networks, with one metric.

Is a distance of 0.4 between my model and the zoo large or small? :func:`place` answers
it against a reference distribution: the distances between the zoo's own networks of
one suite, trained on known tasks with known architectures.

The subject is either a **network** (any object with ``step(h, u)``, ``readout(h)`` and
``initial_state(batch)``, e.g. :class:`simbench.zoo.adapters.TorchRNNAdapter` around a
trained ``nn.GRU``), recorded on the suite's probe set (:func:`~simbench.bench.recordings.record`),
or a **recording** ``[conditions, time, units]`` already made on the probe inputs
(``simbench probe SUITE``, :mod:`simbench.bench.recordings`). Its metric state is
compared with every passed network of the suite (zoo states come from the prepared-state
cache, keyed by content hash: :func:`~simbench.bench.run.prepared_states`). Reported:

- ``distances`` / ``nearest``: every zoo network (id, task, architecture, distance), nearest first.
- ``cells``: per task × architecture cell c with members m₁…m_n, the subject's distances
  dᵢ = D(x, mᵢ) against the cell's *within-cell distribution* W_c = {D(mᵢ, mⱼ) : i < j}:
  ``percentile`` = 100 · meanᵢ F_c(dᵢ), with the mid-rank empirical CDF
  F_c(d) = (#{w ∈ W_c : w < d} + ½ #{w ∈ W_c : w = d}) / |W_c|. About 50 is what one more
  seed of that cell would score (it is exchangeable with the members); 0: nearer to every
  member than any two members are to each other; 100: farther than every within-cell
  pair. NaN for a cell of one network. ``distance`` is the median dᵢ.
- ``calls``: 1-NN calls. Task: the task of the nearest network. Architecture: the
  architecture of the nearest network *among those of the called task*. Next to each,
  ``zoo_loo``: the leave-one-out accuracy of exactly this rule over the zoo's networks
  (this distance matrix), and ``knn``/``knn_low``/``knn_high``: the metric's leaderboard
  1-NN accuracy with its interval (``leaderboards/<suite>.csv``, the row of this metric's
  parameters; there ``knn_task`` looks for neighbours among networks of the same
  architecture and ``knn_arch`` among those of the same task, :mod:`simbench.bench.scores`,
  so the two rules are close but not identical).
- ``mds``: 2-D metric MDS of the zoo's networks and the subject (row id ``"yours"``);
  :meth:`Placement.save_figures` draws it (:func:`~simbench.bench.plots.placement_plot`).
- For a network: ``fixed_points`` and ``topology`` of the subject (:func:`simbench.dynamics.analyse`)
  and of its nearest zoo network (:func:`simbench.dynamics.cache.zoo_dynamics`: committed
  with the zoo, cached, or computed), and their ``fp-topology`` distance.

The zoo-by-zoo matrix is read from the published ``leaderboards/distances`` when the
leaderboard row names this exact set of networks (its zoo hash) and a spot check of a
few pairs recomputed from the states agrees; otherwise it is computed (:func:`zoo_matrix`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from simbench.bench.engine import all_pairs
from simbench.bench.leaderboard import leaderboard_path, load_distances
from simbench.bench.plots import mds_embedding
from simbench.bench.recordings import check_recording, load_recording, network_like, record
from simbench.bench.run import TOPOLOGY_METRIC, default_zoo, for_suite, prepared_states
from simbench.dynamics import AnalysisOptions, DynamicsResult, analyse, constant_inputs
from simbench.dynamics.cache import zoo_dynamics
from simbench.metrics import Metric, get_metric
from simbench.zoo.store import Zoo, load_zoo
from simbench.zoo.tasks import get_suite

SUBJECT = "yours"
LEADERBOARDS = Path(__file__).resolve().parents[2] / "leaderboards"


@dataclass
class Placement:
    """What :func:`place` found (module doc); the tables are pandas DataFrames."""

    metric: str
    suite: str
    zoo: str
    distances: pd.DataFrame
    nearest: pd.DataFrame
    cells: pd.DataFrame
    calls: pd.DataFrame
    mds: pd.DataFrame
    zoo_distance: pd.DataFrame
    fixed_points: pd.DataFrame | None = None
    topology: pd.DataFrame | None = None
    topology_distance: float | None = None
    dynamics: dict[str, DynamicsResult] = field(default_factory=dict)
    trajectories: dict[str, np.ndarray] = field(default_factory=dict)

    def save_figures(self, folder) -> list[Path]:
        """The MDS figure and, for a network, the fixed-point figures of it and its nearest."""
        from simbench.bench.plots import placement_plot
        from simbench.dynamics.plot import fixed_point_plot

        folder = Path(folder)
        tag = self.metric.split(":")[0]
        paths = [placement_plot(self.mds, SUBJECT, f"{self.metric} — {self.suite}: yours among the zoo",
                                folder / f"place-{self.suite}-{tag}.png")]
        for name, result in self.dynamics.items():
            paths.append(fixed_point_plot(result, self.trajectories[name], folder / f"place-{name}-fixed-points.png",
                                          f"{name}: fixed points coloured by unstable dimensions"))
        return paths


def place(subject, suite: str, metric="cca", zoo=None, *, exclude=(), n_nearest: int = 5,
          leaderboards=LEADERBOARDS, analysis: AnalysisOptions | None = None, seed: int = 0) -> Placement:
    """Place a network or recording among ``zoo``'s passed networks of ``suite`` (module doc).

    ``subject``: a Network-like object, a recording ``[conditions, time, units]`` (array or
    tensor) or the path of an ``.npz`` holding one (``states``). ``metric``: an id with
    parameters (``"shape:alpha=0.5"``) or a Metric; dynamics metrics need a network.
    ``zoo``: a Zoo or its folder (default: the committed reference zoo). ``exclude``: zoo
    ids left out (e.g. to place a zoo network as if it were new). ``leaderboards``: the
    folder of published rows and matrices (None: compute everything, no leaderboard
    accuracy). ``analysis``: options of the fixed-point analysis (default: the metric's,
    else :class:`~simbench.dynamics.AnalysisOptions`). ``seed``: of the MDS layout.
    """
    get_suite(suite)
    if not isinstance(n_nearest, int) or n_nearest < 1:
        raise ValueError(f"n_nearest must be a positive integer, got {n_nearest!r}")
    metric = for_suite(metric if isinstance(metric, Metric) else get_metric(metric), suite)
    options = _analysis_options(metric, analysis)
    full, kept = suite_networks(zoo, suite, exclude)
    network, states = _subject(subject, suite)
    mine = _analyse(network, suite, options) if network is not None else None
    state = _prepare_subject(metric, states, mine)
    zoo_states, _ = prepared_states(metric, kept)
    d = np.array([metric.distance(state, s) for s in zoo_states])
    D = zoo_matrix(metric, zoo_states, kept, full, leaderboards)
    info = kept.manifest[["id", "task", "architecture"]].reset_index(drop=True)
    table = info.assign(distance=d).sort_values("distance", kind="stable").reset_index(drop=True)
    row = _leaderboard_row(leaderboards, suite, metric.name, full)
    placement = Placement(metric=metric.name, suite=suite, zoo=str(kept.path), distances=table,
                          nearest=table.head(n_nearest), cells=cell_percentiles(d, D, info),
                          calls=nn_calls(d, D, info, row), mds=_mds(d, D, info, seed),
                          zoo_distance=pd.DataFrame(D, index=info.id, columns=info.id))
    if mine is not None:
        _add_dynamics(placement, kept, table.id[0], mine, states, options)
    return placement


def _analysis_options(metric: Metric, analysis: AnalysisOptions | None) -> AnalysisOptions:
    """``analysis``, else the dynamics metric's own options, else the defaults."""
    own = getattr(metric, "analysis_options", None)
    if own is not None and analysis is not None and analysis != own:
        raise ValueError(f"{metric.id} analyses the zoo's networks with its own options: set them in the "
                         f"metric's parameters ({metric.name}), not with analysis=")
    return analysis or own or AnalysisOptions()


def suite_networks(zoo, suite: str, exclude=()) -> tuple[Zoo, Zoo]:
    """``(every passed network of suite, the same without exclude)``; ValueError if too few."""
    zoo = zoo if isinstance(zoo, Zoo) else (load_zoo(zoo) if zoo is not None else default_zoo())
    full = zoo.filter(suite=suite, passed=True)
    unknown = sorted(set(exclude) - set(full.ids))
    if unknown:
        raise ValueError(f"exclude: {', '.join(unknown)} not among the passed {suite} networks of {zoo.path}")
    kept = full.filter(id=[i for i in full.ids if i not in set(exclude)])
    if len(kept) < 2:
        raise ValueError(f"suite {suite!r}: {len(kept)} passed network(s) in {zoo.path}; need 2 to place against")
    return full, kept


def _subject(subject, suite: str) -> tuple[object | None, np.ndarray]:
    """``(network or None, states [C, T, S])`` of what the user passed."""
    if isinstance(subject, (str, Path)):
        return None, check_recording(load_recording(subject), suite, f"recording {subject}")
    if callable(getattr(subject, "step", None)):
        network = network_like(subject, suite)
        return network, record(network, suite)
    if hasattr(subject, "shape"):
        return None, check_recording(subject, suite)
    raise TypeError(f"cannot place a {type(subject).__name__}: give a network (step(h, u), readout(h), "
                    "initial_state(batch)), a recording [conditions, time, units] or an .npz path")


def _analyse(network, suite: str, options: AnalysisOptions) -> DynamicsResult:
    """The fixed-point analysis of the user's network on the suite's probe and constant inputs."""
    constants, labels = constant_inputs(suite)
    inputs = get_suite(suite).probe_trials().inputs
    return analyse(network, inputs=inputs, constants=constants, labels=labels, options=options)


def _prepare_subject(metric: Metric, states: np.ndarray, dynamics: DynamicsResult | None):
    if getattr(metric, "input", "recording") == "network":
        if dynamics is None:
            raise ValueError(f"{metric.id} compares networks' dynamics (fixed points): it needs your network, "
                             "not a recording; place a recording with a geometry metric (e.g. cca)")
        return metric.prepare(dynamics, label="your network")
    return metric.prepare(states.reshape(-1, states.shape[-1]), label="your recording")


def zoo_matrix(metric: Metric, states: list, kept: Zoo, full: Zoo, leaderboards, checks: int = 3) -> np.ndarray:
    """Distances between ``kept``'s networks: the published matrix when it is of ``full``'s
    networks and ``checks`` recomputed pairs agree with it (to 1e-6), else computed."""
    published = _published_matrix(metric, kept, full, leaderboards)
    n = len(states)
    if published is not None:
        # pairs (k, n − 1 − k), k spread over the first half: the first and last network included
        pairs = {(k, n - 1 - k) for k in np.linspace(0, n // 2 - 1, checks).astype(int)}
        if all(abs(metric.distance(states[i], states[j]) - published[i, j]) <= 1e-6 * (1 + abs(published[i, j]))
               for i, j in pairs):
            return published
    return all_pairs(metric, states)[0]


def _published_matrix(metric: Metric, kept: Zoo, full: Zoo, leaderboards) -> np.ndarray | None:
    suite = str(kept.manifest.suite.iloc[0])
    if _leaderboard_row(leaderboards, suite, metric.name, full, exact=True) is None:
        return None
    try:
        frame = load_distances(leaderboards, suite, metric.name)
    except FileNotFoundError:
        return None
    if not set(kept.ids) <= set(frame.index) or not set(kept.ids) <= set(frame.columns):
        return None
    return frame.loc[kept.ids, kept.ids].to_numpy(dtype=float)


def _leaderboard_row(leaderboards, suite: str, name: str, full: Zoo, exact: bool = False) -> dict | None:
    """The leaderboard row of metric ``name`` on ``full``'s networks (its zoo hash), else
    (unless ``exact``) on a zoo of the same folder name; None if there is none."""
    if leaderboards is None or not leaderboard_path(leaderboards, suite).exists():
        return None
    table = pd.read_csv(leaderboard_path(leaderboards, suite), keep_default_na=False, na_values=[""])
    rows = table[table.params.astype(str) == name]
    same = rows[rows.zoo_hash.astype(str) == full.hash[:16]]
    if same.empty and not exact:
        same = rows[rows.zoo.astype(str) == full.path.name]
    return None if same.empty else same.iloc[0].to_dict()


def cell_percentiles(d: np.ndarray, D: np.ndarray, info: pd.DataFrame) -> pd.DataFrame:
    """Per task × architecture cell: the subject's distances against the within-cell
    distribution (module doc), nearest cell (smallest median distance) first."""
    rows = []
    for (task, arch), idx in info.groupby(["task", "architecture"], sort=False).indices.items():
        within = D[np.ix_(idx, idx)][np.triu_indices(len(idx), k=1)]
        mine = d[idx]
        if within.size:
            cdf = [(within < x).mean() + 0.5 * (within == x).mean() for x in mine]
            percentile, within_median = 100 * float(np.mean(cdf)), float(np.median(within))
        else:
            percentile = within_median = float("nan")
        rows.append({"task": task, "architecture": arch, "n_networks": len(idx), "distance": float(np.median(mine)),
                     "within_median": within_median, "percentile": percentile})
    return pd.DataFrame(rows).sort_values("distance", kind="stable").reset_index(drop=True)


def _calls(d: np.ndarray, task: np.ndarray) -> tuple[int, int]:
    """Indices of the nearest network and of the nearest among those of its task."""
    first = int(np.argmin(d))
    same = np.where(task == task[first], d, np.inf)
    return first, int(np.argmin(same))


def loo_accuracy(D: np.ndarray, task: np.ndarray, arch: np.ndarray) -> tuple[float, float]:
    """Leave-one-out accuracy of the task and architecture calls of :func:`nn_calls` on the zoo."""
    hits = np.zeros((len(D), 2), dtype=bool)
    for i in range(len(D)):
        d = D[i].astype(float).copy()
        d[i] = np.inf
        first, second = _calls(d, task)
        hits[i] = task[first] == task[i], arch[second] == arch[i]
    return float(hits[:, 0].mean()), float(hits[:, 1].mean())


def nn_calls(d: np.ndarray, D: np.ndarray, info: pd.DataFrame, row: dict | None) -> pd.DataFrame:
    """The 1-NN task and architecture calls, with their zoo and leaderboard accuracies (module doc)."""
    task, arch = info.task.to_numpy(), info.architecture.to_numpy()
    first, second = _calls(d, task)
    loo = loo_accuracy(D, task, arch)
    row = row or {}
    out = []
    for k, (factor, column, pick) in enumerate((("task", "task", first), ("architecture", "arch", second))):
        out.append({"factor": factor, "call": info[factor][pick], "nearest": info.id[pick],
                    "distance": float(d[pick]), "zoo_loo": loo[k],
                    "knn": row.get(f"knn_{column}", np.nan), "knn_low": row.get(f"knn_{column}_low", np.nan),
                    "knn_high": row.get(f"knn_{column}_high", np.nan), "leaderboard_zoo": row.get("zoo", "")})
    return pd.DataFrame(out)


def _mds(d: np.ndarray, D: np.ndarray, info: pd.DataFrame, seed: int) -> pd.DataFrame:
    """MDS coordinates of the zoo's networks and the subject (last row, id ``SUBJECT``)."""
    full = np.block([[D, d[:, None]], [d[None, :], np.zeros((1, 1))]])
    xy = mds_embedding(full, seed)
    rows = pd.concat([info, pd.DataFrame([{"id": SUBJECT, "task": "", "architecture": ""}])], ignore_index=True)
    return rows.assign(x=xy[:, 0], y=xy[:, 1])


def _add_dynamics(placement: Placement, kept: Zoo, nearest: str, mine: DynamicsResult, states: np.ndarray,
                  options: AnalysisOptions) -> None:
    """Fixed points and topology of the subject and of its nearest zoo network (whose
    analysis comes from the zoo's committed analyses or cache when stored there)."""
    theirs = zoo_dynamics(kept, [nearest], options)[0]
    placement.dynamics = {SUBJECT: mine, nearest: theirs}
    placement.trajectories = {SUBJECT: states, nearest: kept.recording(nearest).states}
    placement.fixed_points = pd.concat([r.summary().assign(network=name) for name, r in placement.dynamics.items()],
                                       ignore_index=True)
    placement.topology = pd.DataFrame([topology_row(name, r, k) for name, r in placement.dynamics.items()
                                       for k in range(r.n_conditions)])
    placement.topology_distance = get_metric(TOPOLOGY_METRIC).distance(mine, theirs)


def topology_row(name: str, result: DynamicsResult, condition: int) -> dict:
    """One condition's topology graph in a row: nodes by kind and edges by the unstable
    dimensions of their ends (``"1→0 ×24"``: 24 trajectories from 1-D saddles to attractors)."""
    graph = result.graph(condition)
    kinds = [graph.nodes[v]["kind"] for v in graph.nodes]

    def end(v):
        return str(int(result.fp_unstable[v[1]])) if v[0] == "fp" else v[0]

    edges: dict[str, int] = {}
    for u, v, weight in graph.edges(data="weight"):
        key = f"{end(u)}→{end(v)}"
        edges[key] = edges.get(key, 0) + weight
    return {"network": name, "condition": result.conditions[condition], "nodes": graph.number_of_nodes(),
            "fixed_points": kinds.count("fp"), "cycles": kinds.count("cycle"), "rest": kinds.count("rest"),
            "edges": graph.number_of_edges(),
            "transitions": ", ".join(f"{k} ×{n}" for k, n in sorted(edges.items())) or "none"}
