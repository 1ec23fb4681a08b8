"""Tables describing what the zoo offers: tasks and architectures."""

from __future__ import annotations

import pandas as pd

from simbench.zoo.architectures import ARCHITECTURES
from simbench.zoo.tasks import TASKS


def task_table() -> pd.DataFrame:
    return pd.DataFrame([
        {"task": t.name, "suite": t.suite.name, "inputs": t.n_inputs, "outputs": t.n_outputs,
         "steps": t.n_steps, "score": t.score, "threshold": t.threshold}
        for t in TASKS.values()
    ])


def architecture_table() -> pd.DataFrame:
    return pd.DataFrame([
        {"architecture": a.name, "family": a.family, "activation": a.activation, "dale": a.dale}
        for a in ARCHITECTURES.values()
    ])
