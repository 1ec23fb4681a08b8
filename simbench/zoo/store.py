"""The zoo on disk: a directory anyone can send you and you can load without running code.

Layout::

    ZOO/
      recipe.toml                 the recipe it was built from (copied)
      manifest.csv                one row per network: factors, training, performance, hash
      networks/ID.safetensors     weights (float32), one file per network
      networks/ID.json            metadata: factors, architecture options, training config
      recordings/KEY/HASH.safetensors cache: hidden states on the suite's probe set (KEY
                                  names the producer, :data:`RECORDING_VERSION` and the
                                  suite; HASH is the network's content hash)
      dynamics/KEY/ID.safetensors cache: fixed points, linearisation, topology (KEY names
                                  the analysis options)

No pickle anywhere. Every file is written to a temporary name and renamed into place,
so a crash leaves either the old file or the new one, with the permissions the umask
gives. A network is *present* once its JSON exists (written after its weights). Its
``content_hash`` is the SHA-256 of its architecture, sizes, options and weight bytes;
loading recomputes it, so a corrupt or truncated file is reported by path and network
id while the rest of the zoo loads. The manifest is checked when the zoo is opened
(:mod:`simbench.zoo.manifest`). Caches live in the zoo, or in the user's cache folder
when the zoo is read-only (:mod:`simbench.zoo.cache`).
"""

from __future__ import annotations

import hashlib
import json
import logging
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
from simbench.zoo.cache import arrays_digest, cache_dir, producer_key
from simbench.zoo.errors import ZooError
from simbench.zoo.manifest import MANIFEST, read_manifest
from simbench.zoo.tasks import get_task

RECIPE = "recipe.toml"
HASH_FIELDS = ("architecture", "hidden", "n_inputs", "n_outputs", "options")
#: version of the probe-set simulation behind cached recordings; bump it when a change
#: to ``Network.run`` or to a suite's probe set would change a recording
RECORDING_VERSION = 1

logger = logging.getLogger(__name__)

