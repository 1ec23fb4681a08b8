"""Dynamics tests run single-threaded (the machine is shared)."""

import torch

torch.set_num_threads(1)
