"""The zoo layer's error: a zoo that cannot be read, naming the file and network at fault."""

from __future__ import annotations


class ZooError(ValueError):
    """A zoo that cannot be read, naming the file and network at fault."""
