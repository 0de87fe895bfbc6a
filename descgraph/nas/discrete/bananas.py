"""BANANAS (White, Neiswanger and Savani, "BANANAS: Bayesian Optimization with Neural Architectures for Neural
Architecture Search", AAAI 2021): Bayesian optimisation whose surrogate is an ensemble of small neural networks
on the path encoding of the architectures.

Each round trains the ensemble on every result so far, makes a pool of candidates by mutating the best
architectures, and proposes the batch of candidates that the acquisition function ranks first: independent
Thompson sampling (ITS, the paper's choice: one draw per candidate from the ensemble's Gaussian) or expected
improvement. The ensemble's networks are trained together as one batched network in float64 from a seed of
their own, so a search is the same on any thread count and replaying its history rebuilds it exactly.
"""

from __future__ import annotations

import math
import random
from collections import deque

import torch

from descgraph.errors import DescgraphError
from descgraph.nas.discrete.space import Code
from descgraph.nas.discrete.strategy import SearchStrategy, check_choice, check_whole, register_strategy

ACQUISITIONS = ("its", "ei")


class MLPEnsemble:
    """`size` fully connected ReLU networks of `layers` hidden layers of `width` units, trained together by Adam
    on the mean absolute error (the BANANAS paper's loss), each from its own random initialisation.

    The weights of layer l are one tensor of shape (size, fan_in, fan_out), so one batched product runs all
    the networks (`predict_all`). Training is full-batch and in float64.

    Args:
        n_features: inputs per example.
        size: networks in the ensemble.
        width: units per hidden layer.
        layers: hidden layers.
        generator: the source of the initial weights.
    """

    def __init__(self, n_features: int, size: int, width: int, layers: int, generator: torch.Generator) -> None:
        dims = [n_features] + [width] * layers + [1]
        self.weights, self.biases = [], []
        for fan_in, fan_out in zip(dims, dims[1:]):
            bound = 1.0 / math.sqrt(fan_in)  # torch.nn.Linear's default initialisation
            w = (torch.rand(size, fan_in, fan_out, generator=generator, dtype=torch.float64) * 2 - 1) * bound
            b = (torch.rand(size, 1, fan_out, generator=generator, dtype=torch.float64) * 2 - 1) * bound
            self.weights.append(w.requires_grad_())
            self.biases.append(b.requires_grad_())

    def parameters(self) -> list[torch.Tensor]:
        return [*self.weights, *self.biases]

    def predict_all(self, x: torch.Tensor) -> torch.Tensor:
        """Every network's output for the rows of `x` (n, features): shape (size, n)."""
        h = x.to(torch.float64).unsqueeze(0).expand(self.weights[0].shape[0], -1, -1)
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b, h, w)
            if i < len(self.weights) - 1:
                h = torch.relu(h)
        return h.squeeze(-1)

    def fit(self, x: torch.Tensor, y: torch.Tensor, epochs: int, lr: float) -> None:
        """Train every network on (x, y) for `epochs` full-batch Adam steps on the mean absolute error."""
        optimizer = torch.optim.Adam(self.parameters(), lr=lr)
        target = y.to(torch.float64).unsqueeze(0)
        for _ in range(epochs):
            optimizer.zero_grad()
            loss = (self.predict_all(x) - target).abs().mean(dim=1).sum()  # each network its own mean
            loss.backward()
            optimizer.step()


def expected_improvement(mean: float, std: float, best: float) -> float:
    """E[max(0, f - best)] for f ~ N(mean, std^2) (Mockus 1978; Jones et al. 1998)."""
    if std <= 0:
        return max(0.0, mean - best)
    z = (mean - best) / std
    cdf = 0.5 * (1 + math.erf(z / math.sqrt(2)))
    pdf = math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return (mean - best) * cdf + std * pdf


