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
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


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


def table(folder: Path, zoo: str, factor_suite: str = "cddm") -> str:
    wanted = columns(factor_suite)
    suites = {s: suite_rows(folder, s, zoo) for s in {s for s, _, _ in wanted} | {"memory3", "cddm"}}
    shown = [c for c in wanted if suites[c[0]][c[1]].notna().any()]
    lines = ["| metric | kind | " + " | ".join(h for _, _, h in shown) + " |", "|---|---|" + "---|" * len(shown)]
    memory = suites["memory3"].sort_values(["kind", "arch_auc"], ascending=[True, False])
    only_cddm = suites["cddm"][~suites["cddm"].index.isin(memory.index)]  # ood, latent-circuit
    for key, row in pd.concat([memory, only_cddm]).iterrows():
        name = row["params"].split(":")[0] if len(row["params"]) > 40 else row["params"]
        label = f"`{name}`"
        if pd.notna(row.get("seeds_per_cell")):  # a documented subsample: say so
            label += f" ({int(row['seeds_per_cell'])} seeds/cell)"
        cells = [cell(suites[s].loc[key] if key in suites[s].index else None, score) for s, score, _ in shown]
        lines.append(f"| {label} | {row['kind']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leaderboards", default="leaderboards")
    parser.add_argument("--zoo", default="reference")
    parser.add_argument("--factor-suite", default="cddm", help="suite of the activation − Dale column")
    args = parser.parse_args()
    print(table(Path(args.leaderboards), args.zoo, args.factor_suite))
