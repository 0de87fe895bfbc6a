"""REINFORCE (Williams, 1992) over a space's decisions, as the NAS-Bench-201 baseline runs it: a policy of
independent categorical logits per decision, loss -log p(action) * (reward - baseline), a moving-average
baseline, Adam.

The policy is a few dozen numbers, so it lives in numpy with its gradient in closed form: a torch step
on so small a tensor costs milliseconds on a busy machine, where this costs microseconds.
"""

from __future__ import annotations

import random

import numpy as np

from descgraph.errors import DescgraphError
from descgraph.nas.discrete.space import Code
from descgraph.nas.discrete.spaces import BoundUnmet, ConstrainedSpace
from descgraph.nas.discrete.strategy import SearchStrategy, Trial, register_strategy


class Adam:
    """Adam (Kingma and Ba, 2015, Algorithm 1) on one array, updated in place.

    Args:
        param: the array to optimize.
        lr: step size.
        betas: decay rates of the first and second moment estimates.
        eps: added to the root of the second moment.
    """

    def __init__(self, param: np.ndarray, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.param, self.lr, self.betas, self.eps = param, lr, betas, eps
        self.m, self.v, self.t = np.zeros_like(param), np.zeros_like(param), 0

    def step(self, grad: np.ndarray) -> None:
        """One descent step along `grad`."""
        b1, b2 = self.betas
        self.t += 1
        self.m = b1 * self.m + (1 - b1) * grad
        self.v = b2 * self.v + (1 - b2) * grad * grad
        m_hat, v_hat = self.m / (1 - b1**self.t), self.v / (1 - b2**self.t)
        self.param -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class CategoricalPolicy:
    """Independent categorical distributions, one per decision, from logits that start at 0 (uniform).

    The logits sit in one matrix, a row per decision, padded with -inf past each decision's choices.

    Args:
        sizes: the number of choices of each decision.
    """

    def __init__(self, sizes: list[int]) -> None:
        self.sizes = list(sizes)
        width = max(self.sizes, default=1)
        self.padding = np.arange(width)[None, :] >= np.array(self.sizes, dtype=int)[:, None]
        self.logits = np.where(self.padding, -np.inf, 0.0)

    def probs(self) -> np.ndarray:
        """p of every choice, a row per decision (0 past a decision's choices)."""
        z = np.exp(self.logits - self.logits.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def sample(self, rng: random.Random, probs: list[list[float]] | None = None) -> Code:
        """One action: a choice per decision, drawn with `rng` (from `probs().tolist()` when given: many
        draws between two updates compute it once)."""
        rows = self.probs().tolist() if probs is None else probs
        return tuple(rng.choices(range(n), weights=row[:n])[0] for row, n in zip(rows, self.sizes))

    def log_prob(self, code: Code) -> float:
        """log p(code)."""
        return float(np.log(self.probs()[np.arange(len(code)), list(code)]).sum())

    def grad_log_prob(self, code: Code) -> np.ndarray:
        """d log p(code) / d logits: onehot(code) - p per decision (0 on the padding)."""
        grad = -self.probs()
        grad[np.arange(len(code)), list(code)] += 1.0
        return grad


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
    those among bad ones (the defaults are tuned on the NAS-Bench-201 table at 100 queries, seeds 1000-3299).

    Under cost bounds (a `ConstrainedSpace`) infeasible draws of the policy are resampled, each proposal
    is the costliest of `bound_draws` feasible draws (near the bound is where the best feasible
    architectures are), and the logits learn at `bound_lr`: the policy, blind to the bound, runs toward
    architectures that break it, and a slower one goes on proposing new feasible ones for longer (at 0.1,
    a third of the budget went unspent on repeats). Both tuned on seeds 1000-1099 under latency bounds.

    Args:
        lr: Adam learning rate of the logits.
        baseline_momentum: momentum of the moving-average baseline.
        reward_power: the reward is result ** reward_power (1: the result itself); results must be >= 0.
        bound_draws: feasible draws per proposal under cost bounds, the costliest proposed (1: no preference).
        bound_lr: the learning rate under cost bounds.
    """

    warm_startable = False  # every proposal is a draw of the policy, whose gradient assumes it

    def __init__(
        self,
        lr: float = 0.1,
        baseline_momentum: float = 0.9,
        reward_power: float = 30.0,
        bound_draws: int = 4,
        bound_lr: float = 0.05,
    ) -> None:
        if min(lr, bound_lr, reward_power) <= 0 or not 0 <= baseline_momentum < 1 or bound_draws < 1:
            raise DescgraphError(
                f"reinforce: lr {lr}, bound_lr {bound_lr} and reward_power {reward_power} must be > 0, "
                f"baseline_momentum {baseline_momentum} in [0, 1), bound_draws {bound_draws} >= 1"
            )
        self.lr, self.baseline_momentum, self.reward_power = lr, baseline_momentum, reward_power
        self.bound_draws, self.bound_lr = bound_draws, bound_lr

    def _setup(self) -> None:
        self.policy = CategoricalPolicy([len(d) for d in self.space.decisions()])
        bounded = isinstance(self.space, ConstrainedSpace)
        self.optimizer = Adam(self.policy.logits, lr=self.bound_lr if bounded else self.lr)
        self.baseline = MovingAverage(self.baseline_momentum)
        self.scale: float | None = None

    def _propose(self) -> Code:
        probs = self.policy.probs().tolist()
        return self.space.near_bound(lambda: self._draw(probs), self.bound_draws)

    def _draw(self, probs: list[list[float]]) -> Code:
        """A valid action of the policy: infeasible draws are resampled, so the search sees none of them."""
        for _ in range(self.space.max_tries):
            code = self.policy.sample(self.rng, probs)
            if self.space.is_valid(code):
                return code
        if isinstance(self.space, ConstrainedSpace):
            raise BoundUnmet(self.space.unmet_message("reinforce"))
        raise DescgraphError(f"reinforce: the policy drew no valid architecture in {self.space.max_tries} draws")

    def reward(self, result: float) -> float:
        """The reward of a result: (result / first result) ** reward_power.

        Dividing by the first result keeps the powers in floating-point range; Adam's steps do not
        depend on the scale of the loss.
        """
        if self.reward_power == 1:
            return result
        if result < 0:
            raise DescgraphError(f"reinforce: result {result} < 0 has no reward with reward_power {self.reward_power}")
        if self.scale is None:
            self.scale = result or 1.0
        return (result / self.scale) ** self.reward_power

    def _feedback(self, trial: Trial) -> None:
        reward = self.reward(trial.result)
        advantage = reward - self.baseline.update(reward)
        # the gradient of the loss -log p(action) * advantage
        self.optimizer.step(-advantage * self.policy.grad_log_prob(trial.code))