#: weights file -> ((size, mtime_ns), content hash) of the weights this process has hashed
_VERIFIED: dict[str, tuple[tuple[int, int], str]] = {}


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` and rename the result onto ``path``.

    The file gets the mode a plain ``open`` would give (``0o666`` less the umask; the
    temporary file ``mkstemp`` makes is ``0o600``). On any exception, Ctrl-C included,
    the temporary file is removed and ``path`` is left as it was.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.close(fd)
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process's umask (read by setting it and putting it back: POSIX has no getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


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
    row["control"] = metadata.get("control", "")  # "" trained; "shuffled" / "random" (zoo.controls)
    row["source_id"] = metadata.get("source_id", "")
    row["options"] = json.dumps(metadata["options"], sort_keys=True)
    row.update({f"train_{k}": v for k, v in sorted(metadata["config"].items()) if k != "threads"})
    row["threads"] = metadata["config"].get("threads")
    return row


def network_from_weights(weights: dict[str, np.ndarray], metadata: dict) -> Network:
    """The :class:`Network` that ``weights`` (numpy, by parameter name) make for ``metadata``
    (architecture, sizes, seed and options, as stored in ``networks/ID.json``)."""
    arch = get_architecture(metadata["architecture"])
    population = arch.cls.from_members(
        metadata["n_inputs"], metadata["n_outputs"], metadata["hidden"], [metadata["seed"]],
        [{k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in weights.items()}],
        **{**arch.options, **metadata["options"]},
    )
    return Network(population, metadata)


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
            manifest = read_manifest(self.path)  # ZooError naming the first bad row
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
        metadata, weights = self._read(network_id)
        return network_from_weights(weights, metadata)

    def networks(self, errors: list | None = None):
        """Yield every loadable network; corrupt ones go to ``errors`` (or raise if None)."""
        for network_id in self.ids:
            try:
                yield self.network(network_id)
            except ZooError as error:
                if errors is None:
                    raise
                errors.append(error)

    def _read(self, network_id: str) -> tuple[dict, dict[str, np.ndarray]]:
        """Metadata and weights of one network, the weights checked against its content hash."""
        row = self.row(network_id)
        folder = self.path / "networks"
        metadata_path, weights_path = folder / f"{network_id}.json", folder / f"{network_id}.safetensors"
        signature = _signature(weights_path)
        try:
            metadata = json.loads(metadata_path.read_text())
            identity = {k: metadata[k] for k in HASH_FIELDS}
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
            raise ZooError(f"{metadata_path}: network {network_id}: cannot read its metadata "
                           f"({type(error).__name__}: {error})") from None
        try:
            weights = load_file(str(weights_path))
        except (OSError, SafetensorError, ValueError) as error:
            raise ZooError(f"{weights_path}: network {network_id}: cannot read ({error})") from None
        if content_hash(weights, identity) != row["content_hash"]:
            raise ZooError(f"{weights_path}: network {network_id}: corrupt weights (content hash mismatch)")
        _VERIFIED[str(weights_path)] = (signature, row["content_hash"])
        return metadata, weights

    def verify_weights(self, network_id: str) -> None:
        """Check a network's weights against its content hash, once per process.

        Hashed again only when the file changed (size or modification time) since this
        process hashed it. ``ZooError`` naming the file if they do not match.
        """
        weights_path = self.path / "networks" / f"{network_id}.safetensors"
        known = _VERIFIED.get(str(weights_path))
        if known is None or known != (_signature(weights_path), self.row(network_id)["content_hash"]):
            self._read(network_id)

    def recording_file(self, network_id: str) -> Path:
        """Where :meth:`recording` caches ``network_id``'s recording (the file may not exist)."""
        row = self.row(network_id)
        return cache_dir(self.path, "recordings") / recording_key(row["suite"]) / f"{row['content_hash']}.safetensors"

    def recording(self, network_id: str) -> Recording:
        """States on the suite's probe set, simulated once and cached.

        Cached as ``recordings/<key>/<content hash>.safetensors`` in the zoo, or in the
        user's cache folder when the zoo is read-only (:func:`~simbench.zoo.cache.cache_dir`);
        ``key`` names :data:`RECORDING_VERSION` and the suite whose probe set is run. An
        entry is trusted only if it names this content hash, its arrays match the digest
        stored with them, and the network's weights match the content hash (checked once
        per process, :meth:`verify_weights`), so a zoo received with its caches is never
        used on faith. A stale or broken entry is recomputed, with a logged warning.
        """
        row = self.row(network_id)
        probe = get_task(row["task"]).probe()
        path = self.recording_file(network_id)
        cached = _read_recording(path, row["content_hash"], network_id) if path.exists() else None
        if cached is not None:
            self.verify_weights(network_id)
            return Recording(cached["states"], cached["outputs"], probe.conditions)
        with torch.no_grad():
            states, outputs = self.network(network_id).run(probe.inputs)
        # safetensors writes the raw buffer: arrays must be C-contiguous
        arrays = {"states": np.ascontiguousarray(states.numpy()), "outputs": np.ascontiguousarray(outputs.numpy())}
        meta = {"content_hash": row["content_hash"], "digest": arrays_digest(arrays)}
        try:
            atomic_write(path, lambda tmp: save_file(arrays, str(tmp), meta))
        except OSError as error:
            logger.warning("%s: cannot cache the recording of %s (%s); continuing without", path, network_id, error)
        return Recording(arrays["states"], arrays["outputs"], probe.conditions)

    def summary(self) -> pd.DataFrame:
        """Counts and performance per task × architecture."""
        grouped = self.manifest.groupby(["task", "architecture"], sort=False)
        return grouped.agg(
            networks=("id", "size"), passed=("passed", "sum"),
            perf_min=("performance", "min"), perf_median=("performance", "median"),
            perf_max=("performance", "max"),
        ).reset_index()


def recording_key(suite: str) -> str:
    """Producer key of the cached recordings on ``suite``'s probe set (see :meth:`Zoo.recording`)."""
    return producer_key("recording", RECORDING_VERSION, {"suite": suite})


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def _read_recording(path: Path, expected_hash: str, network_id: str) -> dict[str, np.ndarray] | None:
    """The cached arrays at ``path``, or None (with a warning) if stale or broken."""
    try:
        with safe_open(str(path), "np") as f:
            meta = f.metadata() or {}
            arrays = {k: f.get_tensor(k) for k in ("states", "outputs")}
    except (OSError, SafetensorError, KeyError, ValueError) as error:
        logger.warning("%s: broken cached recording of %s (%s); recomputing", path, network_id, error)
        return None
    if meta.get("content_hash") != expected_hash:
        logger.warning("%s: cached recording of %s made for other weights; recomputing", path, network_id)
        return None
    if meta.get("digest") != arrays_digest(arrays):
        logger.warning("%s: cached recording of %s does not match its digest; recomputing", path, network_id)
        return None
    return arrays


def load_zoo(path) -> Zoo:
    """Open a zoo directory (see :class:`Zoo`)."""
    return Zoo(path)
