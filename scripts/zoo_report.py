"""Write a zoo's README: what it holds and the performance reached per task × architecture.

``python scripts/zoo_report.py zoo/reference --build-seconds 2400 --command "..." [--notes NOTES.md]``

Trained networks only in the tables (untrained controls are counted in a line of their
own); one table per hidden size; ``--notes`` appends a hand-written section (the build's
history, say) after the generated ones.
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


def built_in(seconds: float | None) -> str:
    """"in **N minutes**" or a pointer to the notes (a build resumed over several runs)."""
    return f"in **{seconds / 60:.1f} minutes**" if seconds else "over several resumed runs (times in the notes below)"


def tables_by_width(manifest: pd.DataFrame) -> str:
    """One :func:`performance_table` per hidden size (headed by it when there are several)."""
    widths = sorted(manifest["hidden"].unique())
    if len(widths) == 1:
        return performance_table(manifest)
    return "\n\n".join(f"**{w} units**\n\n" + performance_table(manifest[manifest.hidden == w]) for w in widths)


def control_line(controls: pd.DataFrame) -> str:
    """", plus N untrained controls (K shuffled, …)" or "" (controls never pass)."""
    if controls.empty:
        return ""
    kinds = ", ".join(f"{n} {kind}" for kind, n in controls.control.value_counts().sort_index().items())
    return f", plus {len(controls)} untrained controls ({kinds}; `simbench zoo controls`, never passed)"


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
    parser.add_argument("--build-seconds", type=float,
                        help="wall time of one uninterrupted build (leave out for a build resumed "
                             "over several runs, and say what each took in --notes)")
    parser.add_argument("--command", required=True)
    parser.add_argument("--notes", help="a markdown file appended to the README")
    args = parser.parse_args()
    zoo = load_zoo(args.zoo)
    everything = zoo.manifest
    controls = everything[everything.control.fillna("").astype(str) != ""] if "control" in everything else everything[:0]
    m = everything.drop(controls.index)
    failed = m[~m.passed].sort_values(["task", "architecture", "seed"])
    failed_lines = "\n".join(
        f"- `{r.id}`: {r.performance:.3f} (threshold {r.threshold}, {r.steps} steps, {r.stop_reason})"
        for r in failed.itertuples()) or "- none"
    local_caches = {"recordings", "dynamics", "cache"}
    size = sum(p.stat().st_size for p in Path(args.zoo).rglob("*") if p.is_file() and not local_caches & set(p.parts))
    text = f"""# Zoo `{Path(args.zoo).name}`

Built from [`recipe.toml`](recipe.toml) with

    {args.command}

{built_in(args.build_seconds)} on this project's 2-core CPU machine
({platform.machine()}). {len(m)} networks,
{int(m.passed.sum())} above their task's threshold{control_line(controls)}; {size / 1e6:.1f} MB on disk (weights
and metadata; recordings, dynamics and metric states are local caches and are not committed). Zoo hash
`{zoo.hash[:16]}`.

Networks below their task's threshold stay in `manifest.csv` with `passed = False` and
are left out of benchmarks by default.

## Performance per task × architecture

Each cell: networks that passed / networks, then the median performance
({score_note(m)}) on a held-out test batch.

{tables_by_width(m)}

## Networks below threshold

{failed_lines}

Training stops a network once validation performance reaches 0.99 or its loss stops
improving after two learning-rate drops; `steps` and `stop_reason` in the manifest say which.
"""
    if args.notes:
        text += "\n" + Path(args.notes).read_text()
    (Path(args.zoo) / "README.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
