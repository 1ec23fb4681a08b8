"""Dynamics of trained networks: fixed points, linearisation, slow manifolds, limit cycles, topology.

Quick use::

    from simbench.dynamics import analyse, analyse_many
    result = analyse(zoo.network("flipflop3-gru-h32-s0"))     # a DynamicsResult
    result.summary()                                          # counts per input condition
    result.graph(0)                                           # networkx topology graph
    arrays, meta = result.to_arrays()                         # safetensors + JSON, no pickle

Modules: :mod:`~simbench.dynamics.system` (batched systems from networks / populations /
Network-like objects), :mod:`~simbench.dynamics.fixed_points` (the batched finder),
:mod:`~simbench.dynamics.attractors` (slow manifolds, limit cycles),
:mod:`~simbench.dynamics.topology` (graphs and their comparison),
:mod:`~simbench.dynamics.inputs` (the suites' constant inputs),
:mod:`~simbench.dynamics.analysis` (the pipeline), :mod:`~simbench.dynamics.result`,
:mod:`~simbench.dynamics.cache` (a zoo's analyses: committed with it, cached, or
computed; ``zoo_dynamics(zoo, ids)``). Behavioural analyses: :mod:`~simbench.dynamics.ood`
(out-of-distribution psychometric maps of CDDM networks, ``ood_maps``) and
:mod:`~simbench.dynamics.latent_circuit` (latent-circuit distillation,
``fit_latent_circuits``), on :mod:`~simbench.dynamics.simulate`.
"""

from simbench.dynamics.analysis import AnalysisOptions, analyse, analyse_many, analyse_system
from simbench.dynamics.fixed_points import FinderOptions, jacobian, minimise_speed, newton_polish
from simbench.dynamics.inputs import constant_inputs
from simbench.dynamics.latent_circuit import LatentCircuit, LatentCircuitOptions, fit_latent_circuits
from simbench.dynamics.ood import OODMap, ood_map, ood_maps, plot_ood_map
from simbench.dynamics.result import DynamicsResult
from simbench.dynamics.system import System, as_system, stack_networks


__all__ = ["AnalysisOptions", "DynamicsResult", "FinderOptions", "LatentCircuit", "LatentCircuitOptions",
           "OODMap", "System", "analyse", "analyse_many", "analyse_system", "as_system", "constant_inputs",
           "fit_latent_circuits", "jacobian", "minimise_speed", "newton_polish", "ood_map", "ood_maps",
           "plot_ood_map", "stack_networks"]
