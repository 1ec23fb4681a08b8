"""The design of a benchmark: which factors each network has, and which pairs each score compares.

A zoo is a factorial experiment. Each network belongs to a *cell* (task × architecture ×
hidden size) and is one *seed* of it; architectures decompose into factors (time
``family``, ``activation``, ``dale``, ``gated``) and untrained *controls* are derived from
trained networks (:mod:`simbench.zoo.controls`). Every separation score of the benchmark
protocol is an AUROC over a set of pairs of networks: *positive* pairs differ in the
factor the score asks about, *negative* pairs are two seeds of one cell. A
:class:`PairSet` holds those pairs; :func:`pair_sets` builds the protocol's.

======================  =====================================================  ===========================
score                   positive pairs (same task and hidden size unless said)  negative pairs
======================  =====================================================  ===========================
``arch_auc``            different architecture                                 same architecture
``task_auc``            same architecture, different task                      same architecture and task
``activation_auc``      CTRNNs differing only in activation (same Dale)        same CTRNN architecture
``dale_auc``            CTRNNs differing only in Dale's law (same activation)  same CTRNN architecture
``gating_auc``          discrete cells, one gated (GRU/LSTM/UGRNN), one not    same discrete architecture
``width_auc``           same task and architecture, different hidden size      same cell
``control_auc``         a trained network and an untrained control of its cell  two trained seeds of a cell
======================  =====================================================  ===========================

Negative pairs are always two *different* trained networks of one cell, so every AUROC
asks "are the networks that differ in this factor farther apart than two seeds of the
same cell?" (0.5: blind to it; 1: every differing pair is farther).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

#: discrete-time architectures with gates (Maheswaranathan et al. 2019: GRU, LSTM, UGRNN)
GATED = ("gru", "lstm", "ugrnn")
FACTORS = ("task", "architecture", "hidden", "family", "activation", "dale", "gated")


@dataclass(frozen=True)
class PairSet:
    """Pairs ``(i, j)``, ``i < j``, of networks and whether each is a positive pair."""

    i: np.ndarray
    j: np.ndarray
    positive: np.ndarray

    @property
    def defined(self) -> bool:
        """Both classes present: the AUROC exists."""
        return bool(self.positive.any() and (~self.positive).any())


@dataclass(frozen=True)
class Design:
    """Per-network factors of a benchmark (one row per network, in distance-matrix order).

    Columns: the :data:`FACTORS`, ``seed``, ``control`` (``""`` for trained networks,
    else ``"shuffled"`` or ``"random"``) and ``source`` (for a control, the row index of
    the trained network it was made from; for a trained network, its own index).
    """

    table: pd.DataFrame

    @classmethod
    def from_labels(cls, architecture, task, hidden=None, seed=None) -> Design:
        """A design from label arrays only (factors derived from architecture names)."""
        architecture = np.asarray(architecture, dtype=object)
        n = len(architecture)
        table = pd.DataFrame({
            "task": np.asarray(task, dtype=object), "architecture": architecture,
            "hidden": np.zeros(n, int) if hidden is None else np.asarray(hidden),
            "seed": np.arange(n) if seed is None else np.asarray(seed),
        })
        return cls(_complete(table))

    @classmethod
    def from_manifest(cls, manifest: pd.DataFrame) -> Design:
        """A design from zoo manifest rows (columns task, architecture, hidden, seed, ...)."""
        keep = [c for c in ("task", "architecture", "hidden", "seed", "family", "activation", "dale",
                            "control", "source_id") if c in manifest.columns]
        table = manifest[keep].reset_index(drop=True).copy()
        if "source_id" in table.columns:
            position = {i: k for k, i in enumerate(manifest["id"])}
            table["source"] = [position.get(s, k) if isinstance(s, str) and s else k
                               for k, s in enumerate(table.pop("source_id"))]
        return cls(_complete(table))

    def __len__(self) -> int:
        return len(self.table)

    def column(self, name: str) -> np.ndarray:
        return self.table[name].to_numpy()

    @cached_property
    def trained(self) -> np.ndarray:
        return self.column("control") == ""

    @cached_property
    def cells(self) -> np.ndarray:
        """Integer cell label (task × architecture × hidden) of each network."""
        return self.codes(("task", "architecture", "hidden"))

    def codes(self, factors: tuple[str, ...]) -> np.ndarray:
        """Integer label of each network's combination of ``factors``."""
        keys = self.table[list(factors)].astype(str).agg("|".join, axis=1)
        return pd.factorize(keys)[0]

    def subset(self, rows) -> Design:
        """The design of ``rows`` (controls keep their source only if it is kept)."""
        rows = np.asarray(rows)
        table = self.table.iloc[rows].reset_index(drop=True).copy()
        where = {old: new for new, old in enumerate(rows)}
        table["source"] = [where.get(s, k) for k, s in enumerate(table["source"])]
        return Design(table)


