"""ENAS micro and macro networks: NNI's layouts, counts derived by hand, validation, a training step, read back."""

from __future__ import annotations

import pytest
import torch

from descgraph.builders import get_builder
from descgraph.builders.enas import build_enas_macro, build_enas_micro, desc_to_enas_macro, desc_to_enas_micro
from descgraph.builders.nb201 import build_nb201, nb201_model_conf
from descgraph.conf.schema import ModelDescConf, TrainerConf
from descgraph.desc import ModelDesc, load_desc, save_desc, validate_model_desc
from descgraph.desc.enas import format_macro_arch, loose_ends
from descgraph.desc.genotype import Genotype, format_genotype
from descgraph.errors import DescError
from descgraph.nn import Model
from descgraph.train import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")

NORMAL = [("sep_conv_bn_3x3", 0), ("skip_connect", 1), ("avg_pool_3x3", 2), ("sep_conv_bn_5x5", 0)]
REDUCE = [("max_pool_3x3", 0), ("sep_conv_bn_3x3", 0), ("skip_connect", 2), ("sep_conv_bn_5x5", 2)]
GENOTYPE = Genotype(NORMAL, loose_ends(NORMAL), REDUCE, loose_ends(REDUCE))
MACRO = (("enas_conv_3x3", ()), ("enas_sep_conv_5x5", (0,)), ("enas_avg_pool_3x3", (0, 1)))


def _micro_conf(**kw) -> ModelDescConf:
    return ModelDescConf(**{"n_cells": 3, "n_reductions": 1, "model_stems": {"init_node_ch": 4}, **kw})


def _macro_conf(**kw) -> ModelDescConf:
    return ModelDescConf(**{"n_cells": 3, "n_reductions": 1, "model_stems": {"init_node_ch": 8}, **kw})


def test_the_cell_outputs_its_loose_ends_inputs_included():
    assert GENOTYPE.normal_concat == [3] and GENOTYPE.reduce_concat == [1, 3]  # input 1 is read by no node
    desc = build_enas_micro(GENOTYPE, _micro_conf())
    assert [c.concat for c in desc.cell_descs] == [[3], [1, 3], [3]]


def test_micro_layout_follows_nni():
    # NNI's MicroNetwork(num_layers=6): 8 layers, reductions at 2 and 5 (pool_distance = 6 // 3)
    desc = build_enas_micro(GENOTYPE, ModelDescConf(n_cells=8, n_reductions=2, model_stems={"init_node_ch": 20}))
    validate_model_desc(desc)
    assert desc.reduction_cell_ids() == [2, 5]
    assert [c.out_shape for c in desc.cell_descs[1:4]] == [[20, 32, 32], [40, 16, 16], [40, 16, 16]]
    stems = [[s.name for s in c.stems] for c in desc.cell_descs[:4]]
    assert stems[0] == ["convbnrelu_1x1", "convbnrelu_1x1"]  # NNI's StdConv: the 60-channel stem to 20
    assert stems[1] == ["convbnrelu_1x1", "identity"]
    assert stems[2] == ["factorized_reduce", "factorized_reduce"]  # a reduction halves both inputs
    assert stems[3] == ["factorized_reduce", "identity"]  # the input from before the reduction
    assert all(e.op_desc.stride == 1 for c in desc.cell_descs for n in c.nodes for e in n.edges)
    assert desc.pool_op.name == "pool_relu_avg2d" and desc.params["genotype"] == format_genotype(GENOTYPE)


def test_micro_parameter_count_matches_the_hand_derivation():
    # C = 4, stem 3C = 12 channels, cells: normal (C), reduction (2C), normal (2C); CIFAR-10.
    # conv k x k C->C' is C*C'*k*k (bias-free), an affine BN 2 per channel; SepConvBN k at C: C*k*k + C*C + 2C.
    stem = 3 * 12 * 9 + 2 * 12
    cell0 = 2 * (12 * 4 + 2 * 4) + (4 * 9 + 16 + 8) + (4 * 25 + 16 + 8) + (4 * 4 + 2 * 4)  # 2 StdConv, sep3, sep5, proj
    # factorized reductions 12->8 and 4->8 (two 1x1 convs to 4 channels each, BN), sep3, sep5, proj of 2 states
    cell1 = (12 * 4 * 2 + 16) + (4 * 4 * 2 + 16) + (8 * 9 + 64 + 16) + (8 * 25 + 64 + 16) + (16 * 8 + 16)
    cell2 = (4 * 4 * 2 + 16) + (8 * 9 + 64 + 16) + (8 * 25 + 64 + 16) + (8 * 8 + 16)  # reduce the 32x32 input
    head = 8 * 10 + 10
    model = Model(build_enas_micro(GENOTYPE, _micro_conf()))
    assert model.param_count() == stem + cell0 + cell1 + cell2 + head == 2054


