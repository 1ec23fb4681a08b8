"""The zoo's tasks, grouped in suites that share inputs, outputs and a probe set."""

from __future__ import annotations

from simbench.zoo.task import Suite, Task
from simbench.zoo.tasks.cddm import ContextDecision
from simbench.zoo.tasks.context import ContextIntegration, ContextReport
from simbench.zoo.tasks.gonogo import GoNoGo, GoNoGoImmediate
from simbench.zoo.tasks.memory3 import Decay3, FlipFlop3, Integrate3
from simbench.zoo.tasks.memorynumber import MemoryNumber, MemoryNumberBinary
from simbench.zoo.tasks.oscillation import Hold, Sine

TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        FlipFlop3(),
        Integrate3(),
        Decay3(),
        Sine(),
        Hold(),
        ContextIntegration(),
        ContextReport(),
        ContextDecision(),
        GoNoGo(),
        GoNoGoImmediate(),
        MemoryNumber(),
        MemoryNumberBinary(),
    )
}

SUITES: dict[str, Suite] = {task.suite.name: task.suite for task in TASKS.values()}


def get_task(name: str) -> Task:
    """The task called ``name``; ``ValueError`` listing the valid names otherwise."""
    try:
        return TASKS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown task {name!r}; valid tasks: {', '.join(TASKS)}") from None


def get_suite(name: str) -> Suite:
    """The suite called ``name``; ``ValueError`` listing the valid names otherwise."""
    try:
        return SUITES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown suite {name!r}; valid suites: {', '.join(SUITES)}") from None


def suite_tasks(suite: str) -> list[Task]:
    """The tasks of one suite, in registry order."""
    get_suite(suite)
    return [task for task in TASKS.values() if task.suite.name == suite]


__all__ = ["TASKS", "SUITES", "Suite", "Task", "get_task", "get_suite", "suite_tasks"]
