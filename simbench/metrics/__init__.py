"""Similarity metrics between networks and their registry.

Quick use::

    from simbench.metrics import compare, get_metric, available_metrics
    compare(X, Y, "cca")                         # X, Y: [samples, units], matched rows
    m = get_metric("shape:alpha=0.5,score=euclidean")
    D = m.pairwise([X1, X2, X3])                 # all-pairs distance matrix

Built-in ids: cca, svcca, pwcca, shape, procrustes, permutation, cka, rsa, ot-units,
gw, traj-lsq (``available_metrics()`` lists them with their parameters). The metric
modules are imported lazily by the registry, so a missing optional dependency (POT)
only disables the metrics that need it.
"""

from simbench.metrics.base import KINDS, Metric, Param, State
from simbench.metrics.registry import MetricInfo, available_metrics, compare, get_metric

__all__ = ["KINDS", "Metric", "MetricInfo", "Param", "State", "available_metrics", "compare",
           "get_metric"]
