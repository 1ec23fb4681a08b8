#!/usr/bin/env bash
# Fill leaderboards/benchmark/ from zoo/benchmark, resumably (every command skips what is
# published for these networks, and each suite is published as soon as it is scored).
#
#   bash scripts/benchmark_runs.sh recording   # recording metrics on the five small suites
#   bash scripts/benchmark_runs.sh dynamics    # fixed-point metrics on every suite
#   bash scripts/benchmark_runs.sh cddm        # recording and model metrics on cddm (long)
#   bash scripts/benchmark_runs.sh finish      # topology_rho / ood_rho of every row, README tables
#
# One lane per core: run two lanes at once on a 2-core machine. Each run uses one thread
# (BLAS spin-waits otherwise). After a lane, commit leaderboards/benchmark/ and, for the
# dynamics lane, the fixed-point analyses it stored in zoo/benchmark/analyses/dynamics.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
run() { nice -n 5 simbench run --zoo zoo/benchmark --out leaderboards/benchmark --resume --jobs 1 "$@"; }

FIVE="memory3 context oscillation gonogo memorynumber"
RECORDING="cca svcca pwcca shape:alpha=0.5 shape:alpha=1.0 procrustes cka rsa traj-lsq endpoints permutation ot-units"
DYNAMICS="fp-topology fp-count fp-config spectrum ph-fp"

case "${1:-}" in
  recording)
    run --no-topology --suite $FIVE --metric $RECORDING selectivity ph
    run --no-topology --suite $FIVE --seeds-per-cell 5 --metric dsa gw ;;
  dynamics)  # trained networks only: controls have no fixed-point analysis
    # analyses first, stored with the zoo five networks at a time (a gated gonogo network
    # takes 2-4 minutes: a cut run keeps all but the batch in progress)
    nice -n 5 simbench zoo analyse zoo/benchmark --passed --batch 5
    for suite in memory3 memorynumber context oscillation cddm gonogo; do
      run --no-controls --suite "$suite" --metric $DYNAMICS
    done ;;
  cddm)  # a cddm recording is 35 MB: states are not cached, controls scored a cell at a time
    run --no-topology --no-controls --suite cddm --metric ood latent-circuit  # small states: cached
    run --no-topology --no-state-cache --suite cddm --metric $RECORDING selectivity ph
    run --no-topology --no-state-cache --suite cddm --seeds-per-cell 5 --metric dsa gw ;;
  finish)
    simbench rescore --zoo zoo/benchmark --leaderboards leaderboards/benchmark
    python scripts/readme_tables.py ;;  # then reread the prose around the tables
  *) echo "usage: $0 recording | dynamics | cddm | finish" >&2; exit 2 ;;
esac
