"""The seed papers' claims next to the zoo's numbers: a Markdown report with figures.

``write_report(leaderboards, zoo, out)`` reads published leaderboard rows (nothing is
recomputed) and writes ``out/README.md`` plus MDS figures of the key metrics. Each
claim is stated, tested by a rule on the rows' 95 % intervals, and reported as
*supported*, *contradicted* or *not decided* (an interval that spans the threshold),
with the numbers behind it; a claim whose metric has no published row says so.

Claims (the papers' words, paraphrased):

- Maheswaranathan et al. (NeurIPS 2019): (M1) representational geometry (SVCCA, CCA,
  Procrustes) separates architectures trained on the same task: ``arch_auc`` > 0.5;
  (M2) the fixed-point topology is shared across architectures: ``fp-topology``'s
  ``arch_auc`` is below the geometry metrics' (the paired bootstrap interval of the
  difference lies above 0) and it separates tasks (``task_auc`` > 0.5).
- Tolmachev & Engel (Nat. Mach. Intell. 2025): the activation function shapes the
  solution more than Dale's law does, in trajectories (``traj-lsq``), single-unit
  selectivity (``selectivity``), fixed-point configurations (``fp-config``), OOD
  behaviour (``ood``) and latent circuits (``latent-circuit``): ``activation_vs_dale``
  > 0 on the CDDM suite.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

GEOMETRY = ("svcca", "cca", "procrustes")
TOPOLOGY = "fp-topology"
PAPER_B_METRICS = ("traj-lsq", "selectivity", "fp-config", "ood", "latent-circuit", "endpoints")
FIGURES = (("cddm", "traj-lsq"), ("cddm", "fp-config"), ("memory3", "cca"), ("memory3", "fp-topology"))


@dataclass
class Claim:
    paper: str
    claim: str
    suite: str
    metric: str
    evidence: str
    verdict: str


def _interval(row, name: str) -> str:
    return f"{row[name]:.2f} [{row[f'{name}_low']:.2f}, {row[f'{name}_high']:.2f}]"


def above(row, name: str, threshold: float) -> str:
    """``supported`` if the interval lies above ``threshold``, ``contradicted`` if below."""
    low, high = row[f"{name}_low"], row[f"{name}_high"]
    if not (np.isfinite(low) and np.isfinite(high)):
        return "not defined"
    return "supported" if low > threshold else "contradicted" if high < threshold else "not decided"


def load_rows(leaderboards, zoo: str) -> pd.DataFrame:
    tables = [pd.read_csv(p, keep_default_na=False, na_values=[""]) for p in sorted(Path(leaderboards).glob("*.csv"))]
    if not tables:
        raise FileNotFoundError(f"{leaderboards}: no leaderboard CSVs; run `simbench run` first")
    table = pd.concat(tables, ignore_index=True)
    return table[table["zoo"] == zoo]


def _first(rows: pd.DataFrame, suite: str, metric: str):
    match = rows[(rows["suite"] == suite) & (rows["metric"] == metric)]
    return None if match.empty else match.iloc[0]


def paired_difference(leaderboards, zoo, suite: str, row_a, row_b, score: str, n_boot: int = 1000,
                      seed: int = 0) -> dict:
    """``score`` of row a minus row b with a 95 % interval from the *same* design-bootstrap
    draws on both saved matrices (a paired comparison, tighter and more honest than
    comparing two marginal intervals)."""
    from simbench.bench.bootstrap import cluster_weights, percentile_hull
    from simbench.bench.design import Design
    from simbench.bench.leaderboard import load_distances
    from simbench.bench.rows import LEVEL, SCHEME
    from simbench.bench.scores import ScoreFunction

    a = load_distances(leaderboards, suite, row_a["params"])
    b = load_distances(leaderboards, suite, row_b["params"]).loc[a.index, a.index]
    manifest = zoo.manifest.set_index("id").loc[list(a.index)].reset_index()
    design = Design.from_manifest(manifest)
    weights = np.vstack([np.ones((1, len(design))),
                         cluster_weights(design, n_boot, np.random.default_rng(seed), SCHEME)])
    draws = (ScoreFunction(a.to_numpy(float), design)(weights)[score]
             - ScoreFunction(b.to_numpy(float), design)(weights)[score])
    point = float(draws[0])
    low, high = percentile_hull(draws[1:], point, LEVEL)
    return {"difference": point, "difference_low": low, "difference_high": high}


def maheswaranathan_claims(rows: pd.DataFrame, leaderboards=None, zoo=None) -> list[Claim]:
    """M1 and M2 on every suite (module docstring); M2's comparison is paired when the
    saved matrices and the zoo are given."""
    paper = "Maheswaranathan et al. 2019"
    claims = []
    for suite in sorted(rows["suite"].unique()):
        topo = _first(rows, suite, TOPOLOGY)
        for metric in GEOMETRY:
            row = _first(rows, suite, metric)
            if row is None:
                continue
            claims.append(Claim(paper, "geometry separates architectures within a task", suite, metric,
                                f"arch_auc {_interval(row, 'arch_auc')}", above(row, "arch_auc", 0.5)))
            if topo is not None and zoo is not None:
                diff = paired_difference(leaderboards, zoo, suite, row, topo, "arch_auc")
                claims.append(Claim(paper, "topology is shared across architectures (less architecture "
                                    "signal than geometry)", suite, f"{metric} − {TOPOLOGY}",
                                    f"arch_auc difference {_interval(diff, 'difference')}",
                                    above(diff, "difference", 0.0)))
        if topo is not None and np.isfinite(topo["task_auc"]):
            claims.append(Claim(paper, "topology separates tasks (scaffolds)", suite, TOPOLOGY,
                                f"task_auc {_interval(topo, 'task_auc')}", above(topo, "task_auc", 0.5)))
    return claims


PAPER_B_SUITES = ("cddm", "gonogo", "memorynumber")


def _defined_on(metric_id: str, suite: str) -> bool:
    """Whether a metric is defined on a suite (``ood`` and ``latent-circuit``: cddm only)."""
    from simbench.bench.run import applies_to
    from simbench.metrics import get_metric

    return applies_to(get_metric(metric_id), suite)


def tolmachev_claims(rows: pd.DataFrame, suites=PAPER_B_SUITES) -> list[Claim]:
    """Activation dominates Dale's law, per analysis of the paper (module docstring), on
    the paper's tasks that the zoo has rows for (each with the metrics defined on it)."""
    paper = "Tolmachev & Engel 2025"
    claims = []
    for suite in [s for s in suites if s in set(rows["suite"])]:
        for metric in [m for m in PAPER_B_METRICS if _defined_on(m, suite)]:
            row = _first(rows, suite, metric)
            if row is None:
                claims.append(Claim(paper, "activation dominates Dale's law", suite, metric, "no published row",
                                    "not run"))
                continue
            evidence = (f"activation_auc {_interval(row, 'activation_auc')}, dale_auc "
                        f"{_interval(row, 'dale_auc')}, difference {_interval(row, 'activation_vs_dale')}")
            claims.append(Claim(paper, "activation dominates Dale's law", suite, metric, evidence,
                                above(row, "activation_vs_dale", 0.0)))
    return claims


