"""Print the README's "which metric sees what" table from the committed leaderboard rows.

    python scripts/which_metric_table.py [--leaderboards DIR] [--zoo NAME] [--factor-suite SUITE]

One row per published metric configuration: on the memory3 suite (three tasks, eleven
architectures) the architecture and task AUROCs, the AUROC of trained vs untrained
controls, the AUROC of a width change (64 vs 32 units) and the rank correlation with the
fixed-point-topology distance; on ``--factor-suite`` (default cddm) the
activation-vs-Dale difference (Tolmachev & Engel 2025); on cddm the rank correlation
with out-of-distribution behaviour; each with its 95 % interval. Columns that no row of
the zoo fills (e.g. control_auc on a zoo without controls) are left out. A row computed
on a documented subsample (``--seeds-per-cell K``) is marked "(K seeds/cell)".

``--by-suite SCORE`` prints instead one score on every suite (does a metric's verdict on
memory3 hold on the other suites?).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from simbench.zoo.tasks import SUITES


def columns(factor_suite: str = "cddm") -> list[tuple[str, str, str]]:
    """(suite, score, header) of each column, in order."""
    return [("memory3", "arch_auc", "arch_auc (memory3)"), ("memory3", "task_auc", "task_auc (memory3)"),
            ("memory3", "control_auc", "control_auc (memory3)"), ("memory3", "width_auc", "width_auc (memory3)"),
            ("memory3", "topology_rho", "topology_rho (memory3)"),
            (factor_suite, "activation_vs_dale", f"activation − Dale ({factor_suite})"),
            ("cddm", "ood_rho", "ood_rho (cddm)")]


def cell(row, name):
    if row is None or pd.isna(row[name]):
        return "—"
    return f"{row[name]:.2f} [{row[f'{name}_low']:.2f}, {row[f'{name}_high']:.2f}]"


def suite_rows(folder: Path, suite: str, zoo: str) -> pd.DataFrame:
    """The zoo's rows of one suite, indexed by params with the suite's condition count
    removed (``rsa:...,n_conditions=24`` and ``n_conditions=450`` are one configuration)."""
    rows = pd.read_csv(folder / f"{suite}.csv").query("zoo == @zoo")
    return rows.set_index(rows["params"].str.replace(r",?n_conditions=\d+", "", regex=True))


def label_of(row) -> str:
    """A row's name in a table: its params (its id when they are long), marked
    "(K seeds/cell)" when computed on a documented subsample."""
    name = row["params"].split(":")[0] if len(row["params"]) > 40 else row["params"]
    label = f"`{name}`"
    if pd.notna(row.get("seeds_per_cell")):  # a documented subsample: say so
        label += f" ({int(row['seeds_per_cell'])} seeds/cell)"
    return label


def by_suite(folder: Path, zoo: str, score: str) -> str:
    """One score of every metric configuration on every suite of ``folder`` (a column per
    suite, in :data:`~simbench.zoo.tasks.SUITES` order, each cell the estimate and its 95 %
    interval; a suite where the score is undefined for every row, e.g. task_auc on
    one-task cddm, is left out, and so is a metric that has it on no suite). Rows in the
    order of the memory3 ``score``."""
    suites = {s: suite_rows(folder, s, zoo) for s in SUITES if (folder / f"{s}.csv").exists()}
    suites = {s: rows for s, rows in suites.items() if rows[score].notna().any()}
    order = next(iter(suites.values())).sort_values(score, ascending=False).index
    keys = list(dict.fromkeys([*order, *pd.concat(suites.values()).index]))
    lines = ["| metric | " + " | ".join(suites) + " |", "|---|" + "---|" * len(suites)]
    for key in keys:
        row = next(rows.loc[key] for rows in suites.values() if key in rows.index)
        cells = [cell(rows.loc[key] if key in rows.index else None, score) for rows in suites.values()]
        if set(cells) != {"—"}:  # a metric without this score anywhere is left out
            lines.append(f"| {label_of(row)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table(folder: Path, zoo: str, factor_suite: str = "cddm") -> str:
    wanted = columns(factor_suite)
    suites = {s: suite_rows(folder, s, zoo) for s in {s for s, _, _ in wanted} | {"memory3", "cddm"}}
    shown = [c for c in wanted if suites[c[0]][c[1]].notna().any()]
    lines = ["| metric | kind | " + " | ".join(h for _, _, h in shown) + " |", "|---|---|" + "---|" * len(shown)]
    memory = suites["memory3"].sort_values(["kind", "arch_auc"], ascending=[True, False])
    only_cddm = suites["cddm"][~suites["cddm"].index.isin(memory.index)]  # ood, latent-circuit
    for key, row in pd.concat([memory, only_cddm]).iterrows():
        cells = [cell(suites[s].loc[key] if key in suites[s].index else None, score) for s, score, _ in shown]
        lines.append(f"| {label_of(row)} | {row['kind']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leaderboards", default="leaderboards")
    parser.add_argument("--zoo", default="reference")
    parser.add_argument("--factor-suite", default="cddm", help="suite of the activation − Dale column")
    parser.add_argument("--by-suite", metavar="SCORE", help="instead: this score on every suite")
    args = parser.parse_args()
    if args.by_suite:
        print(by_suite(Path(args.leaderboards), args.zoo, args.by_suite))
    else:
        print(table(Path(args.leaderboards), args.zoo, args.factor_suite))
