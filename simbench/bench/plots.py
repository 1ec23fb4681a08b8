"""Figures from saved distance matrices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def mds_plot(distances: pd.DataFrame, manifest: pd.DataFrame, title: str, path, seed: int = 0) -> Path:
    """2-D metric MDS of a distance matrix, coloured by architecture and marked by task."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.manifold import MDS

    info = manifest.set_index("id").loc[distances.index]
    d = distances.to_numpy(dtype=float)
    mds = MDS(n_components=2, metric="precomputed", init="classical_mds", random_state=seed)
    xy = mds.fit_transform((d + d.T) / 2)
    archs = list(dict.fromkeys(info.architecture))
    tasks = list(dict.fromkeys(info.task))
    colours = plt.get_cmap("tab20")(np.linspace(0, 1, max(len(archs), 2)))
    markers = "osD^v<>PX*"
    fig, ax = plt.subplots(figsize=(7, 6))
    for a, arch in enumerate(archs):
        for t, task in enumerate(tasks):
            pick = ((info.architecture == arch) & (info.task == task)).to_numpy()
            if pick.any():
                ax.scatter(*xy[pick].T, color=colours[a], marker=markers[t % len(markers)], s=40,
                           edgecolor="k", linewidth=0.3)
    for a, arch in enumerate(archs):
        ax.scatter([], [], color=colours[a], marker="o", label=arch)
    for t, task in enumerate(tasks):
        ax.scatter([], [], color="grey", marker=markers[t % len(markers)], label=task)
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
