"""The zoo's discrete spaces: sizes counted by hand, round trips, and native forms that pass descgraph's checks."""

from __future__ import annotations

import random

import pytest

from descgraph.builders import build_from_genotype
from descgraph.conf.schema import ModelDescConf
from descgraph.desc import validate_model_desc
from descgraph.desc.enas import ENAS_MICRO_OPS, check_macro_arch, check_micro_genotype, loose_ends
from descgraph.desc.genotype import DARTS_V1, DARTS_V2, Genotype, format_genotype, parse_genotype
from descgraph.desc.nb201 import format_nb201, parse_nb201
from descgraph.errors import DescError
from descgraph.nas.discrete import (
    SPACES,
    BoundUnmet,
    ConstrainedSpace,
    DartsGenotypeSpace,
    EnasMacroSpace,
    EnasMicroSpace,
    NB201Space,
    get_space,
)


def _check_nb201(arch) -> None:
    assert parse_nb201(format_nb201(arch)) == arch


def _check_darts(genotype: Genotype) -> None:
    assert parse_genotype(format_genotype(genotype)) == genotype
    for pairs in (genotype.normal, genotype.reduce):
        assert all(pairs[i][1] != pairs[i + 1][1] for i in range(0, len(pairs), 2))
    conf = ModelDescConf(n_cells=3, n_reductions=1)
    validate_model_desc(build_from_genotype(genotype, conf))


CHECKS = {
    "nb201": _check_nb201,
    "darts": _check_darts,
    "enas_micro": check_micro_genotype,
    "enas_macro": check_macro_arch,
}


@pytest.mark.parametrize("name", SPACES.names())
def test_every_space_round_trips_and_passes_its_checks(name):
    space, rng = get_space(name), random.Random(0)
    for _ in range(50):
        code = space.sample(rng)
        arch = space.decode(code)
        assert space.encode(arch) == code
        CHECKS[name](arch)
        child = space.mutate(code, rng)
        assert space.is_valid(child) and space.encode(space.decode(child)) == child
        CHECKS[name](space.decode(child))


def test_sizes_counted_by_hand():
    assert NB201Space().size() == 5**6 == 15_625
    # DARTS, one node: inputs (a, b) from {0, 1} and two ops, per cell type; valid codes need a != b
    small = DartsGenotypeSpace(n_nodes=1, ops=("sep_conv_3x3", "max_pool_3x3"))
    assert small.size() == (2 * 2 * 2 * 2) ** 2
    seen = {small.sample(random.Random(s)) for s in range(3000)}
    assert len(seen) == (2 * 4) ** 2  # two ordered distinct input pairs times 2 x 2 ops, squared
    # ENAS micro, two nodes: node k picks 2 inputs from 2 + k states and 2 of 5 ops, per cell type
    assert EnasMicroSpace(n_nodes=2).size() == ((2 * 5) ** 2 * (3 * 5) ** 2) ** 2
    # ENAS macro, 3 layers: 6 ops each and 0 + 1 + 2 skip bits
    assert EnasMacroSpace(n_layers=3).size() == 6**3 * 2**3


def test_nb201_codes_follow_the_string_order():
    space = NB201Space()
    best = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"
    assert space.encode(parse_nb201(best)) == (3, 3, 3, 1, 2, 3)
    assert [d.name for d in space.decisions()][:3] == ["edge 1<-0", "edge 2<-0", "edge 2<-1"]
    with pytest.raises(DescError, match=r"arch\[2\]: 'conv_3x3' is not a choice of 'edge 2<-1'"):
        space.encode(("none", "none", "conv_3x3", "none", "none", "none"))


@pytest.mark.parametrize("genotype", [DARTS_V1, DARTS_V2])
def test_darts_papers_genotypes_round_trip_exactly(genotype):
    space = DartsGenotypeSpace()
    assert space.decode(space.encode(genotype)) == genotype


def test_darts_refuses_repeated_inputs_and_none():
    space = DartsGenotypeSpace(n_nodes=1)
    g = Genotype([("sep_conv_3x3", 1), ("skip_connect", 1)], [2], [("max_pool_3x3", 0), ("skip_connect", 1)], [2])
    with pytest.raises(DescError, match="reads the same state twice"):
        space.encode(g)
    with pytest.raises(DescError, match="'none' is not an op"):
        DartsGenotypeSpace(ops=("none", "sep_conv_3x3"))


