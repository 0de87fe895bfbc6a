"""Descriptions: YAML/JSON round trips, the canonical hash, safe loading, the JSON Schema."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from descgraph.builders import build_from_genotype
from descgraph.conf.schema import ModelDescConf
from descgraph.desc import ModelDesc, load_desc, model_desc_json_schema, save_desc
from descgraph.desc.genotype import parse_genotype
from descgraph.errors import DescError


@pytest.fixture(scope="module")
def desc() -> ModelDesc:
    md = ModelDescConf(n_cells=5, model_stems={"init_node_ch": 8})
    return build_from_genotype(parse_genotype("DARTS_V2"), md)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_round_trip_keeps_equality_and_hash(desc, tmp_path, suffix):
    path = tmp_path / f"d{suffix}"
    save_desc(desc, path)
    back = load_desc(path)
    assert back == desc and back.hash() == desc.hash()
    assert (json.loads(path.read_text()) if suffix == ".json" else yaml.safe_load(path.read_text()))[
        "schema_version"
    ] == 1


def _reordered(value):
    if isinstance(value, dict):
        return {k: _reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(v) for v in value]
    return value


def test_hash_ignores_key_order_float_spelling_and_metadata(desc, tmp_path):
    data = _reordered(desc.model_dump(mode="json"))
    data["params"] = {"note": "anything"}
    data["cell_descs"][0]["stems"][0]["params"]["scale"] = 0.5
    text = yaml.safe_dump(data, sort_keys=False).replace("scale: 0.5", "scale: 5.0e-1")
    assert "5.0e-1" in text
    path = tmp_path / "r.yaml"
    path.write_text(text)
    other = desc.clone()
    other.cell_descs[0].stems[0].params["scale"] = 0.5
    assert load_desc(path, validate=False).hash() == other.hash()


def test_hash_changes_with_the_architecture(desc):
    other = desc.clone()
    other.cell_descs[0].nodes[0].edges[0].op_desc.name = "sep_conv_5x5"
    assert other.hash() != desc.hash()
    assert desc.hash() == desc.clone().hash()  # the clone is independent: the edit did not reach desc


def test_unsafe_yaml_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    path.write_text(f"!!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(DescError, match="evil.yaml") as e:
        load_desc(path)
    assert "\n" not in str(e.value) and not marker.exists()


def test_archai_pickled_yaml_is_refused(shared_data):
    """Archai saved descriptions as PyYAML dumps with !!python/object tags: refused, never built."""
    with pytest.raises(DescError, match="refused unsafe or unknown YAML tag"):
        load_desc(shared_data / "archai" / "final_model_desc1.yaml")


def test_other_schema_version_is_refused(desc, tmp_path):
    data = desc.model_dump(mode="json")
    data["schema_version"] = 2
    path = tmp_path / "v2.json"
    path.write_text(json.dumps(data))
    with pytest.raises(DescError, match="schema_version: 2 is not supported"):
        load_desc(path)


def test_json_schema_describes_model_desc():
    schema = model_desc_json_schema()
    json.dumps(schema)
    assert {"cell_descs", "model_stems", "logits_op", "schema_version"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False


def test_descriptions_refuse_tensors_and_objects():
    from descgraph.desc import OpDesc

    with pytest.raises(ValueError):
        OpDesc(name="x", params={"w": object()})


_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=4),
    st.sampled_from([object(), b"bytes", {1, 2}, np.int64(3), np.float64(0.5), torch.zeros(1)]),
)
_PARAMS = st.dictionaries(
    st.text(max_size=4).map(lambda k: f"p_{k}"),  # no size params: those have their own check
    st.recursive(
        _LEAVES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_size=4,
)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(params=_PARAMS)
def test_op_params_are_accepted_exactly_when_json_can_write_them(params):
    """An op's params are plain data: what strict JSON writes (no NaN or infinity, which would hash as null)."""
    from descgraph.desc import OpDesc

    try:
        json.dumps(params, allow_nan=False)
        plain = True
    except (TypeError, ValueError):
        plain = False
    try:
        OpDesc(name="x", params=params)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted == plain