@register_strategy("bananas")
class Bananas(SearchStrategy):
    """BANANAS: an MLP ensemble on the space's encoding (`SearchSpace.features`: NAS-Bench-201's path encoding,
    elsewhere one-hot decisions), a pool of mutations of the best architectures, a batch of proposals by ITS or
    expected improvement per round.

    The first `initial` architectures are random (drawn with `draw_initial`, so a warm start's best come
    first). Then each round trains a new ensemble on every result (standardized), draws `candidates` distinct
    unknown architectures, each a mutation (1 to `max_mutations` changes) of one of the `parents` best so far,
    and proposes the `batch` that the acquisition ranks first; the next round begins once all their results
    are back. Under cost bounds (a `ConstrainedSpace`) the mutations and the initial draws meet them, and each
    initial draw is the costliest of `bound_draws` feasible draws (as rea's and local's: the best architectures
    under a bound sit near it).

    The defaults are tuned on the NAS-Bench-201 table at 100 queries (seeds 1000-1019 and 1100-1139): expected
    improvement over mutations of the 3 best (94.28 on `cifar10_test_200`, searching `cifar10_val_12`) against
    ITS over mutations of the 10 best (93.98).

    Args:
        initial: random architectures before the first round (the paper: 10).
        batch: proposals per round (the paper: 10).
        candidates: the acquisition's pool per round (the paper: 100).
        parents: the best architectures the pool mutates.
        max_mutations: changes per candidate, at most (drawn uniformly from 1..max_mutations).
        ensemble: networks in the ensemble (the paper: 5).
        width: units per hidden layer (the paper: 20).
        layers: hidden layers (the paper: 10; fewer train faster on a few dozen results).
        epochs: full-batch training steps per round.
        lr: Adam's learning rate.
        acquisition: `its` (independent Thompson sampling) or `ei` (expected improvement).
        bound_draws: feasible draws per initial draw under cost bounds, the costliest proposed (1: no preference;
            3 closed 0.869 of the samsung_a50 median-bound gap on seeds 1000-1049, against 0.797 with 1).
    """

    def __init__(
        self,
        initial: int = 10,
        batch: int = 10,
        candidates: int = 100,
        parents: int = 3,
        max_mutations: int = 1,
        ensemble: int = 5,
        width: int = 20,
        layers: int = 3,
        epochs: int = 200,
        lr: float = 0.01,
        acquisition: str = "ei",
        bound_draws: int = 3,
    ) -> None:
        check_whole(
            "bananas", initial=initial, batch=batch, candidates=candidates, parents=parents,
            max_mutations=max_mutations, ensemble=ensemble, width=width, layers=layers, epochs=epochs,
            bound_draws=bound_draws,
        )  # fmt: skip
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf:
            raise DescgraphError(f"bananas: lr {lr!r}: must be a number > 0")
        check_choice("bananas", "acquisition", acquisition, ACQUISITIONS)
        self.initial, self.batch, self.candidates, self.parents = initial, batch, candidates, parents
        self.max_mutations, self.ensemble, self.width, self.layers = max_mutations, ensemble, width, layers
        self.epochs, self.lr, self.acquisition = epochs, float(lr), acquisition
        self.bound_draws = bound_draws

    def _setup(self) -> None:
        self.queue: deque[Code] = deque()
        self.started = 0  # initial draws proposed
        self.rounds = 0

    def can_propose(self, pending: int) -> bool:
        # a round's ensemble is trained on every result proposed before it
        return self.started < self.initial or bool(self.queue) or pending == 0

    def _propose(self) -> Code:
        if self.started < self.initial:
            self.started += 1
            return self.draw_initial(bound_draws=self.bound_draws)
        if not self.queue:
            self.queue = deque(self._round())
        return self.queue.popleft()

    # --- one round ------------------------------------------------------------------------------
    def _round(self) -> list[Code]:
        """Train an ensemble on the history and pick the next batch from a pool of mutations."""
        self.rounds += 1
        rng = random.Random(f"bananas {self.seed} round {self.rounds}")
        pool = self._pool(rng)
        if not pool:  # every mutation is known: a random architecture keeps the search going
            return [self.space.sample(self.rng)]
        codes, y = self._standardized()
        mean, std = self.predict(pool, self.rounds, codes, y)
        if self.acquisition == "its":
            scores = [rng.gauss(m, s) for m, s in zip(mean, std)]
        else:
            scores = [expected_improvement(m, s, max(y)) for m, s in zip(mean, std)]
        order = sorted(range(len(pool)), key=lambda i: -scores[i])
        return [pool[i] for i in order[: self.batch]]

    def _pool(self, rng: random.Random) -> list[Code]:
        """Up to `candidates` distinct unknown codes, each a mutation of one of the best `parents` so far."""
        results = self.results()
        tops = sorted(results, key=lambda c: -results[c])[: self.parents]
        pool: list[Code] = []
        seen = set(results)
        for _ in range(20 * self.candidates):
            if len(pool) == self.candidates:
                break
            code = tops[rng.randrange(len(tops))]
            for _ in range(rng.randint(1, self.max_mutations)):
                code = self.space.mutate(code, rng)
            code = self.space.canonical(code)
            if code not in seen:
                seen.add(code)
                pool.append(code)
        return pool

    def _standardized(self) -> tuple[list[Code], list[float]]:
        """The distinct codes of the history and their results standardized (zero mean, unit std)."""
        results = self.results()
        codes, values = list(results), list(results.values())
        mu = sum(values) / len(values)
        sd = math.sqrt(sum((v - mu) ** 2 for v in values) / len(values)) or 1.0
        return codes, [(v - mu) / sd for v in values]

    def train_ensemble(self, round_: int, codes: list[Code] | None = None, y: list[float] | None = None) -> MLPEnsemble:
        """A new ensemble trained on the standardized history (or on `codes` and `y`, already standardized), from
        the seed of this search and round."""
        if codes is None or y is None:
            codes, y = self._standardized()
        x = torch.tensor([self.space.features(c) for c in codes], dtype=torch.float64)
        generator = torch.Generator().manual_seed(hash_seed(self.seed, round_))
        model = MLPEnsemble(x.shape[1], self.ensemble, self.width, self.layers, generator)
        model.fit(x, torch.tensor(y, dtype=torch.float64), self.epochs, self.lr)
        return model

    def predict(
        self, codes: list[Code], round_: int, history: list[Code] | None = None, y: list[float] | None = None
    ) -> tuple[list[float], list[float]]:
        """The ensemble's mean and standard deviation (over its networks) for each code, standardized units."""
        model = self.train_ensemble(round_, history, y)
        with torch.no_grad():
            out = model.predict_all(torch.tensor([self.space.features(c) for c in codes], dtype=torch.float64))
        mean = out.mean(dim=0)
        std = out.std(dim=0, unbiased=False) if out.shape[0] > 1 else torch.zeros_like(mean)
        return mean.tolist(), std.tolist()


def hash_seed(seed: int, round_: int) -> int:
    """A 63-bit seed of a search's round, the same in every process (unlike `hash` of a str)."""
    return (seed * 1_000_003 + round_ * 7_919) % (2**63 - 1)
