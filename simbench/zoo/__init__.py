"""The model zoo: tasks, architectures and population training."""

from simbench.zoo.architectures import ARCHITECTURES, Network, Population, get_architecture
from simbench.zoo.task import Batch, Probe, Suite, Task
from simbench.zoo.tasks import SUITES, TASKS, get_suite, get_task, suite_tasks
from simbench.zoo.training import Member, TrainConfig, TrainResult, train_population

__all__ = [
    "ARCHITECTURES", "SUITES", "TASKS", "Batch", "Member", "Network", "Population", "Probe",
    "Suite", "Task", "TrainConfig", "TrainResult", "get_architecture", "get_suite", "get_task",
    "suite_tasks", "train_population",
]