def test_enas_micro_concatenates_the_loose_ends_and_allows_repeated_inputs():
    space = EnasMicroSpace(n_nodes=2)
    i = ENAS_MICRO_OPS.index
    # node 0 (state 2) reads stem 1 twice; node 1 (state 3) reads state 2 and stem 0: only state 3 is loose
    cell = (1, i("skip_connect"), 1, i("avg_pool_3x3"), 2, i("sep_conv_bn_3x3"), 0, i("max_pool_3x3"))
    # reduce: node 1 reads the stems only, so states 2 and 3 are both loose
    reduce = (0, i("skip_connect"), 1, i("skip_connect"), 0, i("sep_conv_bn_5x5"), 1, i("sep_conv_bn_5x5"))
    g = space.decode(cell + reduce)
    assert g.normal == [("skip_connect", 1), ("avg_pool_3x3", 1), ("sep_conv_bn_3x3", 2), ("max_pool_3x3", 0)]
    assert g.normal_concat == [3] and g.reduce_concat == [2, 3] == loose_ends(g.reduce)
    check_micro_genotype(g)
    with pytest.raises(DescError, match=r"normal_concat: \[2, 3\]; an ENAS cell concatenates its loose ends \[3\]"):
        space.encode(g._replace(normal_concat=[2, 3]))


def test_enas_macro_skip_bits():
    space = EnasMacroSpace(n_layers=3)
    arch = (("enas_conv_3x3", ()), ("enas_max_pool_3x3", (0,)), ("enas_sep_conv_5x5", (1,)))
    code = space.encode(arch)
    assert code == (0, 4, 1, 3, 0, 1)
    assert space.decode(code) == arch
    with pytest.raises(DescError, match=r"arch\[2\]\.skips"):
        space.encode((arch[0], arch[1], ("enas_conv_3x3", (2,))))


def conv_weight(arch) -> int:
    """A made-up cost: 9 per 3x3 convolution, 1 per 1x1 (the weights of one channel of each)."""
    return 9 * arch.count("nor_conv_3x3") + arch.count("nor_conv_1x1")


def test_constrained_space_only_draws_what_meets_the_bound():
    small = ConstrainedSpace(NB201Space(), {"weight": conv_weight}, {"weight": 10})
    rng = random.Random(3)
    codes = [small.sample(rng) for _ in range(300)]
    codes += [small.mutate(c, rng) for c in codes] + [small.crossover(a, b, rng) for a, b in zip(codes, codes[1:])]
    assert all(conv_weight(small.decode(c)) <= 10 for c in codes)
    assert max(conv_weight(small.decode(c)) for c in codes) == 10  # one 3x3 and one 1x1
    assert {v for c in codes for v in c} == {0, 1, 2, 3, 4}
    assert small.cost_calls == len(small._priced) >= len(set(codes))


def test_a_child_that_breaks_the_bound_is_repaired_along_it():
    small = ConstrainedSpace(NB201Space(), {"weight": conv_weight}, {"weight": 9})
    parent = NB201Space().encode(("nor_conv_3x3", "none", "skip_connect", "none", "none", "avg_pool_3x3"))
    rng = random.Random(0)
    children = [small.mutate(parent, rng) for _ in range(400)]
    assert parent not in children and all(conv_weight(small.decode(c)) <= 9 for c in children)
    # a second 3x3 breaks the bound; repaired, the 3x3 moves: two decisions change, the cost stays at the bound
    moved = [c for c in children if sum(a != b for a, b in zip(c, parent)) == 2 and conv_weight(small.decode(c)) == 9]
    assert {c.index(3) for c in moved if c[0] != 3} == {1, 2, 3, 4, 5}  # the 3x3 moves to every other edge


def test_near_bound_prefers_the_costliest_draw_and_counts_cost_calls():
    small = ConstrainedSpace(NB201Space(), {"weight": conv_weight}, {"weight": 20})
    draws = iter([(0, 0, 0, 0, 0, 3), (3, 3, 0, 0, 0, 2), (0, 0, 0, 0, 2, 2)])  # weights 9, 19, 2
    assert small.near_bound(lambda: next(draws), 3) == (3, 3, 0, 0, 0, 2)
    assert small.cost_calls == 3 and small.load((3, 3, 0, 0, 0, 2)) == 19 / 20
    assert NB201Space().near_bound(lambda: (1,) * 6, 3) == (1,) * 6  # without a bound: one draw


def test_a_bound_no_draw_meets_names_the_cheapest_drawn():
    space = ConstrainedSpace(NB201Space(), {"weight": lambda arch: 1 + conv_weight(arch)}, {"weight": 0.5}, 200)
    with pytest.raises(
        BoundUnmet,
        match=r"^NB201Space.sample: no architecture met weight <= 0.5 in 200 draws "
        r"\(the cheapest drawn: weight 1\)$",
    ):
        space.sample(random.Random(0))
