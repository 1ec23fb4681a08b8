"""Every package of the ``dev`` extra is used by the tests or the benchmark scripts.

The benchmark scripts print ratios against a baseline measured in the same run (plain
``time.perf_counter`` / ``process_time``), so they need no benchmark plugin; a declared
but unused development dependency (``pytest-benchmark`` was one) only costs installs.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _import_names(requirement: str) -> list[str]:
    """Module names a requirement provides: ``"dask[distributed]>=1"`` -> dask, distributed;
    ``"pytest-benchmark>=4"`` -> pytest_benchmark."""
    name, extras = re.match(r"([A-Za-z0-9_.\-]+)(?:\[([^\]]*)\])?", requirement).groups()
    names = [name] + (extras.split(",") if extras else [])
    return [n.strip().lower().replace("-", "_") for n in names]


def _imported(module: str, sources: str) -> bool:
    return bool(re.search(rf"^\s*(import|from)\s+{module}\b|importorskip\(\"{module}\"\)",
                          sources, re.M))


def test_every_dev_dependency_is_imported_by_the_tests():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    sources = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("*.py"))
    unused = [req for req in extras["dev"]
              if not any(_imported(m, sources) for m in _import_names(req))]
    assert not unused, f"dev dependencies no test or benchmark imports: {unused}"

    declared = {m for req in project["dependencies"] + sum(extras.values(), [])
                for m in _import_names(req)}
    pins = re.findall(r"^([A-Za-z0-9_.\-]+)==", (ROOT / "constraints.txt").read_text(), re.M)
    stale = [p for p in pins if _import_names(p)[0] not in declared]
    assert not stale, f"constraints.txt pins packages pyproject.toml does not declare: {stale}"
