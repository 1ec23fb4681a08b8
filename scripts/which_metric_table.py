"""Print the README's "which metric sees what" table from the committed leaderboard rows.

    python scripts/which_metric_table.py [--leaderboards DIR] [--zoo NAME]

One row per published metric configuration: architecture and task AUROCs on the
memory3 suite (three tasks, eleven architectures), the rank correlation with the
fixed-point-topology distance there, and the activation-vs-Dale difference on the
cddm suite (Tolmachev & Engel 2025), each with its 95 % interval.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def cell(row, name):
    value, low, high = row[name], row[f"{name}_low"], row[f"{name}_high"]
    return "—" if pd.isna(value) else f"{value:.2f} [{low:.2f}, {high:.2f}]"


def table(folder: Path, zoo: str) -> str:
    memory = pd.read_csv(folder / "memory3.csv").query("zoo == @zoo").set_index("params")
    cddm = pd.read_csv(folder / "cddm.csv").query("zoo == @zoo").set_index("params")
    lines = ["| metric | kind | arch_auc (memory3) | task_auc (memory3) | topology_rho (memory3) | "
             "activation − Dale (cddm) |", "|---|---|---|---|---|---|"]
    for params, row in memory.sort_values(["kind", "arch_auc"], ascending=[True, False]).iterrows():
        other = cddm.loc[params.replace("n_conditions=24", "n_conditions=450")] if params.replace(
            "n_conditions=24", "n_conditions=450") in cddm.index else None
        diff = cell(other, "activation_vs_dale") if other is not None else "—"
        lines.append(f"| `{params.split(':')[0] if len(params) > 40 else params}` | {row['kind']} | "
                     f"{cell(row, 'arch_auc')} | {cell(row, 'task_auc')} | {cell(row, 'topology_rho')} | {diff} |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leaderboards", default="leaderboards")
    parser.add_argument("--zoo", default="reference")
    args = parser.parse_args()
    print(table(Path(args.leaderboards), args.zoo))