def test_macro_layout_follows_nni():
    # NNI's ENASMacroGeneralModel(num_layers=12): pooling after layers 3 and 7 (pool_distance = 12 // 3)
    arch = tuple((op, tuple(range(i))) for i, op in enumerate(["enas_conv_3x3", "enas_max_pool_3x3"] * 6))
    desc = build_enas_macro(arch, ModelDescConf(n_cells=12, n_reductions=2, model_stems={"init_node_ch": 24}))
    validate_model_desc(desc)
    assert desc.reduction_cell_ids() == [4, 8]
    assert [c.out_shape[1] for c in desc.cell_descs] == [32] * 4 + [16] * 4 + [8] * 4
    last = desc.cell_descs[11]
    assert last.input_cells == [10, -1, *range(10)]  # its input, then skips 0 (the stem) .. 10 (layer 9)
    assert [s.stride for s in last.stems] == [1, 4, 4, 4, 4, 4, 2, 2, 2, 2, 1, 1]
    assert last.post_op.name == "batch_norm" and desc.params["enas_macro"] == format_macro_arch(arch)


def test_macro_parameter_count_matches_the_hand_derivation():
    # C = 8, 3 layers, pooling after layer 0: layers 1 and 2 halve what they read from before it.
    stem = 3 * 8 * 9 + 2 * 8
    std_conv = 8 * 8 + 2 * 8  # each branch starts with a 1x1 conv-BN-ReLU
    fr = 8 * 4 * 2 + 2 * 8  # factorized reduction 8 -> 8, stride 2
    layer0 = (std_conv + 8 * 8 * 9 + 2 * 8) + 2 * 8  # conv3x3 branch, then the layer's BN
    layer1 = 2 * fr + (std_conv + 8 * 25 + 8 * 8 + 2 * 8) + 2 * 8  # its input and skip 0 halved; sep5 branch
    layer2 = 2 * fr + (std_conv + 2 * 8) + 2 * 8  # skips 0 and 1 halved; avg-pool branch
    head = 8 * 10 + 10
    model = Model(build_enas_macro(MACRO, _macro_conf()))
    assert model.param_count() == stem + layer0 + layer1 + layer2 + head == 1818


def test_a_macro_layer_adds_its_skips_to_its_op_and_normalizes_the_sum():
    desc = build_enas_macro(MACRO, _macro_conf())
    torch.manual_seed(0)
    model = Model(desc).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        s = model.model_stems[0](x)
        l0 = model.cells[0](s)
        l1 = model.cells[1](l0, s)
        cell = model.cells[2]
        branch, bn = cell.dag[0][0].op, cell.post_op
        expected = bn(branch(l1) + cell.stems[1](s) + cell.stems[2](l0))
        assert torch.allclose(cell(l1, s, l0), expected, atol=1e-6)


def _train_one_step(desc: ModelDesc) -> None:
    validate_model_desc(desc)
    torch.manual_seed(0)
    model = Model(desc)
    trainer = Trainer(TrainerConf(epochs=1, optimizer={"lr": 0.1}), model, progress=False, aux_weight=0.4)
    before = [p.detach().clone() for p in model.weights()]
    x, y = torch.randn(4, *desc.input_shape), torch.randint(0, desc.n_classes, (4,))
    loss = trainer.train_step(x, y)["loss"]
    assert torch.isfinite(loss)
    changed = [not torch.equal(b, p) for b, p in zip(before, model.weights())]
    assert sum(changed) == len(changed), f"{len(changed) - sum(changed)} weight tensors did not move"


