"""The discrete spaces of the zoo: NAS-Bench-201 cells, DARTS genotypes, ENAS micro cells and ENAS macro networks.

Each is a `SearchSpace` whose native form is what descgraph.desc already reads and checks: the NB201
op tuple (`format_nb201` gives the string), a DARTS `Genotype`, an ENAS micro `Genotype`, an
`EnasMacroArch`. `ConstrainedSpace` narrows any space to the architectures a predicate accepts
(a latency bound known before training).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from descgraph._registry import Registry
from descgraph.conf.schema import ModelDescConf
from descgraph.desc.enas import ENAS_MACRO_OPS, ENAS_MICRO_OPS, EnasMacroArch, check_macro_arch, loose_ends
from descgraph.desc.genotype import Genotype
from descgraph.desc.nb201 import EDGES, NB201_OPS, NB201Arch
from descgraph.errors import DescError
from descgraph.nas.discrete.space import Code, Decision, SearchSpace

SPACES: Registry[type[SearchSpace]] = Registry("search space")

# DARTS (Liu et al., 2019) candidate ops of a final cell: its primitives (the conf's default) without `none`.
DARTS_OPS = tuple(op for op in ModelDescConf().primitives if op != "none")
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


class ConstrainedSpace(SearchSpace):
    """The architectures of `space` that `accepts` (native form -> bool) lets through.

    Sampling, mutation and crossover draw again until the predicate holds, so a strategy never proposes
    an architecture outside the constraint.

    Args:
        space: the space to narrow.
        accepts: the constraint, on native architectures.
        max_tries: draws before giving up; raise it when few architectures pass.
    """

    def __init__(self, space: SearchSpace, accepts: Callable[[Any], bool], max_tries: int = 1000) -> None:
        self.space, self.accepts, self.max_tries = space, accepts, max_tries

    def decisions(self) -> list[Decision]:
        return self.space.decisions()

    def decode(self, code: Code) -> Any:
        return self.space.decode(code)

    def encode(self, arch: Any) -> Code:
        return self.space.encode(arch)

    def is_valid(self, code: Code) -> bool:
        return self.space.is_valid(code) and bool(self.accepts(self.space.decode(code)))
