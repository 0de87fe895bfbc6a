"""The discrete spaces of the zoo: NAS-Bench-201 cells, DARTS genotypes, ENAS micro cells and ENAS macro networks.

Each is a `SearchSpace` whose native form is what descgraph.desc already reads and checks: the NB201
op tuple (`format_nb201` gives the string), a DARTS `Genotype`, an ENAS micro `Genotype`, an
`EnasMacroArch`. `ConstrainedSpace` narrows any space to the architectures whose costs (latency, FLOPs,
params: known before training) meet their bounds.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from descgraph._registry import Registry
from descgraph.desc.enas import ENAS_MACRO_OPS, ENAS_MICRO_OPS, EnasMacroArch, check_macro_arch, loose_ends
from descgraph.desc.genotype import DARTS_PRIMITIVES, Genotype
from descgraph.desc.nb201 import EDGES, NB201_OPS, NB201Arch
from descgraph.errors import DescError, DescgraphError
from descgraph.nas.discrete.space import Code, Decision, SearchSpace

SPACES: Registry[type[SearchSpace]] = Registry("search space")

# NAS-Bench-201's input-to-output paths through the cell's nodes, shortest first
NB201_PATHS = ((0, 3), (0, 1, 3), (0, 2, 3), (0, 1, 2, 3))

# DARTS (Liu et al., 2019) candidate ops of a final cell: its primitives (the conf's default) without `none`.
DARTS_OPS = tuple(op for op in DARTS_PRIMITIVES if op != "none")
N_STEMS = 2


def register_space(name: str):
    """Decorator registering a SearchSpace subclass under `name`."""
    return SPACES.register(name)


def get_space(name: str, **kwargs: Any) -> SearchSpace:
    """A new space by registered name, its keyword arguments passed to the class."""
    return SPACES.get(name)(**kwargs)


def _index(decision: Decision, value: Any, where: str) -> int:
    """The index of `value` among a decision's choices, or a DescError naming `where`."""
    try:
        return decision.choices.index(value)
    except ValueError:
        known = ", ".join(map(str, decision.choices))
        raise DescError(f"{where}: {value!r} is not a choice of {decision.name!r} (choices: {known})") from None


@register_space("nb201")
class NB201Space(SearchSpace):
    """NAS-Bench-201 (Dong and Yang, 2020): one op per edge of the 4-node cell, 5**6 = 15,625 architectures."""

    def __init__(self) -> None:
        self._decisions = [Decision(f"edge {j}<-{i}", NB201_OPS) for i, j in EDGES]

    def decisions(self) -> list[Decision]:
        return self._decisions

    def decode(self, code: Code) -> NB201Arch:
        return tuple(NB201_OPS[i] for i in code)

    def encode(self, arch: NB201Arch) -> Code:
        if len(arch) != len(EDGES):
            raise DescError(f"arch: expected {len(EDGES)} ops, got {len(arch)}")
        return tuple(_index(d, op, f"arch[{k}]") for k, (d, op) in enumerate(zip(self._decisions, arch)))

    def features(self, code: Code) -> list[float]:
        """The path encoding (White, Neiswanger and Savani, "BANANAS", AAAI 2021, sec. 4): one feature per
        input-to-output path of the cell and sequence of ops along it, 1 where the cell has that path. The
        cell's paths are 0->3, 0->1->3, 0->2->3 and 0->1->2->3; a path through a `none` edge carries nothing, so
        the ops are the 4 others: 4 + 16 + 16 + 64 = 100 features."""
        ops = {edge: code[k] for k, edge in enumerate(EDGES)}
        out: list[float] = []
        for path in NB201_PATHS:
            choices = [ops[edge] for edge in zip(path, path[1:])]
            block = [0.0] * (len(NB201_OPS) - 1) ** len(choices)
            if all(c != 0 for c in choices):  # index 0 is `none`
                index = 0
                for c in choices:
                    index = index * (len(NB201_OPS) - 1) + (c - 1)
                block[index] = 1.0
            out += block
        return out