def _complete(table: pd.DataFrame) -> pd.DataFrame:
    """Fill the factors that follow from the architecture name, and the control columns."""
    from simbench.zoo.architectures import ARCHITECTURES

    arch = table["architecture"].astype(str)
    known = {name: a for name, a in ARCHITECTURES.items()}
    if "family" not in table:
        table["family"] = [known[a].family if a in known else "unknown" for a in arch]
    if "activation" not in table:
        table["activation"] = [known[a].activation if a in known else a for a in arch]
    if "dale" not in table:
        table["dale"] = [known[a].dale if a in known else False for a in arch]
    table["dale"] = table["dale"].astype(str).str.lower().eq("true")
    table["gated"] = arch.isin(GATED).to_numpy()
    if "control" not in table:
        table["control"] = ""
    table["control"] = table["control"].astype("string").fillna("").astype(object)
    if "source" not in table:
        table["source"] = np.arange(len(table))
    return table


def _pairs(design: Design, same: tuple[str, ...], differ: str | None, where=None) -> PairSet:
    """Trained pairs equal in ``same``; positive where they differ in ``differ``, negative
    where they share the cell (architecture and hidden size too); other pairs dropped."""
    n = len(design)
    i, j = np.triu_indices(n, k=1)
    keep = design.trained[i] & design.trained[j]
    if where is not None:
        keep &= where[i] & where[j]
    for name in same:
        values = design.column(name)
        keep &= values[i] == values[j]
    i, j = i[keep], j[keep]
    cell = design.cells
    negative = cell[i] == cell[j]
    if differ is None:
        positive = ~negative
    else:
        values = design.column(differ)
        positive = values[i] != values[j]
        others = [f for f in ("family", "activation", "dale", "gated", "hidden") if f != differ and f not in same]
        for name in others:  # "differing only in" the factor
            other = design.column(name)
            positive &= other[i] == other[j]
    use = positive | negative
    return PairSet(i[use], j[use], positive[use])


def control_pairs(design: Design) -> PairSet:
    """Trained–control pairs of one cell (positive) and trained–trained pairs of one cell."""
    n = len(design)
    i, j = np.triu_indices(n, k=1)
    cell, trained = design.cells, design.trained
    same_cell = cell[i] == cell[j]
    both = trained[i] & trained[j]
    mixed = trained[i] != trained[j]
    use = same_cell & (both | mixed)
    return PairSet(i[use], j[use], mixed[use])


def pair_sets(design: Design) -> dict[str, PairSet]:
    """The pair set of every AUROC score of the protocol (see the module table)."""
    family = design.column("family")
    continuous, discrete = family == "continuous", family == "discrete"
    sets = {
        "arch_auc": _pairs(design, ("task", "hidden"), None),
        "task_auc": _pairs(design, ("architecture", "hidden"), "task"),
        "activation_auc": _pairs(design, ("task", "hidden", "dale"), "activation", continuous),
        "dale_auc": _pairs(design, ("task", "hidden", "activation"), "dale", continuous),
        "gating_auc": _pairs(design, ("task", "hidden"), "gated", discrete),
        "width_auc": _pairs(design, ("task", "architecture"), "hidden"),
    }
    if not design.trained.all():
        sets["control_auc"] = control_pairs(design)
    return sets
