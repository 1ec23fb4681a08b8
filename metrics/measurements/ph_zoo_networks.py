"""ph's landmark subsampling error on trained networks of the reference zoo.

    python metrics/measurements/ph_zoo_networks.py           # a few minutes on 2 cores

For a few oscillation-suite networks (11 probe conditions × 120 steps = 1320 states),
compares the full Rips diagrams of the normalised hidden-state cloud with ph's default
``n_perm=300`` landmark diagrams: bottleneck error per homology dimension, the
stability bound 2·r_cover, the largest H1 bar, and the times. Figures are quoted in
simbench/metrics/ph.py's docstring.
"""

from __future__ import annotations

from ph_subsampling import subsampling_error  # this folder's other measurement

from simbench.bench.run import default_zoo
from simbench.metrics.ph import normalise_cloud

NETWORKS = ["sine-gru-h32-s0", "sine-vanilla-tanh-h32-s0", "sine-ctrnn-tanh-free-h32-s0",
            "hold-lstm-h32-s0", "hold-ctrnn-relu-dale-h32-s0"]


def main() -> None:
    zoo = default_zoo()
    print(f"{'network':30s} {'n':>5s} {'H0 err':>7s} {'H1 err':>7s} {'2r_cov':>7s} {'top H1':>7s} "
          f"{'t full':>7s} {'t 300':>6s}")
    for network in NETWORKS:
        X = normalise_cloud(zoo.recording(network).samples().astype(float))
        full, _, errors, r_cover, t_full, t_sub = subsampling_error(X)
        top = max((d - b for b, d in full[1]), default=0.0)
        print(f"{network:30s} {len(X):5d} {errors[0]:7.3f} {errors[1]:7.3f} {2 * r_cover:7.3f} {top:7.3f} "
              f"{t_full:7.1f} {t_sub:6.2f}", flush=True)


if __name__ == "__main__":
    main()