class _CellPairsSpace(SearchSpace):
    """Normal and reduction cells of `n_nodes` nodes, each node two (op, input state) pairs.

    Decisions per node, in genotype order: input and op of its first pair, then of its second.
    """

    def __init__(self, n_nodes: int, ops: tuple[str, ...]) -> None:
        if n_nodes < 1:
            raise DescError(f"n_nodes: {n_nodes}; a cell needs at least one node")
        self.n_nodes, self.ops = n_nodes, tuple(ops)
        self._decisions = [d for field in ("normal", "reduce") for d in self._cell_decisions(field)]

    def _cell_decisions(self, field: str) -> list[Decision]:
        out = []
        for k in range(self.n_nodes):
            for p in range(2):
                out.append(Decision(f"{field} node {k} input {p}", tuple(range(N_STEMS + k))))
                out.append(Decision(f"{field} node {k} op {p}", self.ops))
        return out

    def decisions(self) -> list[Decision]:
        return self._decisions

    def _pairs(self, code: Code) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        half = len(code) // 2
        cells = []
        for part in (code[:half], code[half:]):
            cells.append([(self.ops[part[i + 1]], part[i]) for i in range(0, len(part), 2)])
        return cells[0], cells[1]

    def _encode_pairs(self, genotype: Genotype) -> Code:
        code: list[int] = []
        for field in ("normal", "reduce"):
            pairs = getattr(genotype, field)
            if len(pairs) != 2 * self.n_nodes:
                raise DescError(f"genotype.{field}: {len(pairs)} pairs; this space has {2 * self.n_nodes}")
            for k, (op, src) in enumerate(pairs):
                d_in, d_op = self._decisions[len(code)], self._decisions[len(code) + 1]
                code += [_index(d_in, src, f"genotype.{field}[{k}]"), _index(d_op, op, f"genotype.{field}[{k}]")]
        return tuple(code)


@register_space("darts")
class DartsGenotypeSpace(_CellPairsSpace):
    """DARTS final cells (Liu et al., 2019): per node two distinct earlier states, each through an op.

    As in DARTS's derived cells, `none` is not a choice and every node state is concatenated.

    Args:
        n_nodes: nodes per cell.
        ops: the candidate ops.
    """

    def __init__(self, n_nodes: int = 4, ops: tuple[str, ...] = DARTS_OPS) -> None:
        if "none" in ops:
            raise DescError("ops: 'none' is not an op of a final DARTS cell")
        super().__init__(n_nodes, ops)

    def is_valid(self, code: Code) -> bool:
        # DARTS sec. 2.4: a node keeps two edges from distinct predecessors
        return all(code[i] != code[i + 2] for i in range(0, len(code), 4))

    def decode(self, code: Code) -> Genotype:
        normal, reduce = self._pairs(code)
        concat = list(range(N_STEMS, N_STEMS + self.n_nodes))
        return Genotype(normal=normal, normal_concat=concat, reduce=reduce, reduce_concat=list(concat))

    def encode(self, arch: Genotype) -> Code:
        concat = list(range(N_STEMS, N_STEMS + self.n_nodes))
        for field in ("normal_concat", "reduce_concat"):
            if list(getattr(arch, field)) != concat:
                raise DescError(f"genotype.{field}: {list(getattr(arch, field))}; this space concatenates {concat}")
        code = self._encode_pairs(arch)
        if not self.is_valid(code):
            raise DescError("genotype: a node reads the same state twice; DARTS nodes read two distinct states")
        return code


