"""Hostile sizes: numbers far out of range are one line, and a description too large to compile is refused
from its estimate before anything is allocated."""

from __future__ import annotations

import pytest

from descgraph.builders import get_builder
from descgraph.cli import main
from descgraph.conf import load_conf
from descgraph.conf.schema import ModelStemsConf
from descgraph.desc import parse_desc, save_desc
from descgraph.desc.genotype import parse_genotype
from descgraph.errors import ConfError, DescError


def _one_line(err: pytest.ExceptionInfo, *parts: str) -> None:
    message = str(err.value)
    assert "\n" not in message, message
    for part in parts:
        assert part in message, message


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("common.seed=100000000000000000000000000", "common.seed"),
        ("dataset.image_size=100000", "dataset.image_size"),
        ("nas.search.loader.workers=1000", "nas.search.loader.workers"),
        ("nas.search.model_desc.n_cells=1000000000", "nas.search.model_desc.n_cells"),
        ("nas.eval.model_desc.model_stems.init_node_ch=1000000000", "nas.eval.model_desc.model_stems.init_node_ch"),
        ("nas.search.trainer.optimizer.lr=.nan", "nas.search.trainer.optimizer.lr"),
        ("nas.eval.model_desc.aux_weight=.inf", "nas.eval.model_desc.aux_weight"),
        ("common.threads=-3", "common.threads"),
    ],
)
def test_a_number_out_of_its_range_is_one_line_naming_the_key(override, key):
    with pytest.raises(ConfError) as err:
        load_conf(["darts_digits"], [override])
    _one_line(err, f"command line: {key}: ")


def test_a_genotype_concat_range_past_its_cell_is_one_line():
    text = "Genotype(normal=[('skip_connect', 0), ('skip_connect', 1)], normal_concat=range(2, 10**12), "
    text += "reduce=[('skip_connect', 0), ('skip_connect', 1)], reduce_concat=range(2, 4))"
    with pytest.raises(DescError) as err:
        parse_genotype(text.replace("10**12", str(10**12)))
    _one_line(err, "normal_concat: 999999999998 states, but a cell of these edges has at most 4")


def test_more_reductions_than_cells_is_refused_not_clamped(tmp_path, capsys):
    argv = ["build", "darts", "nas.search.model_desc.n_cells=3", "nas.search.model_desc.n_reductions=7"]
    assert main([*argv, "-o", str(tmp_path / "refused.yaml")]) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith("model_desc.n_reductions: 7 reductions do not fit in 3 cells (n_cells)")
    )


def _huge_desc(path) -> None:
    """darts_digits's search supernet with 10**9 channels per node: a valid graph far too large to compile."""
    md = load_conf(["darts_digits"]).nas.search.model_desc
    stems = ModelStemsConf.model_construct(ops=["stem_conv3x3"], init_node_ch=10**9, stem_multiplier=3)
    save_desc(get_builder(md.builder).build(md.model_copy(update={"model_stems": stems})), path)


def test_a_desc_too_large_to_compile_fails_validate_in_one_line(tmp_path, capsys):
    path = tmp_path / "huge.yaml"
    _huge_desc(path)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and "--max-params" in err and "common.max_params" in err


def test_show_refuses_a_desc_too_large_before_allocating(tmp_path, capsys):
    path = tmp_path / "huge.yaml"
    _huge_desc(path)
    assert main(["show", str(path)]) == 2
    assert "parameters, above the limit" in capsys.readouterr().err


def test_the_limits_are_the_users_to_set(tmp_path, capsys):
    path = tmp_path / "digits.yaml"
    assert main(["build", "darts_digits", "-o", str(path)]) == 0
    assert main(["validate", str(path), "--max-params", "1000"]) == 2
    assert "above the limit of 1e+03 (raise it with common.max_params or --max-params)" in capsys.readouterr().err
    assert main(["validate", str(path), "--max-activation-mib", "1"]) == 2
    assert "--max-activation-mib" in capsys.readouterr().err
    assert main(["build", "darts_digits", "common.max_params=1000", "-o", str(tmp_path / "x.yaml")]) == 2
    assert "common.max_params" in capsys.readouterr().err
    assert main(["validate", str(path)]) == 0  # the defaults


def test_a_raised_limit_lets_the_next_one_speak(tmp_path, capsys):
    path = tmp_path / "huge.yaml"
    _huge_desc(path)
    assert main(["validate", str(path), "--max-params", str(10**30)]) == 2
    assert "MiB of activations, above the limit of 16384 MiB" in capsys.readouterr().err


def test_an_empty_input_axis_is_refused():
    data = {"input_shape": [3, 0, 32], "n_classes": 10, "model_stems": [{"name": "stem_conv3x3"}]}
    data |= {"pool_op": {"name": "pool_adaptive_avg2d"}, "logits_op": {"name": "linear"}}
    with pytest.raises(DescError) as err:
        parse_desc(data, source="d.yaml")
    _one_line(err, "d.yaml: input_shape[1]:")


def test_a_supernet_too_many_nodes_to_build_is_refused_before_the_builder_loops():
    overrides = ["nas.search.model_desc.n_cells=700", "nas.search.model_desc.cell.n_nodes=30"]
    with pytest.raises(ConfError) as err:
        load_conf(["darts_toy"], overrides)
    _one_line(err, "command line: nas.search.model_desc.n_cells: 700 cells of 30 nodes: more than 2048 nodes in all")
