"""The zoo on disk: a directory anyone can send you and you can load without running code.

Layout::

    ZOO/
      recipe.toml                 the recipe it was built from (copied)
      manifest.csv                one row per network: factors, training, performance, hash
      networks/ID.safetensors     weights (float32), one file per network
      networks/ID.json            metadata: factors, architecture options, training config
      recordings/ID.safetensors   cache: hidden states on the suite's probe set
      dynamics/KEY/ID.safetensors cache: fixed points, linearisation, topology (KEY names
                                  the analysis options)

No pickle anywhere. Every file is written to a temporary name and renamed into place,
so a crash leaves either the old file or the new one. A network is *present* once its
JSON exists (written after its weights). Its ``content_hash`` is the SHA-256 of its
architecture, sizes, options and weight bytes; loading recomputes it, so a corrupt or
truncated file is reported by path and network id while the rest of the zoo loads.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file, save_file

from simbench.zoo.architectures import Network, get_architecture
from simbench.zoo.tasks import get_task

MANIFEST = "manifest.csv"
RECIPE = "recipe.toml"
HASH_FIELDS = ("architecture", "hidden", "n_inputs", "n_outputs", "options")


class ZooError(ValueError):
    """A zoo that cannot be read, naming the file and network at fault."""


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` and rename the result onto ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text))


def content_hash(weights: dict[str, np.ndarray], metadata: dict) -> str:
    digest = hashlib.sha256()
    identity = {k: metadata[k] for k in HASH_FIELDS}
    digest.update(json.dumps(identity, sort_keys=True).encode())
    for name in sorted(weights):
        array = np.ascontiguousarray(weights[name], dtype=np.float32)
        digest.update(f"{name}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def write_network(root: Path, network_id: str, weights: dict[str, np.ndarray], metadata: dict) -> str:
    """Store one network (weights, then metadata); returns its content hash."""
    weights = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items()}
    metadata = {**metadata, "id": network_id, "content_hash": content_hash(weights, metadata)}
    folder = root / "networks"
    atomic_write(folder / f"{network_id}.safetensors", lambda tmp: save_file(weights, str(tmp)))
    atomic_write_text(folder / f"{network_id}.json", json.dumps(metadata, indent=1, sort_keys=True))
    return metadata["content_hash"]


def read_metadata(root: Path) -> list[dict]:
    """Metadata of every present network, sorted by id."""
    rows = []
    for path in sorted((root / "networks").glob("*.json")):
        try:
            rows.append(json.loads(path.read_text()))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ZooError(f"{path}: unreadable network metadata ({error})") from None
    return rows


def write_manifest(root: Path) -> pd.DataFrame:
    """Rebuild ``manifest.csv`` from the networks' metadata."""
    rows = read_metadata(root)
    frame = pd.DataFrame([_manifest_row(r) for r in rows])
    atomic_write(root / MANIFEST, lambda tmp: frame.to_csv(tmp, index=False))
    return frame


def _manifest_row(metadata: dict) -> dict:
    row = {k: metadata[k] for k in (
        "id", "suite", "task", "architecture", "family", "activation", "dale", "hidden", "seed",
        "steps", "stop_reason", "final_loss", "performance", "threshold", "passed", "content_hash")}
    row["options"] = json.dumps(metadata["options"], sort_keys=True)
    row.update({f"train_{k}": v for k, v in sorted(metadata["config"].items()) if k != "threads"})
    row["threads"] = metadata["config"].get("threads")
    return row


@dataclass(frozen=True)
class Recording:
    """A network's noise-free run on its suite's probe set."""

    states: np.ndarray      # [conditions, time, state]
    outputs: np.ndarray     # [conditions, time, outputs]
    conditions: pd.DataFrame

    def samples(self) -> np.ndarray:
        """States flattened to ``[conditions · time, state]`` (the metrics' input)."""
        return self.states.reshape(-1, self.states.shape[-1])


