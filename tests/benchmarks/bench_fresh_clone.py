"""From a fresh clone to leaderboard rows: the three timings a new user meets first.

Run: ``python tests/benchmarks/bench_fresh_clone.py`` (all three), ``--skip-all`` to
leave out the long ``--metric`` run over every built-in metric, or ``--only all`` (or
``cca``, ``fixed-points``) for one of them.

Each command runs in its own fresh ``git clone`` of this repository's HEAD (so only
committed files count: the reference zoo, its committed fixed-point analyses and
stored metric states ``zoo/reference/analyses/``, nothing from this working tree's
caches), with
``PYTHONPATH`` pointing at the clone and ``SIMBENCH_CACHE`` at an empty folder:

1. ``simbench run --metric cca --out NEW`` — every suite, ``topology_rho`` included
   (the fixed-point topology reference comes from the committed analyses); target 2 min;
2. ``simbench run --metric <every built-in id> --out NEW`` — the metrics registered by
   simbench's own ``pyproject.toml`` (plugins such as ``dsa-official`` left out), run
   as ``run`` does by default, one process per core; target 15 min;
3. ``simbench fixed-points ID`` — one network's summary and figure; target 10 s.

It prints each command's wall time, the target and their ratio (≤ 1 meets it), the load
average before and after (``os.getloadavg``: the machine may be busy with other work,
which inflates every time), and, for the long run, every metric's prepare and pairwise
seconds summed over suites (from the leaderboard rows it wrote).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
NETWORK = "flipflop3-gru-h32-s0"


def fresh_clone(into: Path) -> Path:
    """``git clone`` of HEAD into ``into/simbench`` (committed files only)."""
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(into / "simbench")], check=True)
    return into / "simbench"


def built_in_metrics(clone: Path) -> list[str]:
    """The metric ids simbench itself registers (its ``pyproject.toml`` entry points)."""
    project = tomllib.loads((clone / "pyproject.toml").read_text())
    return list(project["project"]["entry-points"]["simbench.metrics"])


def timed(clone: Path, args: list[str], log: Path) -> float:
    """Seconds ``python -m simbench.cli ARGS`` takes in ``clone``; its output goes to ``log``."""
    env = {**os.environ, "PYTHONPATH": str(clone), "SIMBENCH_CACHE": str(clone.parent / "user-cache")}
    start = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run([sys.executable, "-m", "simbench.cli", *args], cwd=clone, env=env,
                              stdout=out, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    if done.returncode:
        tail = log.read_text().splitlines()[-15:]
        raise SystemExit(f"`simbench {' '.join(args)}` failed ({done.returncode}):\n" + "\n".join(tail))
    return seconds


def per_metric(out: Path) -> pd.DataFrame:
    """Prepare and pairwise seconds per metric, summed over the suites' leaderboard rows."""
    rows = pd.concat([pd.read_csv(p) for p in sorted(out.glob("*.csv"))], ignore_index=True)
    return rows.groupby("metric")[["prepare_seconds", "pairwise_seconds"]].sum().sort_values(
        "prepare_seconds", ascending=False)


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-all", action="store_true", help="leave out the run over every built-in metric")
    parser.add_argument("--only", choices=("fixed-points", "cca", "all"), help="run only this command")
    parser.add_argument("--keep", action="store_true", help="keep the clones (their folder is printed)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="simbench-fresh-"))
    print(f"clones under {work}; {load()}")
    plan = [("fixed-points", ["fixed-points", NETWORK, "--out", "fp.png"], 10.0),
             ("run cca", ["run", "--metric", "cca", "--out", "NEW"], 120.0)]
    if not args.skip_all:
        plan.append(("run all built-ins", None, 900.0))
    if args.only:
        plan = [step for step in plan if step[0].endswith(args.only.replace("all", "built-ins"))]
    try:
        for name, command, target in plan:
            clone = fresh_clone(work / name.replace(" ", "-"))
            if command is None:
                command = ["run", "--metric", *built_in_metrics(clone), "--out", "NEW"]
            before = load()
            seconds = timed(clone, command, work / f"{name.replace(' ', '-')}.log")
            print(f"{name:18s} {seconds:8.1f} s   target {target:5.0f} s   ratio {seconds / target:5.2f}   "
                  f"({before}; after: {load()})", flush=True)
            if name == "run all built-ins":
                print(per_metric(clone / "NEW").round(1).to_string())
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
