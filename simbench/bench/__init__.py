"""Benchmarking: all-pairs distances, separation scores, leaderboards."""

from simbench.bench.scores import bootstrap_scores, separation_scores

__all__ = ["bootstrap_scores", "separation_scores"]
