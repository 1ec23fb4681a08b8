"""Metric registry: discovery through the entry-point group ``simbench.metrics``.

Built-in metrics are registered exactly like third-party plugins, in pyproject.toml::

    [project.entry-points."simbench.metrics"]
    cca = "simbench.metrics.cca:CCA"

Each entry point names a :class:`~simbench.metrics.base.Metric` subclass whose ``id``
equals the entry-point name. A plugin that fails to import, whatever it raises (an
exception, ``sys.exit()``; only Ctrl-C goes through), or names something that is not a
Metric, is recorded with its error in :func:`available_metrics` and skipped; the other
metrics keep working. Metrics are addressed by spec strings
``id:key=value,key=value`` (``shape:alpha=0.5,score=euclidean``); values are read as
int, float, bool (``true``/``false``), ``none`` or, failing those, str.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from simbench.metrics.base import KINDS, Metric

GROUP = "simbench.metrics"


@dataclass(frozen=True)
class MetricInfo:
    """One registry record (a row of :func:`available_metrics`)."""

    id: str
    kind: str | None
    parameters: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    triangle_inequality: bool | None = None
    source: str = ""
    error: str | None = None
    cls: type[Metric] | None = field(default=None, repr=False, compare=False)

    @property
    def loaded(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "parameters": dict(self.parameters),
                "description": self.description,
                "triangle_inequality": self.triangle_inequality,
                "source": self.source, "error": self.error}


def _entry_points() -> list[EntryPoint]:
    return list(entry_points(group=GROUP))


def _load(ep: EntryPoint) -> MetricInfo:
    try:
        obj = ep.load()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # a broken plugin, even one calling sys.exit(), never breaks the registry
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return MetricInfo(ep.name, None, source=ep.value, error=f"import failed: {detail}")
    if not (isinstance(obj, type) and issubclass(obj, Metric)):
        return MetricInfo(ep.name, None, source=ep.value,
                          error=f"{ep.value} is not a simbench Metric subclass")
    if obj.id != ep.name:
        return MetricInfo(ep.name, None, source=ep.value,
                          error=f"entry point {ep.name!r} names a class with id {obj.id!r}")
    if obj.kind not in KINDS:
        return MetricInfo(ep.name, None, source=ep.value,
                          error=f"kind {obj.kind!r} is not one of {', '.join(KINDS)}")
    return MetricInfo(
        id=obj.id, kind=obj.kind,
        parameters={k: p.default for k, p in obj.parameters.items()},
        description=obj.description, triangle_inequality=obj.triangle_inequality,
        source=ep.value, cls=obj)


def _registry() -> dict[str, MetricInfo]:
    records: dict[str, MetricInfo] = {}
    for ep in _entry_points():
        if ep.name in records:
            if records[ep.name].source == ep.value:
                continue  # the same distribution seen twice on sys.path
            records[ep.name] = MetricInfo(
                ep.name, None, source=f"{records[ep.name].source} | {ep.value}",
                error=f"id {ep.name!r} is registered twice: {records[ep.name].source} "
                      f"and {ep.value}")
            continue
        records[ep.name] = _load(ep)
    return records


def available_metrics() -> list[MetricInfo]:
    """All registered metrics, sorted by id, including those that failed to load."""
    return [record for _, record in sorted(_registry().items())]


def parse_value(text: str) -> Any:
    """Read a parameter value: int, float, bool, none, else the string itself."""
    t = text.strip()
    low = t.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    try:
        return int(t)
    except ValueError:
        pass
    try:
        return float(t)
    except ValueError:
        return t


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Split ``id:key=value,...`` into the id and a parameter dict."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"metric spec must be a non-empty string like 'shape:alpha=0.5', got {spec!r}")
    mid, _, rest = spec.strip().partition(":")
    mid = mid.strip()
    params: dict[str, Any] = {}
    if rest.strip():
        for part in rest.split(","):
            key, eq, value = part.partition("=")
            key = key.strip()
            if not eq or not key:
                raise ValueError(f"bad parameter {part.strip()!r} in metric spec {spec!r}: "
                                 "expected key=value")
            if key in params:
                raise ValueError(f"parameter {key!r} given twice in metric spec {spec!r}")
            params[key] = parse_value(value)
    return mid, params


def get_metric(spec: str | Metric, **params: Any) -> Metric:
    """Instantiate a metric from a spec string (``"shape:alpha=0.5,score=euclidean"``).

    Keyword ``params`` are added to those in the spec (giving one in both is an error).
    Raises ValueError for an unknown id (suggesting the closest ids and listing all), a
    metric whose plugin failed to load, or an unknown / invalid parameter.
    """
    if isinstance(spec, Metric):
        if params:
            return type(spec)(**{**spec.params, **params})
        return spec
    mid, spec_params = parse_spec(spec)
    both = sorted(set(spec_params) & set(params))
    if both:
        raise ValueError(f"parameter {both[0]!r} given both in the spec {spec!r} and as a keyword")
    records = _registry()
    if mid not in records:
        ok = sorted(k for k, r in records.items() if r.loaded)
        close = difflib.get_close_matches(mid, list(records), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(f"unknown metric id {mid!r}.{hint} Available metrics: {', '.join(ok)}")
    rec = records[mid]
    if rec.error is not None:
        raise ValueError(f"metric {mid!r} is registered but failed to load: {rec.error}")
    assert rec.cls is not None
    return rec.cls(**{**spec_params, **params})


def compare(X: Any, Y: Any, metric: str | Metric = "cca", **params: Any) -> float:
    """Distance between two recordings ``[samples, units]`` with one metric.

    >>> compare(X, Y, "shape", alpha=0.5)          # doctest: +SKIP
    """
    return get_metric(metric, **params)(X, Y)
