"""The discrete search-space operators on a small space with an invalid region."""

from __future__ import annotations

import random

import pytest

from descgraph.errors import DescgraphError
from descgraph.nas.discrete import Decision, SearchSpace


class Grid(SearchSpace):
    """Three decisions of sizes 3, 1 and 4; codes whose first and last entries are equal are invalid."""

    def decisions(self):
        return [Decision("a", (0, 1, 2)), Decision("fixed", ("x",)), Decision("b", (10, 20, 30, 40))]

    def decode(self, code):
        return tuple(d.choices[i] for d, i in zip(self.decisions(), code))

    def encode(self, arch):
        return tuple(d.choices.index(v) for d, v in zip(self.decisions(), arch))

    def is_valid(self, code):
        return code[0] != code[2]


def test_sample_covers_exactly_the_valid_codes():
    space, rng = Grid(), random.Random(0)
    seen = {space.sample(rng) for _ in range(2000)}
    assert space.size() == 12
    assert seen == {(a, 0, b) for a in range(3) for b in range(4) if a != b}


def test_mutate_changes_one_decision_with_more_than_one_choice():
    space, rng = Grid(), random.Random(1)
    for _ in range(500):
        code = space.sample(rng)
        child = space.mutate(code, rng)
        diff = [i for i, (x, y) in enumerate(zip(code, child)) if x != y]
        assert len(diff) == 1 and diff[0] in (0, 2) and space.is_valid(child)


def test_crossover_takes_each_decision_from_a_parent():
    space, rng = Grid(), random.Random(2)
    a, b = (0, 0, 1), (2, 0, 3)
    children = {space.crossover(a, b, rng) for _ in range(200)}
    assert children == {(0, 0, 1), (0, 0, 3), (2, 0, 1), (2, 0, 3)}


def test_encode_decode_and_checked_codes():
    space = Grid()
    assert space.decode((2, 0, 1)) == (2, "x", 20)
    assert space.encode((2, "x", 20)) == (2, 0, 1)
    with pytest.raises(DescgraphError, match="decision 'b': index 4 is not in 0..3"):
        space.check_code([0, 0, 4])
    with pytest.raises(DescgraphError, match="code has 2 entries"):
        space.check_code([0, 0])
