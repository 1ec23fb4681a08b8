"""The benchmark layer: all-pairs engine, separation scores, design bootstrap, leaderboards."""

from simbench.bench.bootstrap import bootstrap_intervals, permutation_pvalues
from simbench.bench.design import Design
from simbench.bench.scores import ScoreFunction, separation_scores

__all__ = ["Design", "ScoreFunction", "bootstrap_intervals", "permutation_pvalues", "separation_scores"]