def test_micro_network_trains_a_step():
    _train_one_step(build_enas_micro(GENOTYPE, _micro_conf(aux_weight=0.4, n_cells=5, n_reductions=2)))


def test_macro_network_trains_a_step():
    arch = (*MACRO, ("enas_max_pool_3x3", (1, 2)), ("enas_conv_5x5", (0, 3)), ("enas_sep_conv_3x3", (4,)))
    _train_one_step(build_enas_macro(arch, _macro_conf(n_cells=6, n_reductions=2)))


def test_registered_builders_read_the_conf_arch_and_templates(tmp_path):
    micro = get_builder("enas_micro").build(_micro_conf(arch=format_genotype(GENOTYPE)))
    macro = get_builder("enas_macro").build(_macro_conf(arch=format_macro_arch(MACRO)))
    assert desc_to_enas_micro(micro) == GENOTYPE and desc_to_enas_macro(macro) == MACRO
    save_desc(macro, tmp_path / "macro.yaml")
    save_desc(micro, tmp_path / "micro.yaml")
    bigger = get_builder("enas_micro").build(
        _micro_conf(n_cells=8, n_reductions=2), template=load_desc(tmp_path / "micro.yaml")
    )
    assert desc_to_enas_micro(bigger) == GENOTYPE and len(bigger.cell_descs) == 8
    wider = get_builder("enas_macro").build(
        _macro_conf(model_stems={"init_node_ch": 16}), template=load_desc(tmp_path / "macro.yaml")
    )
    assert desc_to_enas_macro(wider) == MACRO and wider.model_stems[0].ch_out == 16


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: build_enas_micro(GENOTYPE._replace(normal_concat=[2, 3]), _micro_conf()),
            "genotype.normal_concat: [2, 3]; an ENAS cell outputs its loose ends [3]",
        ),
        (
            lambda: build_enas_micro(GENOTYPE._replace(normal=[("sep_conv_3x3", 0)] + NORMAL[1:]), _micro_conf()),
            "genotype.normal[0]: unknown ENAS micro op 'sep_conv_3x3'",
        ),
        (
            lambda: build_enas_micro(GENOTYPE._replace(reduce=[], reduce_concat=[]), _micro_conf()),
            "genotype.reduce: no nodes, but cell 1 is a reduction cell",
        ),
        (
            lambda: build_enas_macro(MACRO, _macro_conf(n_cells=4)),
            "model_desc.n_cells: 4, but the architecture has 3 layers",
        ),
        (
            lambda: build_enas_macro((("enas_conv_3x3", (0,)),), _macro_conf(n_cells=1)),
            "arch[0].skips: [0] must be distinct earlier outputs",
        ),
        (lambda: get_builder("enas_macro").build(_macro_conf()), "model_desc.arch: the enas_macro builder needs"),
        (
            lambda: get_builder("enas_macro").build(_macro_conf(arch="[('enas_conv_3x3', 'x')]")),
            "model_desc.arch[0]: expected (op, [skips])",
        ),
        (
            lambda: get_builder("enas_micro").build(_micro_conf(arch="Genotype(normal=[")),
            "model_desc.arch: genotype: not a Genotype(...) literal",
        ),
    ],
)
def test_malformed_architectures_are_one_line_errors(build, message):
    with pytest.raises(DescError) as err:
        build()
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_reading_back_other_networks_names_the_path():
    micro = build_enas_micro(GENOTYPE, _micro_conf())
    micro.cell_descs[2].nodes[0].edges[0].op_desc.params["ch_out"] = 5
    with pytest.raises(DescError, match=r"^cell_descs\[2\].nodes\[0\].edges\[0\].op_desc.params.ch_out: not as in"):
        desc_to_enas_micro(micro)
    with pytest.raises(DescError, match=r"^cell_descs\[0\].nodes: an ENAS macro layer has one node, got 3"):
        desc_to_enas_macro(build_nb201(("nor_conv_3x3",) * 6, nb201_model_conf(n_cells=1)))
    macro = build_enas_macro(MACRO, _macro_conf())
    macro.cell_descs[1].post_op.name = "identity"
    with pytest.raises(DescError, match=r"^cell_descs\[1\].post_op.name: not as in the ENAS macro network"):
        desc_to_enas_macro(macro)
