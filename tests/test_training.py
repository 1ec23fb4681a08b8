"""Population training: independence of members, learning, early stopping, bad input."""

import numpy as np
import pytest
import torch

from simbench.zoo import TrainConfig, get_architecture, train_population
from simbench.zoo.optim import PopulationAdam
from simbench.zoo.training import evaluate, _stack

SMALL = TrainConfig(max_steps=30, batch_size=8, eval_every=10, eval_batch=16, threads=1)


# a strict plateau rule makes networks stop at different checks, so the population
# shrinks while the others go on
STAGGERED = TrainConfig(max_steps=80, batch_size=8, eval_every=10, eval_batch=16, patience=1,
                        min_improvement=0.05, threads=1)


@pytest.mark.parametrize("arch", ["gru", "ctrnn-sigmoid-dale"])
def test_member_result_does_not_depend_on_population(arch):
    alone = train_population(arch, 8, [("decay3", 7)], STAGGERED, progress=False)
    crowd = train_population(arch, 8, [("decay3", 1), ("flipflop3", 4), ("integrate3", 2),
                                       ("decay3", 7)], STAGGERED, progress=False)
    steps = crowd.table.steps
    assert steps.min() < steps[3]  # others left the population while member 3 trained on
    assert alone.table.steps[0] == steps[3]
    moved = 0.0
    for name, p in alone.population.named_parameters():
        q = dict(crowd.population.named_parameters())[name]
        torch.testing.assert_close(p[0], q[3], atol=2e-5, rtol=1e-4)
        fresh = dict(get_architecture(arch).population(3, 3, 8, [7]).named_parameters())[name]
        moved = max(moved, float((p[0] - fresh[0]).detach().abs().max()))
    assert moved > 1e-3  # training changed the weights, so the comparison means something
    assert alone.table.performance[0] == pytest.approx(crowd.table.performance[3], abs=1e-4)


def test_training_reduces_the_loss():
    config = TrainConfig(max_steps=150, batch_size=16, eval_every=50, eval_batch=32, threads=1)
    members = [("decay3", 0), ("decay3", 1)]
    result = train_population("gru", 16, members, config, progress=False)
    untrained = get_architecture("gru").population(3, 3, 16, [0, 1])
    from simbench.zoo import get_task

    batch = _stack([get_task("decay3").sample(np.random.default_rng([s, 4]), 32) for s in (0, 1)])
    before, _ = evaluate(untrained, [get_task("decay3")] * 2, batch)
    assert (result.table.final_loss.to_numpy() < 0.25 * before).all()
    assert (result.table.performance > 0.5).all()


def test_early_stopping_freezes_a_network():
    config = TrainConfig(max_steps=40, batch_size=8, eval_every=10, eval_batch=16,
                         stop_performance=0.0, threads=1)
    result = train_population("vanilla-tanh", 6, [("hold", 0)], config, progress=False)
    assert result.table.steps[0] == 10 and result.table.stop_reason[0] == "performance"
    history = result.history
    assert history.step.max() == 10  # the loop ended once no network was active


def test_population_adam_clips_each_network_alone():
    a = torch.zeros(2, 3, requires_grad=True)
    optimiser = PopulationAdam([a], [False], lr=0.1, max_grad_norm=1.0)
    a.grad = torch.tensor([[1e6, 0.0, 0.0], [0.0, 1e-3, 0.0]])
    optimiser.step(torch.tensor([True, False]))
    # Adam's first step moves an active coordinate by lr·sign(g); the inactive network stays
    torch.testing.assert_close(a.detach(), torch.tensor([[-0.1, 0.0, 0.0], [0.0, 0.0, 0.0]]))


def test_population_adam_has_one_learning_rate_per_network():
    a = torch.zeros(3, 2, requires_grad=True)
    optimiser = PopulationAdam([a], [False], lr=torch.tensor([0.1, 0.01, 0.001]))
    a.grad = torch.tensor([[1.0, -1.0], [1.0, -1.0], [1.0, -1.0]]) * 1e-3
    optimiser.step(torch.tensor([True, True, True]))
    expected = torch.tensor([[-0.1, 0.1], [-0.01, 0.01], [-0.001, 0.001]])
    torch.testing.assert_close(a.detach(), expected)
    kept = optimiser.select([2, 0], [a.detach()[[2, 0]].clone()])
    torch.testing.assert_close(kept.lr, torch.tensor([0.001, 0.1]))
    with pytest.raises(ValueError, match="one rate per network"):
        PopulationAdam([a], [False], lr=torch.tensor([0.1, 0.01]))


def test_a_plateau_drops_the_learning_rate_before_it_stops_a_network():
    # min_improvement 0.999 makes every check after the first a stale one
    stale = dict(max_steps=100, batch_size=8, eval_every=10, eval_batch=16, patience=1,
                 min_improvement=0.999, lr=0.01, threads=1)
    members = [("decay3", 0), ("decay3", 1)]
    plain = train_population("gru", 6, members, TrainConfig(**stale, lr_drops=0), progress=False)
    assert (plain.table.steps == 20).all() and (plain.table.stop_reason == "plateau").all()
    dropped = train_population("gru", 6, members, TrainConfig(**stale, lr_drops=2, lr_drop_factor=0.5),
                               progress=False)
    assert (dropped.table.steps == 40).all() and (dropped.table.stop_reason == "plateau").all()
    for member in (0, 1):
        lr = dropped.history.query("member == @member").sort_values("step").lr.to_numpy()
        np.testing.assert_allclose(lr, [0.01, 0.01, 0.005, 0.0025], rtol=1e-6)


def test_bad_training_input():
    with pytest.raises(ValueError, match="inconsistent batch"):
        train_population("gru", 4, [("flipflop3", 0), ("sine", 0)], SMALL, progress=False)
    with pytest.raises(ValueError, match="unknown task 'flipflop'"):
        train_population("gru", 4, [("flipflop", 0)], SMALL, progress=False)
    with pytest.raises(ValueError, match="unknown architecture"):
        train_population("transformer", 4, [("flipflop3", 0)], SMALL, progress=False)
    with pytest.raises(ValueError, match="hidden must be a positive integer"):
        train_population("gru", -1, [("flipflop3", 0)], SMALL, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="lr_drops"):
        TrainConfig(lr_drops=-1)
    with pytest.raises(ValueError, match="lr_drop_factor"):
        TrainConfig(lr_drop_factor=1.5)
