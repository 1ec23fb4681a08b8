"""Figures from saved distance matrices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

MARKERS = "osD^v<>PX*"


def mds_embedding(distance, seed: int = 0) -> np.ndarray:
    """``[n, 2]`` coordinates of 2-D metric MDS (SMACOF from classical MDS) of a distance matrix."""
    from sklearn.manifold import MDS

    d = np.asarray(distance, dtype=float)
    mds = MDS(n_components=2, metric="precomputed", init="classical_mds", random_state=seed)
    return mds.fit_transform((d + d.T) / 2)


def _scatter_cells(ax, xy: np.ndarray, info: pd.DataFrame) -> None:
    """Points coloured by architecture and marked by task, with a legend entry for each."""
    import matplotlib.pyplot as plt

    archs = list(dict.fromkeys(info.architecture))
    tasks = list(dict.fromkeys(info.task))
    colours = plt.get_cmap("tab20")(np.linspace(0, 1, max(len(archs), 2)))
    for a, arch in enumerate(archs):
        for t, task in enumerate(tasks):
            pick = ((info.architecture == arch) & (info.task == task)).to_numpy()
            if pick.any():
                ax.scatter(*xy[pick].T, color=colours[a], marker=MARKERS[t % len(MARKERS)], s=40,
                           edgecolor="k", linewidth=0.3)
    for a, arch in enumerate(archs):
        ax.scatter([], [], color=colours[a], marker="o", label=arch)
    for t, task in enumerate(tasks):
        ax.scatter([], [], facecolor="none", edgecolor="k", marker=MARKERS[t % len(MARKERS)], label=task)


def _save(fig, ax, title: str, path) -> Path:
    import matplotlib.pyplot as plt

    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5))
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def mds_plot(distances: pd.DataFrame, manifest: pd.DataFrame, title: str, path, seed: int = 0) -> Path:
    """2-D metric MDS of a distance matrix, coloured by architecture and marked by task."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    info = manifest.set_index("id").loc[distances.index]
    fig, ax = plt.subplots(figsize=(7, 6))
    _scatter_cells(ax, mds_embedding(distances.to_numpy(dtype=float), seed), info)
    return _save(fig, ax, title, path)


def placement_plot(mds: pd.DataFrame, placed: str, title: str, path) -> Path:
    """The zoo's MDS points (``mds``: id, task, architecture, x, y) with row ``placed`` as a star."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mine = (mds.id == placed).to_numpy()
    fig, ax = plt.subplots(figsize=(7, 6))
    _scatter_cells(ax, mds[["x", "y"]].to_numpy()[~mine], mds[~mine].reset_index(drop=True))
    ax.scatter(mds.x[mine], mds.y[mine], marker="*", s=320, color="gold", edgecolor="k", linewidth=1,
               zorder=5, label=placed)
    return _save(fig, ax, title, path)
