"""NAS-Bench-201 networks: the benchmark's parameter count, counts derived by hand, strings both ways."""

from __future__ import annotations

import csv
import random

import pytest
import torch

from descgraph.builders import build_from_genotype, get_builder
from descgraph.builders.nb201 import build_nb201, desc_to_nb201, nb201_model_conf
from descgraph.conf.schema import ModelDescConf
from descgraph.desc import load_desc, save_desc, validate_model_desc
from descgraph.desc.genotype import parse_genotype
from descgraph.desc.nb201 import format_nb201, parse_nb201
from descgraph.errors import DescError
from descgraph.nn import Model, count_macs

ALL_3X3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"

pytestmark = pytest.mark.usefixtures("one_thread")


def _uniform(op: str) -> str:
    return format_nb201((op,) * 6)


def _hand_count(n_conv3: int, n_conv1: int, n_classes: int, c: int = 16, n: int = 5) -> int:
    """Weights of the benchmark's TinyNetwork, from its layer list (convs bias-free, BNs affine: 2 per channel).

    A cell at C channels holds n_conv3 ReLU-conv3x3-BN (9C^2 + 2C each) and n_conv1 ReLU-conv1x1-BN
    (C^2 + 2C each); pools, skips and `none` have no weights.
    """
    stem = 3 * c * 9 + 2 * c
    cells = sum(n * (n_conv3 * (9 * ch * ch + 2 * ch) + n_conv1 * (ch * ch + 2 * ch)) for ch in (c, 2 * c, 4 * c))
    # ResNetBasicblock(C_in, C_out, stride 2): conv_a 3x3 C_in->C_out, conv_b 3x3 C_out->C_out, 1x1 shortcut
    blocks = sum(9 * ci * co + 2 * co + 9 * co * co + 2 * co + ci * co for ci, co in ((c, 2 * c), (2 * c, 4 * c)))
    head = 2 * 4 * c + 4 * c * n_classes + n_classes  # lastact BN, then the linear classifier
    return stem + cells + blocks + head


def _params(arch: str, dataset: str = "cifar10") -> int:
    return Model(build_nb201(arch, nb201_model_conf(dataset)), droppath=False).param_count()


def test_all_nor_conv_3x3_on_cifar10_has_the_benchmarks_parameter_count():
    assert _params(ALL_3X3) == 1_531_546  # NAS-Bench-201's own count for this cell
    assert _hand_count(6, 0, 10) == 1_531_546


@pytest.mark.parametrize(
    ("arch", "n_conv3", "n_conv1", "dataset", "n_classes"),
    [
        (_uniform("none"), 0, 0, "cifar10", 10),
        (_uniform("skip_connect"), 0, 0, "cifar100", 100),
        (_uniform("avg_pool_3x3"), 0, 0, "imagenet16", 120),
        (_uniform("nor_conv_1x1"), 0, 6, "cifar10", 10),
        (BEST, 3, 0, "cifar10", 10),
        (BEST, 3, 0, "imagenet16", 120),
        (
            "|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|",
            1,
            2,
            "cifar100",
            100,
        ),
        (ALL_3X3, 6, 0, "cifar100", 100),
    ],
)
def test_parameter_counts_match_the_hand_derivation(arch, n_conv3, n_conv1, dataset, n_classes):
    assert _params(arch, dataset) == _hand_count(n_conv3, n_conv1, n_classes)


def test_macs_of_all_nor_conv_3x3_match_the_hand_derivation():
    # output elements x (input channels x k x k) per conv; stages at 32x32, 16x16 and 8x8 (CIFAR)
    stem = 32 * 32 * 16 * 3 * 9
    stage = 5 * 6 * 32 * 32 * 16 * 16 * 9  # the same at every stage: 4x the channels^2, 1/4 the pixels
    block = 16 * 16 * 32 * 16 * 9 + 16 * 16 * 32 * 32 * 9 + 16 * 16 * 32 * 16
    desc = build_nb201(ALL_3X3, nb201_model_conf())
    assert count_macs(Model(desc), desc.input_shape) == stem + 3 * stage + 2 * block + 64 * 10


def test_network_layout_and_forward_on_imagenet16():
    desc = build_nb201(BEST, nb201_model_conf("imagenet16"))
    validate_model_desc(desc)
    assert desc.input_shape == [3, 16, 16] and desc.n_classes == 120 and len(desc.cell_descs) == 17
    assert desc.reduction_cell_ids() == [5, 11]
    assert [c.out_shape for c in desc.cell_descs[4:7]] == [[16, 16, 16], [32, 8, 8], [32, 8, 8]]
    assert desc.params["nb201"] == BEST
    logits, aux = Model(desc).eval()(torch.randn(2, 3, 16, 16))
    assert logits.shape == (2, 120) and aux is None


@pytest.mark.parametrize("size", [8, 7])
def test_a_tiny_network_on_small_one_channel_images(size):
    # digits-sized inputs (1 x 8 x 8) and an odd size: the shortcut's pool rounds up as the strided conv does
    conf = ModelDescConf(n_cells=1, model_stems={"init_node_ch": 4}, dataset={"channels": 1, "image_size": size})
    desc = build_nb201(BEST, conf)
    validate_model_desc(desc)
    assert [c.out_shape[1] for c in desc.cell_descs] == [size, 4, 4, 2, 2]
    assert Model(desc).eval()(torch.randn(3, 1, size, size))[0].shape == (3, 10)
    assert desc_to_nb201(desc) == parse_nb201(BEST)