class Zoo:
    """A zoo directory: filter by factors, load networks and recordings.

    ``Zoo(path)`` reads the manifest only; networks load lazily, one at a time.
    """

    def __init__(self, path, manifest: pd.DataFrame | None = None):
        self.path = Path(path)
        if manifest is None:
            file = self.path / MANIFEST
            if not file.exists():
                raise ZooError(f"{self.path}: not a zoo (no {MANIFEST})")
            try:
                manifest = pd.read_csv(file)
            except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
                raise ZooError(f"{file}: unreadable manifest ({error})") from None
            if manifest.empty:
                raise ZooError(f"{file}: the zoo is empty")
        self.manifest = manifest.reset_index(drop=True)

    def __len__(self) -> int:
        return len(self.manifest)

    def __repr__(self) -> str:
        return f"<Zoo {self.path} with {len(self)} networks>"

    @property
    def ids(self) -> list[str]:
        return list(self.manifest["id"])

    @property
    def hash(self) -> str:
        """SHA-256 over the sorted content hashes: names this exact set of networks."""
        return hashlib.sha256("".join(sorted(self.manifest["content_hash"])).encode()).hexdigest()

    def filter(self, passed: bool | None = None, **factors) -> Zoo:
        """Networks whose factors match; a factor may be a value or a list of values."""
        keep = np.ones(len(self.manifest), dtype=bool)
        for name, wanted in factors.items():
            if name not in self.manifest.columns:
                raise ValueError(f"unknown factor {name!r}; valid: {', '.join(self.manifest.columns)}")
            values = wanted if isinstance(wanted, (list, tuple, set)) else [wanted]
            keep &= self.manifest[name].isin(values).to_numpy()
        if passed is not None:
            keep &= self.manifest["passed"].to_numpy() == passed
        return Zoo(self.path, self.manifest[keep])

    def row(self, network_id: str) -> dict:
        match = self.manifest[self.manifest["id"] == network_id]
        if match.empty:
            raise ZooError(f"{self.path}: no network {network_id!r}")
        return match.iloc[0].to_dict()

    def network(self, network_id: str) -> Network:
        """Load one network; ``ZooError`` naming the file if it is corrupt."""
        row = self.row(network_id)
        folder = self.path / "networks"
        weights_path = folder / f"{network_id}.safetensors"
        try:
            metadata = json.loads((folder / f"{network_id}.json").read_text())
            weights = load_file(str(weights_path))
        except (OSError, SafetensorError, json.JSONDecodeError, ValueError) as error:
            raise ZooError(f"{weights_path}: network {network_id}: cannot read ({error})") from None
        if content_hash(weights, metadata) != row["content_hash"]:
            raise ZooError(f"{weights_path}: network {network_id}: corrupt weights (content hash mismatch)")
        arch = get_architecture(metadata["architecture"])
        population = arch.cls.from_members(
            metadata["n_inputs"], metadata["n_outputs"], metadata["hidden"], [metadata["seed"]],
            [{k: torch.from_numpy(v) for k, v in weights.items()}], **{**arch.options, **metadata["options"]},
        )
        return Network(population, metadata)

    def networks(self, errors: list | None = None):
        """Yield every loadable network; corrupt ones go to ``errors`` (or raise if None)."""
        for network_id in self.ids:
            try:
                yield self.network(network_id)
            except ZooError as error:
                if errors is None:
                    raise
                errors.append(error)

    def recording(self, network_id: str) -> Recording:
        """States on the suite's probe set, simulated once and cached in ``recordings/``."""
        row = self.row(network_id)
        probe = get_task(row["task"]).probe()
        cache = self.path / "recordings" / f"{network_id}.safetensors"
        if cache.exists():
            try:
                with safe_open(str(cache), "np") as f:
                    if (f.metadata() or {}).get("content_hash") == row["content_hash"]:
                        return Recording(f.get_tensor("states"), f.get_tensor("outputs"), probe.conditions)
            except (OSError, SafetensorError):
                pass  # a broken cache is simply recomputed
        with torch.no_grad():
            states, outputs = self.network(network_id).run(probe.inputs)
        # safetensors writes the raw buffer: arrays must be C-contiguous
        arrays = {"states": np.ascontiguousarray(states.numpy()), "outputs": np.ascontiguousarray(outputs.numpy())}
        atomic_write(cache, lambda tmp: save_file(arrays, str(tmp), {"content_hash": row["content_hash"]}))
        return Recording(arrays["states"], arrays["outputs"], probe.conditions)

    def summary(self) -> pd.DataFrame:
        """Counts and performance per task × architecture."""
        grouped = self.manifest.groupby(["task", "architecture"], sort=False)
        return grouped.agg(
            networks=("id", "size"), passed=("passed", "sum"),
            perf_min=("performance", "min"), perf_median=("performance", "median"),
            perf_max=("performance", "max"),
        ).reset_index()


def load_zoo(path) -> Zoo:
    """Open a zoo directory (see :class:`Zoo`)."""
    return Zoo(path)
