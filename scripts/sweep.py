"""Train every architecture × suite population in parallel processes; print a performance table.

Used to choose default hyper-parameters: ``python scripts/sweep.py --jobs 16 --hidden 32``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed


def run(arch, suite, hidden, seeds, config, options):
    import torch

    torch.set_num_threads(1)
    from simbench.zoo import TrainConfig, suite_tasks, train_population

    members = [(t.name, s) for t in suite_tasks(suite) for s in range(seeds)]
    start = time.perf_counter()
    result = train_population(arch, hidden, members, TrainConfig(**config), progress=False, **options)
    table = result.table.assign(seconds=time.perf_counter() - start)
    return table.to_dict("records")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--config", default="{}", help="JSON TrainConfig overrides")
    parser.add_argument("--options", default="{}", help="JSON architecture options")
    parser.add_argument("--arch", nargs="*")
    parser.add_argument("--suite", nargs="*")
    parser.add_argument("--out", default="sweep.jsonl")
    args = parser.parse_args()
    from simbench.zoo import ARCHITECTURES, SUITES

    archs = args.arch or list(ARCHITECTURES)
    suites = args.suite or list(SUITES)
    config = json.loads(args.config)
    # longest first: cddm (T=300) and gated cells
    jobs = sorted(itertools.product(archs, suites), key=lambda j: (j[1] != "cddm", j[0] not in ("lstm", "gru")))
    with ProcessPoolExecutor(args.jobs) as pool, open(args.out, "a") as out:
        futures = {pool.submit(run, a, s, args.hidden, args.seeds, config, json.loads(args.options)): (a, s) for a, s in jobs}
        for future in as_completed(futures):
            try:
                rows = future.result()
            except Exception as error:  # report and keep going
                print("FAILED", futures[future], error, file=sys.stderr)
                continue
            for row in rows:
                out.write(json.dumps({**row, "config": config, "options": args.options}) + "\n")
            out.flush()
            a, s = futures[future]
            perf = ", ".join(f"{r['task']}:{r['performance']:.2f}" for r in rows)
            print(f"{a:20s} {s:12s} {rows[0]['seconds']:6.0f}s {perf}", flush=True)


if __name__ == "__main__":
    main()
