"""Rewrite the generated tables of the READMEs from the committed leaderboard rows.

    python scripts/readme_tables.py [--check] [--skip-reliability]

Each generated table stands between a pair of markers, ``<!-- NAME:begin -->`` and
``<!-- NAME:end -->``:

* ``README.md``, ``which-metric-benchmark``: "which metric sees what" on the benchmark
  zoo (``which_metric_table.py --leaderboards leaderboards/benchmark --zoo benchmark
  --factor-suite memory3``);
* ``README.md``, ``which-metric-reference``: the same on the reference zoo
  (``which_metric_table.py``);
* ``leaderboards/benchmark/README.md``, ``status``: which built-in metric is published on
  which suite (``benchmark_status.py``);
* ``leaderboards/benchmark/README.md``, ``arch-by-suite``, ``task-by-suite``,
  ``control-by-suite``: that score of every metric on every suite
  (``which_metric_table.py --by-suite SCORE``);
* ``leaderboards/benchmark/README.md``, ``reliability``: the split-half reliability of
  the metric rankings, score × suite, each cell ``rho (n)``: the Spearman correlation
  between the two halves' rankings and the number of metric rows ranked (the numbers of
  ``simbench reliability --zoo zoo/benchmark --leaderboards leaderboards/benchmark``).

``--check`` writes nothing and exits with status 1 if a table differs from what the rows
give. The prose around the tables quotes their numbers and is written by hand: reread it
after a change. ``--skip-reliability`` leaves that table as it is (it rescores every
published matrix on two halves of the seeds: a minute or two).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

from benchmark_status import status
from simbench.bench.reliability import RANKED, reliability_table
from simbench.zoo.store import load_zoo
from simbench.zoo.tasks import SUITES
from which_metric_table import by_suite, table as which_metric_table

ROOT = Path(__file__).resolve().parents[1]
BENCHMARK_ROWS = ROOT / "leaderboards" / "benchmark"


def reliability_markdown(table: pd.DataFrame) -> str:
    """The long reliability table (suite, score, metrics, spearman) as score × suite Markdown."""
    cells = table.assign(cell=[("—" if pd.isna(r.spearman) else f"{r.spearman:.2f}") + f" ({int(r.metrics)})"
                               for r in table.itertuples()])
    wide = cells.pivot(index="score", columns="suite", values="cell")
    wide = wide.loc[[s for s in RANKED if s in wide.index], [s for s in SUITES if s in wide.columns]]
    lines = ["| score | " + " | ".join(wide.columns) + " |", "|---|" + "---|" * len(wide.columns)]
    lines += [f"| `{score}` | " + " | ".join(row.fillna("—")) + " |" for score, row in wide.iterrows()]
    return "\n".join(lines)


def generated_tables(reliability: bool = True) -> dict[Path, dict[str, str]]:
    """``{README path: {marker name: table}}``, every table made anew from the rows."""
    tables = {
        ROOT / "README.md": {
            "which-metric-benchmark": which_metric_table(BENCHMARK_ROWS, "benchmark", "memory3"),
            "which-metric-reference": which_metric_table(ROOT / "leaderboards", "reference"),
        },
        BENCHMARK_ROWS / "README.md": {
            "status": status(BENCHMARK_ROWS, "benchmark"),
            **{f"{name}-by-suite": by_suite(BENCHMARK_ROWS, "benchmark", f"{name}_auc")
               for name in ("arch", "task", "control")},
        },
    }
    if reliability:
        long = reliability_table(BENCHMARK_ROWS, load_zoo(ROOT / "zoo" / "benchmark"))
        tables[BENCHMARK_ROWS / "README.md"]["reliability"] = reliability_markdown(long)
    return tables


def replace_between(text: str, name: str, body: str, where: Path) -> str:
    """``text`` with what stands between ``<!-- name:begin -->`` and ``<!-- name:end -->`` replaced."""
    pattern = re.compile(rf"(<!-- {name}:begin -->\n).*?(\n<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise ValueError(f"{where}: no '<!-- {name}:begin -->' … '<!-- {name}:end -->' markers")
    return pattern.sub(lambda m: m.group(1) + body + m.group(2), text)


def stale_readmes(reliability: bool = True, write: bool = False) -> list[Path]:
    """The READMEs whose generated tables differ from the rows (rewritten when ``write``)."""
    stale = []
    for path, tables in generated_tables(reliability).items():
        current = fresh = path.read_text()
        for name, body in tables.items():
            fresh = replace_between(fresh, name, body, path)
        if fresh != current:
            stale.append(path)
            if write:
                path.write_text(fresh)
    return stale


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if a table is stale; write nothing")
    parser.add_argument("--skip-reliability", action="store_true", help="leave the reliability table as it is")
    args = parser.parse_args()
    stale = stale_readmes(reliability=not args.skip_reliability, write=not args.check)
    verb = "stale (run python scripts/readme_tables.py)" if args.check else "rewritten"
    for path in stale:
        print(f"{path.relative_to(ROOT)}: {verb}")
    if not stale:
        print("every generated table is current")
    sys.exit(1 if args.check and stale else 0)
