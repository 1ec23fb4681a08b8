"""Print the README's "which metric sees what" table from the committed leaderboard rows.

    python scripts/which_metric_table.py [--leaderboards DIR] [--zoo NAME]

One row per published metric configuration: on the memory3 suite (three tasks, eleven
architectures) the architecture and task AUROCs, the AUROC of trained vs untrained
controls and the rank correlation with the fixed-point-topology distance; on the cddm
suite the activation-vs-Dale difference (Tolmachev & Engel 2025) and the rank
correlation with out-of-distribution behaviour; each with its 95 % interval. Columns
that no row of the zoo fills (e.g. control_auc on a zoo without controls) are left out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

#: (suite, score, header) of each column, in order
COLUMNS = [("memory3", "arch_auc", "arch_auc (memory3)"), ("memory3", "task_auc", "task_auc (memory3)"),
           ("memory3", "control_auc", "control_auc (memory3)"),
           ("memory3", "topology_rho", "topology_rho (memory3)"),
           ("cddm", "activation_vs_dale", "activation − Dale (cddm)"), ("cddm", "ood_rho", "ood_rho (cddm)")]


def cell(row, name):
    if row is None or pd.isna(row[name]):
        return "—"
    return f"{row[name]:.2f} [{row[f'{name}_low']:.2f}, {row[f'{name}_high']:.2f}]"


def suite_rows(folder: Path, suite: str, zoo: str) -> pd.DataFrame:
    """The zoo's rows of one suite, indexed by params with the suite's condition count
    removed (``rsa:...,n_conditions=24`` and ``n_conditions=450`` are one configuration)."""
    rows = pd.read_csv(folder / f"{suite}.csv").query("zoo == @zoo")
    return rows.set_index(rows["params"].str.replace(r",?n_conditions=\d+", "", regex=True))


def table(folder: Path, zoo: str) -> str:
    suites = {s: suite_rows(folder, s, zoo) for s in {s for s, _, _ in COLUMNS}}
    shown = [c for c in COLUMNS if suites[c[0]][c[1]].notna().any()]
    lines = ["| metric | kind | " + " | ".join(h for _, _, h in shown) + " |", "|---|---|" + "---|" * len(shown)]
    memory = suites["memory3"].sort_values(["kind", "arch_auc"], ascending=[True, False])
    only_cddm = suites["cddm"][~suites["cddm"].index.isin(memory.index)]  # ood, latent-circuit
    for key, row in pd.concat([memory, only_cddm]).iterrows():
        name = row["params"].split(":")[0] if len(row["params"]) > 40 else row["params"]
        cells = [cell(suites[s].loc[key] if key in suites[s].index else None, score) for s, score, _ in shown]
        lines.append(f"| `{name}` | {row['kind']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leaderboards", default="leaderboards")
    parser.add_argument("--zoo", default="reference")
    args = parser.parse_args()
    print(table(Path(args.leaderboards), args.zoo))