@register_space("enas_micro")
class EnasMicroSpace(_CellPairsSpace):
    """ENAS micro cells (Pham et al., 2018): per node two earlier states (possibly the same), each through
    an op of `ENAS_MICRO_OPS`; the cell outputs the states no node reads.

    Args:
        n_nodes: nodes per cell (5 in ENAS and NNI's zoo).
    """

    def __init__(self, n_nodes: int = 5) -> None:
        super().__init__(n_nodes, ENAS_MICRO_OPS)

    def decode(self, code: Code) -> Genotype:
        normal, reduce = self._pairs(code)
        return Genotype(
            normal=normal, normal_concat=loose_ends(normal), reduce=reduce, reduce_concat=loose_ends(reduce)
        )

    def encode(self, arch: Genotype) -> Code:
        for field in ("normal", "reduce"):
            ends = loose_ends(getattr(arch, field))
            if list(getattr(arch, f"{field}_concat")) != ends:
                got = list(getattr(arch, f"{field}_concat"))
                raise DescError(f"genotype.{field}_concat: {got}; an ENAS cell concatenates its loose ends {ends}")
        return self._encode_pairs(arch)


@register_space("enas_macro")
class EnasMacroSpace(SearchSpace):
    """ENAS macro networks (Pham et al., 2018): per layer an op of `ENAS_MACRO_OPS` and, for each earlier
    layer, whether its output is added to this layer's (a skip bit).

    Args:
        n_layers: layers of the network (12 in ENAS and NNI's zoo).
    """

    def __init__(self, n_layers: int = 12) -> None:
        if n_layers < 1:
            raise DescError(f"n_layers: {n_layers}; a network needs at least one layer")
        self.n_layers = n_layers
        self._decisions = []
        for i in range(n_layers):
            self._decisions.append(Decision(f"layer {i} op", ENAS_MACRO_OPS))
            self._decisions += [Decision(f"layer {i} skip {j}", (False, True)) for j in range(i)]

    def decisions(self) -> list[Decision]:
        return self._decisions

    def decode(self, code: Code) -> EnasMacroArch:
        layers, k = [], 0
        for i in range(self.n_layers):
            bits = code[k + 1 : k + 1 + i]
            layers.append((ENAS_MACRO_OPS[code[k]], tuple(j for j, bit in enumerate(bits) if bit)))
            k += 1 + i
        return tuple(layers)

    def encode(self, arch: EnasMacroArch) -> Code:
        if len(arch) != self.n_layers:
            raise DescError(f"arch: {len(arch)} layers; this space has {self.n_layers}")
        check_macro_arch(arch)
        code: list[int] = []
        for i, (op, skips) in enumerate(arch):
            code.append(_index(self._decisions[len(code)], op, f"arch[{i}]"))
            code += [int(j in skips) for j in range(i)]
        return tuple(code)


class BoundUnmet(DescgraphError):
    """No architecture of a constrained space met its bounds."""


