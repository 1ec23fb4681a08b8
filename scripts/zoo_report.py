"""Write a zoo's README: what it holds and the performance reached per task × architecture.

``python scripts/zoo_report.py zoo/reference --build-seconds 2400 --command "..."``
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

import pandas as pd

from simbench.zoo.store import load_zoo
from simbench.zoo.tasks import get_task


def performance_table(manifest: pd.DataFrame) -> str:
    """Markdown table: rows = tasks, columns = architectures, cells = passed/n and median."""
    archs = list(dict.fromkeys(manifest["architecture"]))
    lines = ["| task | " + " | ".join(archs) + " |", "|---|" + "---|" * len(archs)]
    for task, rows in manifest.groupby("task", sort=False):
        cells = []
        for arch in archs:
            sub = rows[rows["architecture"] == arch]
            cells.append(f"{int(sub.passed.sum())}/{len(sub)} · {sub.performance.median():.3f}"
                         if len(sub) else "")
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def score_note(manifest: pd.DataFrame) -> str:
    """What the cells report: "R², or accuracy for …; thresholds 0.9, 0.8 for …"."""
    tasks = [get_task(name) for name in dict.fromkeys(manifest["task"])]
    accuracy = [f"`{t.name}`" for t in tasks if t.score == "accuracy"]
    usual = pd.Series([t.threshold for t in tasks]).mode()[0]
    others = {}
    for t in tasks:
        if t.threshold != usual:
            others.setdefault(t.threshold, []).append(f"`{t.name}`")
    score = "R²" + (f", or accuracy for {' and '.join(accuracy)}" if accuracy else "")
    exceptions = "".join(f", {value} for {', '.join(names)}" for value, names in others.items())
    return f"{score}; thresholds {usual}{exceptions}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("zoo")
    parser.add_argument("--build-seconds", type=float, required=True)
    parser.add_argument("--command", required=True)
    args = parser.parse_args()
    zoo = load_zoo(args.zoo)
    m = zoo.manifest
    failed = m[~m.passed].sort_values(["task", "architecture", "seed"])
    failed_lines = "\n".join(
        f"- `{r.id}`: {r.performance:.3f} (threshold {r.threshold}, {r.steps} steps, {r.stop_reason})"
        for r in failed.itertuples()) or "- none"
    local_caches = {"recordings", "dynamics", "cache"}
    size = sum(p.stat().st_size for p in Path(args.zoo).rglob("*") if p.is_file() and not local_caches & set(p.parts))
    text = f"""# Zoo `{Path(args.zoo).name}`

Built from [`recipe.toml`](recipe.toml) with

    {args.command}

in **{args.build_seconds / 60:.1f} minutes** on this project's 2-core CPU machine
({platform.machine()}, 2 training processes × 1 torch thread). {len(m)} networks,
{int(m.passed.sum())} above their task's threshold; {size / 1e6:.1f} MB on disk (weights
and metadata; recordings, dynamics and metric states are local caches and are not committed). Zoo hash
`{zoo.hash[:16]}`.

Networks below their task's threshold stay in `manifest.csv` with `passed = False` and
are left out of benchmarks by default.

## Performance per task × architecture

Each cell: networks that passed / networks, then the median performance
({score_note(m)}) on a held-out test batch.

{performance_table(m)}

## Networks below threshold

{failed_lines}

Training stops a network once validation performance reaches 0.99 or its loss stops
improving after two learning-rate drops; `steps` and `stop_reason` in the manifest say which.
"""
    (Path(args.zoo) / "README.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
