"""Print which built-in metric has a published row on which suite of a leaderboard folder.

    python scripts/benchmark_status.py [--leaderboards leaderboards/benchmark] [--zoo benchmark]

A Markdown table, one row per built-in metric (``simbench.metrics`` entry points of this
package; plugins left out), one column per suite: ``✓`` (every network above threshold),
``K/cell`` (the K lowest seeds of each cell, ``--seeds-per-cell K``), ``·`` (the metric is
not defined on that suite) or empty (not published yet). The benchmark leaderboard's
README shows it, so a reader sees what the tables cover while the zoo's runs are filled in.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from simbench.metrics import available_metrics, get_metric
from simbench.zoo.tasks import SUITES


def built_in_metrics() -> list[str]:
    """Ids of the metrics that simbench itself registers (not those of plugins)."""
    return [m.id for m in available_metrics() if m.loaded and m.source.startswith("simbench.")]


def mark(rows: pd.DataFrame, metric: str, suite: str) -> str:
    defined = getattr(type(get_metric(metric)), "suites", None)
    if defined and suite not in defined:
        return "·"
    found = rows[rows.metric == metric]
    if found.empty:
        return ""
    per_cell = found.seeds_per_cell.dropna()
    return f"{int(per_cell.min())}/cell" if len(per_cell) == len(found) else "✓"


def status(folder: Path, zoo: str) -> str:
    suites = [s for s in SUITES if (folder / f"{s}.csv").exists()]
    rows = {}
    for suite in suites:
        table = pd.read_csv(folder / f"{suite}.csv")
        rows[suite] = table[table.zoo == zoo]
    lines = ["| metric | " + " | ".join(suites) + " |", "|---|" + "---|" * len(suites)]
    for metric in built_in_metrics():
        lines.append(f"| `{metric}` | " + " | ".join(mark(rows[s], metric, s) for s in suites) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leaderboards", default="leaderboards/benchmark")
    parser.add_argument("--zoo", default="benchmark")
    args = parser.parse_args()
    print(status(Path(args.leaderboards), args.zoo))
