"""The discrete strategies: resumable by replay, and each doing what its paper says."""

from __future__ import annotations

import collections
import math
import random

import numpy as np
import pytest
import torch

from descgraph.errors import DescgraphError
from descgraph.nas.discrete import (
    STRATEGIES,
    AgingPopulation,
    CategoricalPolicy,
    DartsGenotypeSpace,
    Decision,
    MovingAverage,
    NB201Space,
    SearchSpace,
    SpaceExhausted,
    Trial,
    get_strategy,
    tournament,
)
from descgraph.nas.discrete.reinforce import Adam


def score(code) -> float:
    """A deterministic stand-in for an evaluation: best at all 3s, with some structure between edges."""
    return 50.0 + sum(10.0 - abs(3 - c) ** 2 for c in code) + 2.0 * (code[0] == code[-1])


def search(strategy, n: int) -> list:
    proposals = []
    for _ in range(n):
        code = strategy.propose()
        proposals.append(code)
        strategy.feedback(code, score(code))
    return proposals


@pytest.mark.parametrize("name", STRATEGIES.names())
@pytest.mark.parametrize("k", [0, 7, 25, 40])
def test_a_replayed_strategy_proposes_what_the_uninterrupted_one_proposed_next(name, k):
    full = get_strategy(name)
    full.setup(NB201Space(), seed=11)
    proposals = search(full, 60)
    resumed = get_strategy(name)
    resumed.setup(NB201Space(), seed=11)
    resumed.replay(full.history[:k])
    assert search(resumed, 60 - k) == proposals[k:]


def test_random_search_never_repeats_and_ends_when_the_space_is_exhausted():
    class Tiny(SearchSpace):
        def decisions(self):
            return [Decision("a", (0, 1, 2)), Decision("b", (0, 1))]

        def decode(self, code):
            return code

        def encode(self, arch):
            return arch

    strategy = get_strategy("random")
    strategy.setup(Tiny(), seed=0)
    seen = search(strategy, 6)
    assert sorted(seen) == [(a, b) for a in range(3) for b in range(2)]
    with pytest.raises(SpaceExhausted):
        strategy.propose()


def test_random_search_is_uniform_over_the_valid_codes():
    space = DartsGenotypeSpace(n_nodes=1, ops=("sep_conv_3x3", "max_pool_3x3"))  # 64 valid codes of 256
    firsts = collections.Counter()
    for seed in range(6400):
        strategy = get_strategy("random")
        strategy.setup(space, seed)
        firsts[strategy.propose()] += 1
    assert len(firsts) == 64 and all(space.is_valid(c) for c in firsts)
    assert max(firsts.values()) < 100 + 4 * 10 and min(firsts.values()) > 100 - 4 * 10  # 100 +- 4 sd each
    strategy = get_strategy("random")
    strategy.setup(space, 0)
    assert len(set(search(strategy, 64))) == 64


def test_aging_population_drops_its_oldest_member():
    population = AgingPopulation(3)
    trials = [Trial((i,), float(-i)) for i in range(5)]
    dead = [population.add(t) for t in trials]
    assert dead == [None, None, None, trials[0], trials[1]]  # the best (trial 0) dies of age all the same
    assert population.members() == trials[2:] and population.is_full()


def test_tournament_returns_the_best_of_its_sample_and_the_first_of_ties():
    rng = random.Random(0)
    items = [("a", 1), ("b", 5), ("c", 5), ("d", 2)]
    assert tournament(items, 200, rng, key=lambda t: t[1]) in {("b", 5), ("c", 5)}
    # a sample of one is a uniform draw: each item wins about a quarter of the time
    wins = [tournament(items, 1, rng, key=lambda t: t[1])[0] for _ in range(4000)]
    assert all(abs(wins.count(x) / 4000 - 0.25) < 0.03 for x in "abcd")
    with pytest.raises(DescgraphError, match="no candidates"):
        tournament([], 3, rng, key=lambda t: t)


