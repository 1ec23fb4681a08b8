"""Architectures: agreement with torch's cells, hand-written BPTT against autograd, Dale's law."""

import copy

import numpy as np
import pytest
import torch

from simbench.zoo.architectures import ARCHITECTURES, Network, get_architecture
from simbench.zoo.architectures.ctrnn import SPECTRAL_RADIUS
from simbench.zoo.architectures.population import spectral_radius


def _copy_torch_cell(cell, population, with_rec_bias):
    """Load a torch.nn.GRU/LSTM's weights into member 0 of a population."""
    with torch.no_grad():
        population.w_in[0] = cell.weight_ih_l0.T
        population.w_rec[0] = cell.weight_hh_l0.T
        if with_rec_bias:
            population.b_in[0, 0] = cell.bias_ih_l0
            population.b_rec[0, 0] = cell.bias_hh_l0
        else:
            population.b_in[0, 0] = cell.bias_ih_l0 + cell.bias_hh_l0


@pytest.mark.parametrize("arch,cls", [("gru", torch.nn.GRU), ("lstm", torch.nn.LSTM)])
def test_gated_cells_agree_with_torch(arch, cls):
    torch.manual_seed(0)
    cell = cls(3, 16, batch_first=True)
    population = get_architecture(arch).population(3, 2, 16, [0])
    _copy_torch_cell(cell, population, with_rec_bias=arch == "gru")
    x = torch.randn(4, 25, 3)
    expected, _ = cell(x)
    states, _ = population(x[None])
    torch.testing.assert_close(states[0, ..., :16], expected, atol=1e-5, rtol=1e-5)
    # the single-step interface agrees with the scan
    net = Network(population)
    h = net.initial_state(4)
    for t in range(3):
        h = net.step(h, x[:, t])
    torch.testing.assert_close(h, states[0, :, 2], atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_handwritten_bptt_matches_autograd(arch):
    """The fused scan's gradients equal autograd through the step function (float64)."""
    torch.manual_seed(1)
    population = get_architecture(arch).population(3, 2, 6, [0, 1]).double()
    x = torch.randn(2, 3, 9, 3, dtype=torch.float64)
    noise = 0.1 * torch.randn(2, 3, 9, population.drive_size, dtype=torch.float64)
    h0 = 0.3 * torch.rand(2, 3, population.state_size, dtype=torch.float64)
    weights = torch.randn(2, 3, 9, population.state_size, dtype=torch.float64)

    def loss_and_grads(run):
        population.zero_grad()
        start = h0.clone().requires_grad_()
        states, outputs = run(start)
        ((states * weights).sum() + outputs.pow(2).sum()).backward()
        return states.detach(), start.grad, [p.grad.clone() for p in population.parameters()]

    def by_steps(start):
        h, states = start, []
        drive = population.drive(x) + noise
        for t in range(9):
            h = population._recur(h, drive[:, :, t])
            states.append(h)
        states = torch.stack(states, 2)
        return states, population.readout(states)

    fused = loss_and_grads(lambda start: population(x, noise, h0=start))
    reference = loss_and_grads(by_steps)
    torch.testing.assert_close(fused[0], reference[0])
    torch.testing.assert_close(fused[1], reference[1])
    for a, b in zip(fused[2], reference[2]):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("arch", ["vanilla-tanh", "ctrnn-relu-free", "gru", "lstm", "ugrnn"])
def test_reused_buffers_change_no_gradient(arch):
    """The workspace hands buffers from one backward pass to the next forward pass:
    repeated and interleaved passes give the gradients of a fresh population, bit for bit."""
    torch.manual_seed(2)
    x = torch.randn(2, 4, 7, 3)
    targets = torch.randn(2, 4, 7, 2)

    def grads(population, inputs):
        population.zero_grad()
        (population(inputs)[1] - targets).pow(2).sum().backward()
        return [p.grad.clone() for p in population.parameters()]

    def fresh(inputs):
        return grads(get_architecture(arch).population(3, 2, 6, [0, 1]), inputs)

    population = get_architecture(arch).population(3, 2, 6, [0, 1])
    held, outputs = population(x)  # returned states must survive later passes untouched
    (outputs - targets).pow(2).sum().backward()
    expected_states = held.detach().clone()
    for inputs in (x, 2 * x, x):  # the second and third passes run in reused buffers
        for a, b in zip(grads(population, inputs), fresh(inputs)):
            assert torch.equal(a, b)
    # saved buffers were handed back (a vanilla RNN saves nothing but its states)
    assert all(bool(part.workspace.free) == (arch != "vanilla-tanh") for part in population.parts())
    assert torch.equal(held, expected_states)
    copied = copy.deepcopy(population)  # a copy carries parameters, not scratch buffers
    assert not copied.workspace.free and "_parts" not in vars(copied)
    for a, b in zip(grads(copied, x), fresh(x)):
        assert torch.equal(a, b)
    # two forward passes before their backward passes: neither may overwrite the other
    population.zero_grad()
    first, second = population(x)[1], population(2 * x)[1]
    ((second - targets).pow(2).sum() + (first - targets).pow(2).sum()).backward()
    both = [p.grad.clone() for p in population.parameters()]
    expected = [a + b for a, b in zip(fresh(x), fresh(2 * x))]
    for a, b in zip(both, expected):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("arch", [a for a in ARCHITECTURES if a.startswith("ctrnn")])
def test_ctrnn_initialisation_and_dale(arch):
    population = get_architecture(arch).population(6, 2, 20, [0, 1, 2])
    for w in population.w_rec.detach():
        assert spectral_radius(w) == pytest.approx(SPECTRAL_RADIUS, rel=1e-4)
    if get_architecture(arch).dale:
        sign = population.unit_sign
        assert (sign > 0).sum() == 16  # 80 % excitatory
        with torch.no_grad():  # an optimiser step that breaks every constraint
            for p in population.parameters():
                p.add_(torch.randn_like(p))
        population.project()
        w = population.w_rec.detach()
        assert (w[:, sign > 0] >= 0).all() and (w[:, sign < 0] <= 0).all()
        assert (population.w_in >= 0).all()
        assert (population.w_out[:, sign < 0] == 0).all()


def test_ctrnn_is_a_leaky_integrator():
    """With W_rec = 0 and f = ReLU, x_t = (1 − (1 − α)^t) · relu(W_in u) for constant u."""
    population = get_architecture("ctrnn-relu-free").population(1, 1, 4, [0])
    with torch.no_grad():
        population.w_rec.zero_()
    u = torch.ones(1, 1, 30, 1)
    states, _ = population(u)
    drive = torch.relu(population.w_in[0, 0]).detach()
    t = torch.arange(1, 31, dtype=torch.float32)[:, None]
    torch.testing.assert_close(states[0, 0], (1 - 0.9**t) * drive, atol=1e-6, rtol=1e-5)


def test_members_do_not_depend_on_their_population():
    arch = get_architecture("gru")
    alone = arch.population(3, 3, 8, [5])
    crowd = arch.population(3, 3, 8, [1, 5, 9])
    for name, p in alone.named_parameters():
        torch.testing.assert_close(p[0], dict(crowd.named_parameters())[name][1])


def test_network_runs_like_its_population():
    population = get_architecture("ugrnn").population(2, 1, 5, [3, 4])
    net = Network.from_population(population, 1, {"seed": 4})
    x = torch.randn(2, 7, 2)
    states, outputs = net.run(x)
    full_states, full_outputs = population(torch.stack([x, x]))
    torch.testing.assert_close(states, full_states[1])
    torch.testing.assert_close(outputs, full_outputs[1])
    torch.testing.assert_close(net.readout(states[:, -1]), outputs[:, -1])


def test_vanilla_initialisation():
    """Identity-like W_rec by default; input_gain scales only the input weights."""
    tanh = get_architecture("vanilla-tanh").population(3, 3, 64, [5])
    relu = get_architecture("vanilla-relu").population(3, 3, 64, [5])
    wide = get_architecture("vanilla-tanh").population(3, 3, 64, [5], input_gain=1.0)
    assert tanh.options["input_gain"] == 0.1 and relu.options["input_gain"] == 1.0
    torch.testing.assert_close(tanh.w_in, 0.1 * wide.w_in)
    torch.testing.assert_close(tanh.w_rec, wide.w_rec)
    off_diagonal = tanh.w_rec[0] - torch.diag(torch.diagonal(tanh.w_rec[0]))
    torch.testing.assert_close(torch.diagonal(tanh.w_rec[0]), torch.full((64,), 0.9), atol=0.06, rtol=0)
    assert float(off_diagonal.detach().pow(2).mean().sqrt()) == pytest.approx(0.1 / 8, rel=0.1)
    orthogonal = get_architecture("vanilla-tanh").population(3, 3, 16, [5], init="orthogonal").w_rec[0]
    torch.testing.assert_close(orthogonal.T @ orthogonal, torch.eye(16), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="input_gain must be positive"):
        get_architecture("vanilla-tanh").population(3, 3, 4, [0], input_gain=0)
    with pytest.raises(ValueError, match="unknown init 'xavier'"):
        get_architecture("vanilla-tanh").population(3, 3, 4, [0], init="xavier")


def test_bad_architecture_input():
    with pytest.raises(ValueError, match="valid architectures: vanilla-tanh"):
        get_architecture("rnn")
    with pytest.raises(ValueError, match="hidden must be a positive integer, got 0"):
        get_architecture("gru").population(3, 3, 0, [0])
    with pytest.raises(ValueError, match="inputs must be"):
        get_architecture("gru").population(3, 3, 4, [0])(torch.zeros(1, 2, 5, 4))
    with pytest.raises(ValueError, match="excitatory"):
        get_architecture("ctrnn-relu-dale").population(3, 3, 1, [0])


@pytest.mark.parametrize("arch", ["vanilla-tanh", "ctrnn-sigmoid-dale", "gru", "lstm"])
def test_threads_split_the_population_without_changing_results(arch):
    """With k torch threads each thread trains its own share of the networks (parts);
    outputs and gradients equal those of one thread running the whole population (to
    float32 rounding: the batched products may pick other kernels for other batch sizes)."""
    torch.manual_seed(3)
    x, targets = torch.randn(5, 4, 7, 3), torch.randn(5, 4, 7, 2)
    population = get_architecture(arch).population(3, 2, 6, range(5))
    threads = torch.get_num_threads()
    results = []
    try:
        for count in (1, 3):
            torch.set_num_threads(count)
            assert [p.size for p in population.parts()] == ([5] if count == 1 else [2, 1, 2])
            population.zero_grad()
            outputs = population(x)[1]
            (outputs - targets).pow(2).sum().backward()
            results.append([outputs.detach()] + [p.grad.clone() for p in population.parameters()])
            assert torch.get_num_threads() == count  # restored after the parallel passes
    finally:
        torch.set_num_threads(threads)
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