class ConstrainedSpace(SearchSpace):
    """The architectures of `space` whose costs (native form -> number) are within their bounds.

    The constraint is part of the space: every operator returns only architectures that meet it, checked
    with the cost models before any query is spent. A sample is a uniform draw among them (rejection);
    a mutated or crossed child that breaks a bound is repaired by changing one more decision (a move
    along the bound: one block grows, another shrinks) or drawn again. `near_bound` lets a strategy
    prefer the costliest of a few feasible draws, since the best architecture under a bound tends to
    sit close to it. Each code is priced once; `cost_calls` counts the cost-model calls.

    Args:
        space: the space to narrow.
        costs: cost model name -> the cost of a native architecture.
        bounds: cost model name -> the largest cost allowed (> 0).
        max_tries: draws before giving up; raise it when few architectures pass.
        repair_tries: second changes tried on a child that breaks a bound before it is drawn again.
    """

    def __init__(
        self,
        space: SearchSpace,
        costs: dict[str, Callable[[Any], float]],
        bounds: dict[str, float],
        max_tries: int = 1000,
        repair_tries: int = 10,
    ) -> None:
        if set(costs) != set(bounds) or not bounds or any(b <= 0 for b in bounds.values()):
            raise DescgraphError(f"constraints {bounds}: one bound > 0 for each cost model ({', '.join(costs)})")
        self.space, self.costs, self.bounds = space, costs, dict(bounds)
        self.max_tries, self.repair_tries = max_tries, repair_tries
        self._priced: dict[Code, dict[str, float]] = {}

    def decisions(self) -> list[Decision]:
        return self.space.decisions()

    def features(self, code: Code) -> list[float]:
        return self.space.features(code)

    def canonical(self, code: Code) -> Code:
        return self.space.canonical(code)

    def decode(self, code: Code) -> Any:
        return self.space.decode(code)

    def encode(self, arch: Any) -> Code:
        return self.space.encode(arch)

    @property
    def cost_calls(self) -> int:
        """Cost-model calls so far (each priced code, once per cost model)."""
        return len(self._priced) * len(self.costs)

    def cost_of(self, code: Code) -> dict[str, float]:
        """Every cost of a code, computed once."""
        if code not in self._priced:
            arch = self.space.decode(code)
            self._priced[code] = {name: float(cost(arch)) for name, cost in self.costs.items()}
        return self._priced[code]

    def load(self, code: Code) -> float:
        """The share of its bound that the tightest cost takes (at most 1 when the code is feasible)."""
        return max(cost / self.bounds[name] for name, cost in self.cost_of(code).items())

    def is_valid(self, code: Code) -> bool:
        return self.space.is_valid(code) and self.load(code) <= 1.0

    def near_bound(self, draw: Callable[[], Code], draws: int) -> Code:
        return max((draw() for _ in range(draws)), key=self.load)

    def neighbours(self, code: Code, repairs: int = 0) -> list[Code]:
        """The feasible codes one change from `code`; then, for each one-change code that breaks a bound, the
        `repairs` costliest feasible codes one more change from it (moves along the bound: the change that
        broke it kept, another decision giving the cost back, as `mutate` repairs a child), each code once and
        never `code`. Near the bound, where the best feasible architectures sit, most one-change codes break
        it, and without the moves a climb stops there."""
        out, seen, broken = [], {code}, []
        for other in self.space.neighbours(code):
            if self.is_valid(other):
                out.append(other)
                seen.add(other)
            else:
                broken.append(other)
        for other in broken if repairs > 0 else []:
            fixes = [c for c in self.space.neighbours(other) if c not in seen and self.is_valid(c)]
            fixes.sort(key=self.load, reverse=True)  # the costliest first; equal loads keep their order
            for fix in fixes[:repairs]:
                out.append(fix)
                seen.add(fix)
        return out

    def mutate(self, code: Code, rng: random.Random) -> Code:
        return self._draw_valid(lambda: self._repaired(self.space.mutate(code, rng), code, rng), "mutate")

    def crossover(self, a: Code, b: Code, rng: random.Random) -> Code:
        return self._draw_valid(lambda: self._repaired(self.space.crossover(a, b, rng), a, rng), "crossover")

    def _repaired(self, child: Code, parent: Code, rng: random.Random) -> Code:
        """`child`, or when it breaks a bound, the first of `repair_tries` one-change neighbours that meets
        them all and is not `parent` (else `child`, which the caller draws again)."""
        if self.is_valid(child):
            return child
        for _ in range(self.repair_tries):
            fixed = self.space.mutate(child, rng)
            if fixed != parent and self.is_valid(fixed):
                return fixed
        return child

    def _draw_valid(self, draw, what: str) -> Code:
        try:
            return super()._draw_valid(draw, what)
        except DescgraphError:
            raise BoundUnmet(self.unmet_message(f"{type(self.space).__name__}.{what}")) from None

    def unmet_message(self, what: str) -> str:
        """One line: no draw met the bounds, naming the cheapest cost seen of each model."""
        seen = [c for code, c in self._priced.items() if self.space.is_valid(code)]
        cheapest = ", ".join(f"{name} {min(c[name] for c in seen):.6g}" for name in self.costs) if seen else "none"
        bounds = ", ".join(f"{name} <= {bound:g}" for name, bound in self.bounds.items())
        return f"{what}: no architecture met {bounds} in {self.max_tries} draws (the cheapest drawn: {cheapest})"
