"""The fixed-point figure of Maheswaranathan et al. (2019, Fig. 2) and Tolmachev & Engel (2025).

Trajectories on the probe set in the top three principal components of their states,
with the fixed points on top, coloured by their number of unstable dimensions: black
stable, red 1, green 2, blue 3 or more. Limit cycles are drawn as closed orbits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: colour by number of unstable dimensions (3 stands for ≥ 3)
UNSTABLE_COLOURS = {0: "black", 1: "red", 2: "green", 3: "blue"}


def pca_basis(states: np.ndarray, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[S]`` and top-``k`` principal axes ``[S, k]`` of ``states [n, S]``."""
    mean = states.mean(0)
    _, _, vt = np.linalg.svd(states - mean, full_matrices=False)
    axes = vt[:k].T
    if axes.shape[1] < k:  # fewer than k directions: pad with zeros
        axes = np.pad(axes, ((0, 0), (0, k - axes.shape[1])))
    return mean, axes


def fixed_point_plot(result, trajectories: np.ndarray, path, title: str = "",
                     condition: int | None = None, max_trajectories: int = 64) -> Path:
    """Save the 3-D PCA figure of ``trajectories [C, T, S]`` and ``result``'s fixed points.

    ``condition``: plot the fixed points of one constant-input condition only (index into
    ``result.conditions``); by default all, one marker shape per condition.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trajectories = np.asarray(trajectories, dtype=float)
    if trajectories.ndim != 3 or (len(result.fp_x) and trajectories.shape[-1] != result.fp_x.shape[-1]):
        raise ValueError(f"trajectories must be [conditions, time, {result.fp_x.shape[-1]}], "
                         f"got {trajectories.shape}")
    if condition is not None and not 0 <= condition < result.n_conditions:
        raise ValueError(f"condition {condition} out of range: the result has {result.n_conditions} "
                         f"({', '.join(result.conditions)})")
    mean, axes = pca_basis(trajectories.reshape(-1, trajectories.shape[-1]))
    fig = plt.figure(figsize=(7, 6))
    ax = fig.add_subplot(projection="3d")
    step = max(1, len(trajectories) // max_trajectories)
    for trial in trajectories[::step]:
        ax.plot(*((trial - mean) @ axes).T, color="0.6", linewidth=0.5, alpha=0.6)
    shown = range(result.n_conditions) if condition is None else [condition]
    markers = "os^Dv<>PX*"
    for k in shown:
        here = result.fp_condition == k
        xyz = (result.fp_x[here] - mean) @ axes
        colours = [UNSTABLE_COLOURS[min(int(u), 3)] for u in result.fp_unstable[here]]
        ax.scatter(*xyz.T, c=colours, marker=markers[k % len(markers)], s=30, depthshade=False)
        ax.scatter([], [], [], marker=markers[k % len(markers)], facecolors="none", edgecolors="0.3",
                   label=f"input {result.conditions[k]}: {here.sum()} fixed points")
        for orbit in result.cycle_orbit[result.cycle_condition == k]:
            closed = (np.vstack([orbit, orbit[:1]]) - mean) @ axes
            ax.plot(*closed.T, color="tab:orange", linewidth=1.5)
    for unstable, colour in UNSTABLE_COLOURS.items():
        ax.scatter([], [], [], c=colour, label=f"{unstable}{'+' if unstable == 3 else ''} unstable")
    ax.legend(fontsize=7, loc="upper left")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_zlabel("PC 3")
    ax.set_title(title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
