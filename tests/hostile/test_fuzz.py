"""Fuzzing: valid descriptions and confs, mutated (keys dropped, duplicated, renamed, retyped; numbers huge,
negative, NaN, strings), are either valid or a DescgraphError of one line: never another exception, never a hang.

The default suite runs a few derandomized examples of each (the same every run, so nothing flakes); `-m slow`
runs many more, drawn afresh.
"""

from __future__ import annotations

import contextlib
import math
import signal
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from descgraph.builders import get_builder
from descgraph.conf import load_conf
from descgraph.desc import parse_desc, validate_model_desc
from descgraph.errors import DescgraphError
from descgraph.interop import from_genotype
from descgraph.nn import Model

pytestmark = pytest.mark.usefixtures("one_thread")

HANG_S = 30  # one example that runs longer is a hang
_COMMON = {"deadline": None, "database": None, "suppress_health_check": [HealthCheck.too_slow]}
QUICK = settings(max_examples=40, derandomize=True, **_COMMON)
THOROUGH = settings(max_examples=300, **_COMMON)

NUMBERS = [-1, 0, 1, 2, 3, 10**30, -(10**30), 2**63, 1e9, -1e-300, math.nan, math.inf, -math.inf, 0.5]
ODD_VALUES = ["", "NaN", "1e999", "12", "x" * 50, None, True, False, [], {}, [1, 2], {"a": 1}]


# --- mutations --------------------------------------------------------------------------------
def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path of nested plain data, the root included."""
    out = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += _paths(value, (*prefix, i))
    return out


def _copy(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_copy(v) for v in data]
    return data


def _mutate(data: Any, path: tuple, how: str, value: Any) -> Any:
    """`data` with one change at `path`: drop, duplicate under another name, rename, or set `value`."""
    if not path:
        return value if how == "set" else data
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if how == "drop":
        del parent[last]
    elif how in ("duplicate", "rename") and isinstance(parent, dict):
        parent[f"{last}_x"] = parent[last]
        if how == "rename":
            del parent[last]
    elif how == "duplicate":
        parent.insert(last, _copy(parent[last]))
    else:
        parent[last] = value
    return data


def mutations(base: Any) -> st.SearchStrategy:
    """1 to 3 mutations of `base` at key paths drawn from it (later ones from the same list of paths)."""
    one = st.tuples(
        st.sampled_from(_paths(base)),
        st.sampled_from(["drop", "duplicate", "rename", "set", "set"]),
        st.one_of(st.sampled_from(NUMBERS), st.sampled_from(ODD_VALUES), st.integers(), st.floats()),
    )
    return st.lists(one, min_size=1, max_size=3)


def _apply(base: Any, changes: list) -> Any:
    data = _copy(base)
    for path, how, value in changes:
        with contextlib.suppress(KeyError, IndexError, TypeError):  # an earlier change removed the path
            data = _mutate(data, path, how, value)
    return data


# --- the property -----------------------------------------------------------------------------
@contextlib.contextmanager
def _no_hang(seconds: int = HANG_S):
    """Fail an example that runs longer than `seconds` (a hang would otherwise stop the suite)."""

    def stop(*_):
        raise TimeoutError(f"an example ran for more than {seconds} s")

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _valid_or_one_line(check) -> None:
    with _no_hang():
        try:
            check()
        except DescgraphError as e:
            assert str(e) and "\n" not in str(e), f"a message of {len(str(e).splitlines())} lines: {e}"


# --- descriptions -------------------------------------------------------------------------------
def _toy_descs() -> dict[str, dict]:
    conf = load_conf(["darts_toy"])
    search, final = conf.nas.search.model_desc, from_genotype("DARTS_V2")
    return {
        "supernet": get_builder(search.builder).build(search).model_dump(mode="json"),
        "final": get_builder(conf.nas.eval.model_desc.builder)
        .build(conf.nas.eval.model_desc, template=final)
        .model_dump(mode="json"),
    }


DESCS = _toy_descs()


def _check_desc(data: Any) -> None:
    desc = parse_desc(data, source="fuzz.yaml")
    validate_model_desc(desc, source="fuzz.yaml")
    Model(desc, droppath=False)  # a valid description compiles


def _desc_property(name: str, examples: settings):
    @examples
    @given(changes=mutations(DESCS[name]))
    def run(changes):
        _valid_or_one_line(lambda: _check_desc(_apply(DESCS[name], changes)))

    return run


@pytest.mark.parametrize("name", DESCS)
def test_a_mutated_description_is_valid_or_one_line(name):
    _desc_property(name, QUICK)()


@pytest.mark.slow
@pytest.mark.parametrize("name", DESCS)
def test_a_mutated_description_is_valid_or_one_line_thoroughly(name):
    _desc_property(name, THOROUGH)()


# --- confs ------------------------------------------------------------------------------------
CONF = load_conf(["darts_toy"]).model_dump(mode="json")


def _check_conf(data: Any) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.yaml"
        path.write_text(yaml.safe_dump(data))
        conf = load_conf([path])
    md = conf.nas.search.model_desc  # a valid conf builds its supernet (the eval model needs a template)
    validate_model_desc(get_builder(md.builder).build(md), limits=conf.common.size_limits())


def _conf_property(examples: settings):
    @examples
    @given(changes=mutations(CONF))
    def run(changes):
        _valid_or_one_line(lambda: _check_conf(_apply(CONF, changes)))

    return run


def _override_property(examples: settings):
    keys = [".".join(map(str, p)) for p in _paths(CONF) if p and all(isinstance(k, str) for k in p)]
    value = st.one_of(
        st.sampled_from([*map(str, NUMBERS), "[1, x]", "{a: 1}", "", "!!python/none", "&a [*a]"]), st.text()
    )

    @examples
    @given(key=st.sampled_from(keys), text=value)
    def run(key, text):
        _valid_or_one_line(lambda: load_conf(["darts_toy"], [f"{key}={text}"]))

    return run


def test_a_mutated_conf_is_valid_or_one_line():
    _conf_property(QUICK)()


def test_an_override_of_any_key_with_any_text_is_valid_or_one_line():
    _override_property(QUICK)()


@pytest.mark.slow
def test_a_mutated_conf_is_valid_or_one_line_thoroughly():
    _conf_property(THOROUGH)()


@pytest.mark.slow
def test_an_override_of_any_key_with_any_text_is_valid_or_one_line_thoroughly():
    _override_property(THOROUGH)()
