"""Where derived results are cached, and how their entries are keyed.

Every cache in simbench (recordings, dynamics analyses, prepared metric states) stores
results *derived* from a zoo's networks. Two rules keep them honest:

- **Keys name everything the result depends on**: the network's content hash plus a
  producer key, :func:`producer_key`, over the producer's id, its code version and its
  options. A changed computation (a bumped version) or changed options never read a
  stale entry.
- **A read-only zoo still runs**: :func:`cache_dir` returns the zoo's own folder when
  it can be written, and otherwise a folder under the user's cache directory
  (``$SIMBENCH_CACHE``, else ``$XDG_CACHE_HOME/simbench``, else ``~/.cache/simbench``),
  one per zoo path.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np


def producer_key(producer: str, version, options: dict | None = None) -> str:
    """16 hex digits of SHA-256 over ``{producer, version, options}`` (JSON, sorted keys)."""
    identity = {"producer": producer, "version": version, "options": options or {}}
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]


def user_cache_root() -> Path:
    """The user's simbench cache folder (not created)."""
    if os.environ.get("SIMBENCH_CACHE"):
        return Path(os.environ["SIMBENCH_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "simbench"


def _writable(folder: Path) -> bool:
    """Whether ``folder`` (or the nearest existing parent) accepts new files."""
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            return False
        probe = probe.parent
    return probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)


def cache_dir(zoo_root, name: str) -> Path:
    """``ZOO/<name>`` when the zoo can be written, else a per-zoo user cache folder."""
    zoo_root = Path(zoo_root)
    inside = zoo_root / name
    if _writable(inside):
        return inside
    tag = hashlib.sha256(str(zoo_root.resolve()).encode()).hexdigest()[:16]
    return user_cache_root() / f"{zoo_root.name}-{tag}" / name


def arrays_digest(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over named arrays: names, dtypes, shapes and bytes (checks a cache entry's payload)."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        digest.update(f"{name}{arrays[name].dtype}{arrays[name].shape}".encode())
        digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    return digest.hexdigest()