def test_cells_keep_none_edges_and_read_every_earlier_node():
    cell = build_nb201(_uniform("none"), nb201_model_conf()).cell_descs[0]
    assert [[e.input_ids[0] for e in n.edges] for n in cell.nodes] == [[0], [0, 1], [0, 1, 2]]
    assert {e.op_desc.name for n in cell.nodes for e in n.edges} == {"none"}
    assert cell.concat == [3] and len(cell.stems) == 1


def _table_archs(shared_data) -> list[str]:
    with (shared_data / "nb201" / "accuracy.csv").open() as f:
        return [row["arch"] for row in csv.DictReader(f)]


def _round_trips(archs: list[str]) -> None:
    conf = nb201_model_conf()
    for arch in archs:
        assert format_nb201(desc_to_nb201(build_nb201(arch, conf))) == arch


def test_a_spread_of_benchmark_strings_round_trips_through_model_desc(shared_data):
    _round_trips(_table_archs(shared_data)[::125])  # 125 strings across the table's index order


@pytest.mark.slow
def test_every_benchmark_string_round_trips_through_model_desc(shared_data):
    archs = _table_archs(shared_data)
    assert len(archs) == 15_625
    _round_trips(archs)


def test_fifty_benchmark_networks_materialize_and_run_forward(shared_data):
    archs = random.Random(0).sample(_table_archs(shared_data), 50)
    conf, x = nb201_model_conf(), torch.randn(1, 3, 32, 32)
    torch.manual_seed(0)
    with torch.no_grad():
        for arch in archs:
            logits, _ = Model(build_nb201(arch, conf)).eval()(x)
            assert logits.shape == (1, 10) and torch.isfinite(logits).all(), arch


def test_the_registered_builder_reads_the_conf_arch_or_a_template(tmp_path):
    conf = nb201_model_conf(n_cells=2, init_node_ch=8)
    conf.arch = BEST
    desc = get_builder("nb201").build(conf)
    assert desc_to_nb201(desc) == parse_nb201(BEST) and len(desc.cell_descs) == 8
    save_desc(desc, tmp_path / "best.yaml")
    scaled = get_builder("nb201").build(nb201_model_conf(), template=load_desc(tmp_path / "best.yaml"))
    assert desc_to_nb201(scaled) == parse_nb201(BEST) and len(scaled.cell_descs) == 17
    with pytest.raises(DescError, match="^model_desc.arch: the nb201 builder needs an architecture string"):
        get_builder("nb201").build(nb201_model_conf())


def test_build_refuses_malformed_architectures():
    with pytest.raises(DescError, match="node 1 edge 'conv_3x3~0': unknown op 'conv_3x3'"):
        build_nb201("|conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", nb201_model_conf())
    with pytest.raises(DescError, match="expected 6 ops, got 2"):
        build_nb201(("none", "none"), nb201_model_conf())
    with pytest.raises(DescError, match="'imagenet' is not a NAS-Bench-201 dataset"):
        nb201_model_conf("imagenet")


def _edited(edit) -> object:
    desc = build_nb201(BEST, nb201_model_conf())
    edit(desc)
    return desc


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: setattr(d.cell_descs[0].nodes[1].edges[0].op_desc, "name", "sep_conv_3x3"),
            "cell_descs[0].nodes[1].edges[0].op_desc.name: 'sep_conv_3x3' is not a NAS-Bench-201 op",
        ),
        (
            lambda d: setattr(d.cell_descs[0].nodes[2].edges[1], "input_ids", [0]),
            "cell_descs[0].nodes[2].edges[1].input_ids: [0]; edge 1 -> 3 reads [1]",
        ),
        (
            lambda d: setattr(d.cell_descs[3].nodes[0].edges[0].op_desc, "name", "conv_1x1"),
            "cell_descs[3].nodes[0].edges[0].op_desc.name: not as in the NAS-Bench-201 network",
        ),
        (lambda d: d.cell_descs[5].nodes[1].edges.pop(), "cell_descs[5].nodes[1].edges (1 entries, expected 2)"),
        (lambda d: setattr(d.pool_op, "name", "pool_adaptive_avg2d"), "pool_op.name: not as in"),
        (
            lambda d: d.cell_descs[16].stems[0].params.update(ch_in=63),
            "cell_descs[16].stems[0].params.ch_in: not as in",
        ),
    ],
)
def test_reading_back_a_desc_that_is_not_the_network_names_the_path(edit, message):
    with pytest.raises(DescError) as err:
        desc_to_nb201(_edited(edit))
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_reading_back_a_darts_network_is_a_desc_error():
    darts = build_from_genotype(parse_genotype("DARTS_V2"), ModelDescConf(n_cells=5, model_stems={"init_node_ch": 8}))
    with pytest.raises(DescError, match=r"^cell_descs\[0\].nodes: 4 nodes; a NAS-Bench-201 cell has 3"):
        desc_to_nb201(darts)
