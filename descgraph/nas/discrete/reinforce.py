"""REINFORCE (Williams, 1992) over a space's decisions, as the NAS-Bench-201 baseline runs it: a policy of
independent categorical logits per decision, loss -log p(action) * (reward - baseline), a moving-average
baseline, Adam.
"""

from __future__ import annotations

import random

import torch

from descgraph.errors import DescgraphError
from descgraph.nas.discrete.space import Code
from descgraph.nas.discrete.strategy import SearchStrategy, Trial, register_strategy


class CategoricalPolicy(torch.nn.Module):
    """Independent categorical distributions, one per decision, from logits that start at 0 (uniform).

    The logits of all decisions sit in one padded matrix (one row per decision), so a step of the
    policy is a handful of tensor operations whatever the number of decisions.

    Args:
        sizes: the number of choices of each decision.
    """

    def __init__(self, sizes: list[int]) -> None:
        super().__init__()
        self.sizes = list(sizes)
        width = max(self.sizes, default=1)
        self.logits = torch.nn.Parameter(torch.zeros(len(self.sizes), width, dtype=torch.float64))
        padding = torch.arange(width)[None, :] >= torch.tensor(self.sizes, dtype=torch.long)[:, None]
        self.register_buffer("padding", padding, persistent=False)

    def log_probs(self) -> torch.Tensor:
        """log p of every choice, one row per decision (-inf past a decision's choices)."""
        return torch.log_softmax(self.logits.masked_fill(self.padding, float("-inf")), dim=1)

    def probs(self) -> list[list[float]]:
        """The probability of every choice of every decision."""
        with torch.no_grad():
            rows = self.log_probs().exp().tolist()
        return [row[:n] for row, n in zip(rows, self.sizes)]

    def sample(self, rng: random.Random) -> Code:
        """One action: a choice per decision, drawn with `rng`."""
        return tuple(rng.choices(range(len(p)), weights=p)[0] for p in self.probs())

    def log_prob(self, code: Code) -> torch.Tensor:
        """log p(code), differentiable in the logits."""
        index = torch.tensor(code, dtype=torch.long)[:, None]
        return self.log_probs().gather(1, index).sum()


class MovingAverage:
    """An exponential moving average with bias correction (NAS-Bench-201's `ExponentialMovingAverage`): the
    weighted mean of the values so far, the weight of older values falling by `momentum` per update.

    Args:
        momentum: how much of the old average each update keeps.
    """

    def __init__(self, momentum: float) -> None:
        self.momentum, self._numerator, self._denominator = momentum, 0.0, 0.0

    @property
    def value(self) -> float | None:
        return self._numerator / self._denominator if self._denominator else None

    def update(self, x: float) -> float:
        """Take in `x`; returns the new average."""
        self._numerator = self.momentum * self._numerator + (1 - self.momentum) * x
        self._denominator = self.momentum * self._denominator + (1 - self.momentum)
        return self.value


@register_strategy("reinforce")
class Reinforce(SearchStrategy):
    """Samples architectures from a categorical policy and moves it toward those that beat the baseline.

    As in NAS-Bench-201's REINFORCE, the baseline takes in the reward before the advantage
    `reward - baseline` is formed. The reward is the result raised to `reward_power`: Zoph and Le
    (2017) cube the accuracy; a higher power weighs the differences among good architectures over
    those among bad ones (the default is tuned on the NAS-Bench-201 table, on seeds 2000-3299).

    Args:
        lr: Adam learning rate of the logits.
        baseline_momentum: momentum of the moving-average baseline.
        reward_power: the reward is result ** reward_power (1: the result itself); results must be >= 0.
    """

    def __init__(self, lr: float = 0.1, baseline_momentum: float = 0.9, reward_power: float = 30.0) -> None:
        if lr <= 0 or not 0 <= baseline_momentum < 1 or reward_power <= 0:
            raise DescgraphError(
                f"reinforce: lr {lr} and reward_power {reward_power} must be > 0, "
                f"baseline_momentum {baseline_momentum} in [0, 1)"
            )
        self.lr, self.baseline_momentum, self.reward_power = lr, baseline_momentum, reward_power

    def _setup(self) -> None:
        self.policy = CategoricalPolicy([len(d) for d in self.space.decisions()])
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=self.lr)
        self.baseline = MovingAverage(self.baseline_momentum)

    def _propose(self) -> Code:
        for _ in range(self.space.max_tries):
            code = self.policy.sample(self.rng)
            if self.space.is_valid(code):
                return code
        raise DescgraphError(f"reinforce: the policy drew no valid architecture in {self.space.max_tries} draws")

    def reward(self, result: float) -> float:
        """The reward of a result."""
        if result < 0 and self.reward_power != 1:
            raise DescgraphError(f"reinforce: result {result} < 0 has no reward with reward_power {self.reward_power}")
        return result**self.reward_power

    def _feedback(self, trial: Trial) -> None:
        reward = self.reward(trial.result)
        advantage = reward - self.baseline.update(reward)
        loss = -self.policy.log_prob(trial.code) * advantage
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
