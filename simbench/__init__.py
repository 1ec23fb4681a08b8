"""simbench: which similarity metric sees what in recurrent network dynamics."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("simbench")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from simbench.zoo import (  # noqa: E402
    ARCHITECTURES,
    SUITES,
    TASKS,
    Network,
    TrainConfig,
    get_architecture,
    get_task,
    train_population,
)
from simbench.zoo.store import Zoo, load_zoo  # noqa: E402
from simbench.metrics import Metric, available_metrics, compare, get_metric  # noqa: E402
from simbench.zoo.adapters import TorchRNNAdapter  # noqa: E402


def __getattr__(name: str):
    """``simbench.place`` (:func:`simbench.bench.place.place`), imported on first use."""
    if name == "place":
        from simbench.bench.place import place

        return place
    raise AttributeError(f"module 'simbench' has no attribute {name!r}")


__all__ = [
    "ARCHITECTURES", "SUITES", "TASKS", "Network", "TrainConfig", "__version__",
    "Metric", "Zoo", "available_metrics", "compare", "get_architecture", "get_metric", "get_task",
    "load_zoo", "train_population",
    "TorchRNNAdapter", "place",
]