def test_rea_fills_its_population_at_random_then_mutates_tournament_winners():
    strategy = get_strategy("rea", population_size=8, sample_size=100)
    strategy.setup(NB201Space(), seed=5)
    search(strategy, 8)
    for _ in range(30):
        members = strategy.population.members()
        top = max(t.result for t in members)  # a sample of 100 from 8 holds a best member almost surely
        child = strategy.propose()
        parents = [t for t in members if sum(x != y for x, y in zip(child, t.code)) == 1]
        assert any(t.result == top for t in parents)
        strategy.feedback(child, score(child))
        assert strategy.population.members() == [*members[1:], strategy.history[-1]]


def test_policy_gradient_matches_finite_differences_and_torch():
    policy = CategoricalPolicy([5, 2, 3])
    rng = np.random.default_rng(0)
    policy.logits[~policy.padding] = rng.normal(size=10)
    code = (3, 0, 2)
    grad, eps = policy.grad_log_prob(code), 1e-6
    for i, j in zip(*np.nonzero(~policy.padding)):
        policy.logits[i, j] += eps
        up = policy.log_prob(code)
        policy.logits[i, j] -= 2 * eps
        down = policy.log_prob(code)
        policy.logits[i, j] += eps
        assert grad[i, j] == pytest.approx((up - down) / (2 * eps), abs=1e-7)
    assert np.all(grad[policy.padding] == 0)
    assert math.isclose(
        sum(np.exp(policy.log_prob((a, b, c))) for a in range(5) for b in range(2) for c in range(3)), 1
    )


def test_adam_matches_torch_adam():
    start = np.array([0.5, -1.0, 2.0])
    ours, param = Adam(start.copy(), lr=0.1), torch.tensor(start.copy(), requires_grad=True)
    reference = torch.optim.Adam([param], lr=0.1)
    for step in range(20):
        grad = np.array([math.sin(step), math.cos(3 * step), 0.1 * step - 1])
        ours.step(grad)
        param.grad = torch.tensor(grad)
        reference.step()
    np.testing.assert_allclose(ours.param, param.detach().numpy(), rtol=1e-12)


def test_moving_average_is_bias_corrected():
    avg = MovingAverage(0.9)
    assert avg.update(10.0) == pytest.approx(10.0)
    # (0.9 * 0.1 * 10 + 0.1 * 20) / (0.9 * 0.1 + 0.1)
    assert avg.update(20.0) == pytest.approx((0.09 * 10 + 0.1 * 20) / 0.19)


def test_reinforce_learns_the_rewarded_choice():
    class OneDecision(SearchSpace):
        def decisions(self):
            return [Decision("op", tuple(range(4)))]

        def decode(self, code):
            return code

        def encode(self, arch):
            return arch

    strategy = get_strategy("reinforce", reward_power=1)
    strategy.setup(OneDecision(), seed=0)
    for _ in range(200):
        code = strategy.propose()
        strategy.feedback(code, 90.0 if code == (2,) else 60.0)
    assert strategy.policy.probs()[0, 2] > 0.95


def test_reinforce_reward_is_a_power_of_the_result_relative_to_the_first():
    strategy = get_strategy("reinforce", reward_power=3)
    strategy.setup(NB201Space(), seed=0)
    assert strategy.reward(80.0) == 1.0
    assert strategy.reward(40.0) == pytest.approx(0.125)
    with pytest.raises(DescgraphError, match="result -1.0 < 0"):
        strategy.reward(-1.0)


def test_unknown_strategy_parameters_are_named():
    with pytest.raises(DescgraphError, match=r"strategy 'rea': unknown parameter 'populaton_size' \(did you mean"):
        get_strategy("rea", populaton_size=3)
    with pytest.raises(DescgraphError, match="unknown search strategy 'reinforc'"):
        get_strategy("reinforc")