def figures(leaderboards, zoo, rows: pd.DataFrame, out: Path) -> list[Path]:
    """MDS plots of the key metrics' saved distances (those that are published)."""
    from simbench.bench.leaderboard import load_distances
    from simbench.bench.plots import mds_plot

    made = []
    for suite, metric in FIGURES:
        row = _first(rows, suite, metric)
        if row is None:
            continue
        distances = load_distances(leaderboards, suite, row["params"])
        made.append(mds_plot(distances, zoo.manifest, f"{row['params']} — {suite}", out / f"mds-{suite}-{metric}.png"))
    return made


def render(claims: list[Claim], pictures: list[Path], zoo_name: str, zoo_hash: str) -> str:
    lines = [f"# The seed papers' claims on zoo `{zoo_name}`", "",
             "Written by `simbench report` from the published leaderboard rows (95 % design-bootstrap "
             "intervals; `leaderboards/README.md`). A claim is *supported* when its interval lies on the "
             "claimed side, *contradicted* when it lies on the other, *not decided* otherwise.",
             "", f"Zoo hash `{zoo_hash}`.", ""]
    for paper in dict.fromkeys(c.paper for c in claims):
        lines += [f"## {paper}", "", "| claim | suite | metric | numbers | verdict |", "|---|---|---|---|---|"]
        lines += [f"| {c.claim} | {c.suite} | `{c.metric}` | {c.evidence} | **{c.verdict}** |"
                  for c in claims if c.paper == paper]
        lines.append("")
    disagree = [c for c in claims if c.verdict in ("contradicted", "not decided")]
    lines += ["## Where the zoo disagrees with a paper, or cannot decide", ""]
    lines += [f"- {c.paper}, {c.suite}, `{c.metric}`: {c.claim} — {c.verdict} ({c.evidence})." for c in disagree]
    if not disagree:
        lines.append("- Nowhere: every tested claim is supported.")
    lines += ["", "## Figures", ""] + [f"![{p.stem}]({p.name})" for p in pictures]
    return "\n".join(lines) + "\n"


def write_report(leaderboards, zoo, out) -> Path:
    """Write ``out/README.md`` and its PNG figures; returns the Markdown path."""
    from simbench.zoo.store import atomic_write_text

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = load_rows(leaderboards, zoo.path.name)
    if rows.empty:
        raise ValueError(f"{leaderboards}: no rows of zoo {zoo.path.name!r}")
    claims = maheswaranathan_claims(rows, leaderboards, zoo) + tolmachev_claims(rows)
    pictures = figures(leaderboards, zoo, rows, out)
    path = out / "README.md"
    atomic_write_text(path, render(claims, pictures, zoo.path.name, zoo.hash[:16]))
    return path
