"""The search-space interface of discrete search: an architecture as a fixed-length code of choices.

Every discrete space (NAS-Bench-201 cells, DARTS genotypes, ENAS cells and networks, BigNAS
subnets) is a list of `Decision`s, each a categorical choice among plain values. An architecture is
held two ways: its *code*, a tuple with the index chosen at each decision (what strategies work on,
hashable, comparable), and its *native* form (an arch string, a Genotype, a BigNAS config) that
`decode` produces and a builder turns into a ModelDesc. Sampling, mutation and crossover act on
codes; a space whose codes are not all valid overrides `is_valid` (or the operators themselves).
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from descgraph.errors import DescgraphError

Code = tuple[int, ...]


@dataclass(frozen=True)
class Decision:
    """One categorical choice of a space.

    Attributes:
        name: where it is in the architecture (`edge 2<-1`, `stage 3 depth`), for messages and plots.
        choices: the plain values it chooses among (op names, kernel sizes, input ids...).
    """

    name: str
    choices: tuple[Any, ...]

    def __len__(self) -> int:
        return len(self.choices)


class SearchSpace(ABC):
    """A discrete search space; subclasses give `decisions`, `decode` and `encode`."""

    #: attempts at drawing a valid code before giving up
    max_tries: int = 1000

    @abstractmethod
    def decisions(self) -> list[Decision]:
        """The decisions, in code order."""

    @abstractmethod
    def decode(self, code: Code) -> Any:
        """The native architecture of a code."""

    @abstractmethod
    def encode(self, arch: Any) -> Code:
        """The code of a native architecture (the inverse of `decode`)."""

    def is_valid(self, code: Code) -> bool:
        """Whether a code is an architecture of the space (every code, unless a subclass says otherwise)."""
        return True

    def key(self, code: Code) -> str:
        """A stable text key of a code, for tables and caches."""
        return "-".join(map(str, code))

    def canonical(self, code: Code) -> Code:
        """The one code of the architecture `code` encodes (the code itself, unless several codes encode one
        architecture, as decisions of absent blocks do in a BigNAS space)."""
        return tuple(code)

    def size(self) -> int:
        """How many codes there are (valid or not)."""
        n = 1
        for d in self.decisions():
            n *= len(d)
        return n

    def check_code(self, code: Sequence[int]) -> Code:
        """`code` as a tuple, or a DescgraphError naming the decision that is out of range."""
        decisions = self.decisions()
        if len(code) != len(decisions):
            raise DescgraphError(f"code has {len(code)} entries, the space has {len(decisions)} decisions")
        for value, d in zip(code, decisions):
            if not 0 <= value < len(d):
                raise DescgraphError(f"decision {d.name!r}: index {value} is not in 0..{len(d) - 1}")
        return tuple(int(v) for v in code)

    def neighbours(self, code: Code, repairs: int = 0) -> list[Code]:
        """The valid codes that differ from `code` in exactly one decision, decision by decision, choice by
        choice (the neighbourhood of local search: White, Nolen and Savani, UAI 2021). `repairs` is for a space
        with cost bounds (`ConstrainedSpace`: moves along the bound); here no neighbour breaks one."""
        out = []
        for i, d in enumerate(self.decisions()):
            for value in range(len(d)):
                if value != code[i]:
                    other = (*code[:i], value, *code[i + 1 :])
                    if self.is_valid(other):
                        out.append(other)
        return out

    def features(self, code: Code) -> list[float]:
        """A code as numbers for a performance predictor: the one-hot encoding of each decision, concatenated
        (spaces with a better encoding, NAS-Bench-201's paths, override it)."""
        out: list[float] = []
        for value, d in zip(code, self.decisions()):
            out += [1.0 if k == value else 0.0 for k in range(len(d))]
        return out

    # --- operators ------------------------------------------------------------------------------
    def sample(self, rng: random.Random) -> Code:
        """A uniformly drawn valid code."""
        return self._draw_valid(lambda: tuple(rng.randrange(len(d)) for d in self.decisions()), "sample")

    def mutate(self, code: Code, rng: random.Random) -> Code:
        """A valid code that differs from `code` in one decision (one that has more than one choice)."""
        decisions = [i for i, d in enumerate(self.decisions()) if len(d) > 1]
        if not decisions:
            return code

        def draw() -> Code:
            i = rng.choice(decisions)
            value = rng.randrange(len(self.decisions()[i]) - 1)
            out = list(code)
            out[i] = value if value < code[i] else value + 1  # any choice but the current one
            return tuple(out)

        return self._draw_valid(draw, "mutate")

    def near_bound(self, draw: Callable[[], Code], draws: int) -> Code:
        """Under cost bounds, the costliest of `draws` codes from `draw` (`ConstrainedSpace`); here one draw."""
        return draw()

    def crossover(self, a: Code, b: Code, rng: random.Random) -> Code:
        """A valid code taking each decision from `a` or `b` with equal chance."""
        return self._draw_valid(lambda: tuple(x if rng.random() < 0.5 else y for x, y in zip(a, b)), "crossover")

    def _draw_valid(self, draw, what: str) -> Code:
        for _ in range(self.max_tries):
            code = draw()
            if self.is_valid(code):
                return code
        raise DescgraphError(f"{type(self).__name__}.{what}: no valid architecture in {self.max_tries} draws")
