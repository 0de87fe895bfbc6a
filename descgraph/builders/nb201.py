"""NAS-Bench-201 networks (Dong and Yang, ICLR 2020) as ModelDescs, and their architecture read back.

The network is the benchmark's `TinyNetwork`: a 3x3 conv-BN stem of C channels, three stages of N cells
at C, 2C and 4C channels joined by residual reduction blocks (stride 2), BN-ReLU, global average pool,
linear classifier. A cell has one stem (identity: it reads the previous output as state 0) and 3 nodes;
node j sums op(i -> j) over every i < j and the cell outputs node 3. `none` edges stay in the desc, so
the architecture string round-trips. A reduction block is a cell of its own: node 1 is a strided 3x3
ReLU-conv-BN, node 2 a 3x3 ReLU-conv-BN of node 1 plus the shortcut (2x2 average pool, 1x1 conv).
"""

from __future__ import annotations

from typing import Any

from descgraph.builders._readback import check_rebuilt
from descgraph.builders.model_desc_builder import ModelDescBuilder, register_builder
from descgraph.conf.schema import DatasetConf, ModelDescConf, ModelStemsConf
from descgraph.desc import CellDesc, CellType, ConvMacroParams, EdgeDesc, ModelDesc, NodeDesc, OpDesc, Shape
from descgraph.desc.nb201 import EDGES, N_NODES, NB201_OPS, NB201Arch, format_nb201, parse_nb201
from descgraph.errors import DescError

# The benchmark's op names -> descgraph's ops with the same semantics (nor_conv = ReLU-conv-BN).
NB201_TO_OP = {
    "none": "none",
    "skip_connect": "skip_connect",
    "nor_conv_1x1": "conv_1x1",
    "nor_conv_3x3": "conv_3x3",
    "avg_pool_3x3": "avg_pool_3x3",
}
OP_TO_NB201 = {op: name for name, op in NB201_TO_OP.items()}
# The benchmark's datasets: (classes, image size); ImageNet16-120 is 120 classes of 16x16 images.
NB201_DATASETS = {"cifar10": (10, 32), "cifar100": (100, 32), "imagenet16": (120, 16)}
N_STAGES = 3


def nb201_model_conf(dataset: str = "cifar10", n_cells: int = 5, init_node_ch: int = 16) -> ModelDescConf:
    """The model-desc conf of the benchmark's network on one of its datasets (N = 5 cells, C = 16).

    Raises:
        DescError: `dataset` is not one of the benchmark's.
    """
    if dataset not in NB201_DATASETS:
        raise DescError(f"dataset {dataset!r} is not a NAS-Bench-201 dataset (known: {', '.join(NB201_DATASETS)})")
    n_classes, size = NB201_DATASETS[dataset]
    return ModelDescConf(
        builder="nb201",
        n_cells=n_cells,
        model_stems=ModelStemsConf(init_node_ch=init_node_ch, stem_multiplier=1),
        dataset=DatasetConf(name=dataset, n_classes=n_classes, image_size=size),
    )


def _as_arch(arch: NB201Arch | str, source: str = "arch") -> NB201Arch:
    """The 6 op names of an arch string or tuple, checked."""
    return parse_nb201(arch if isinstance(arch, str) else format_nb201(tuple(arch)), source)


def _op(name: str, ch_in: int, ch_out: int, stride: int = 1) -> OpDesc:
    params: dict[str, Any] = {"ch_in": ch_in, "ch_out": ch_out}
    if stride != 1:
        params["stride"] = stride
    return OpDesc(name=name, params=params)


def nb201_cell(index: int, arch: NB201Arch, shape: Shape) -> CellDesc:
    """The benchmark's cell (`InferCell`) at `shape`: node j sums op(i -> j) for i < j, output node 3."""
    ch = shape[0]
    nodes = [NodeDesc(edges=[], conv_params=ConvMacroParams(ch_in=ch, ch_out=ch)) for _ in range(N_NODES - 1)]
    for name, (i, j) in zip(arch, EDGES):
        nodes[j - 1].edges.append(EdgeDesc(op_desc=_op(NB201_TO_OP[name], ch, ch), input_ids=[i]))
    return CellDesc(
        id=index,
        stems=[_op("identity", ch, ch)],
        stem_shapes=[list(shape)],
        nodes=nodes,
        node_shapes=[list(shape) for _ in nodes],
        post_op=_op("identity", ch, ch),
        out_shape=list(shape),
        concat=[N_NODES - 1],
        trainables_from=index,
    )


def residual_block(index: int, in_shape: Shape, ch_out: int) -> CellDesc:
    """The benchmark's reduction (`ResNetBasicblock`, stride 2): conv_b(conv_a(x)) + shortcut(x)."""
    ch_in, out_shape = in_shape[0], [ch_out, -(-in_shape[1] // 2), -(-in_shape[2] // 2)]
    conv_a = EdgeDesc(op_desc=_op("conv_3x3", ch_in, ch_out, stride=2), input_ids=[0])
    conv_b = EdgeDesc(op_desc=_op("conv_3x3", ch_out, ch_out), input_ids=[1])
    shortcut = EdgeDesc(op_desc=_op("resnet_downsample", ch_in, ch_out, stride=2), input_ids=[0])
    conv = ConvMacroParams(ch_in=ch_out, ch_out=ch_out)
    return CellDesc(
        id=index,
        cell_type=CellType.REDUCTION,
        stems=[_op("identity", ch_in, ch_in)],
        stem_shapes=[list(in_shape)],
        nodes=[NodeDesc(edges=[conv_a], conv_params=conv), NodeDesc(edges=[conv_b, shortcut], conv_params=conv)],
        node_shapes=[list(out_shape), list(out_shape)],
        post_op=_op("identity", ch_out, ch_out),
        out_shape=out_shape,
        concat=[2],
        trainables_from=index,
    )


@register_builder("nb201")
class NB201Builder(ModelDescBuilder):
    """Builds the NAS-Bench-201 network of one architecture.

    The architecture comes from, in order: the constructor, the template (`desc_to_nb201`), the conf's
    `arch`. The conf gives N (`n_cells`, cells per stage), C (`model_stems.init_node_ch`), the dataset and
    the aux tower; the rest of the macro (stems, reductions, head) is the benchmark's.

    Args:
        arch: the architecture (string or 6 op names), if known when the builder is made.
    """

    def __init__(self, arch: NB201Arch | str | None = None) -> None:
        self.arch = None if arch is None else _as_arch(arch)

    def build(self, conf: ModelDescConf, template: ModelDesc | None = None) -> ModelDesc:
        arch = self.arch
        if arch is None:
            arch = desc_to_nb201(template) if template is not None else _conf_arch(conf)
        self.cell_arch = arch
        desc = super().build(conf, template)
        desc.params = {**desc.params, "nb201": format_nb201(arch)}
        return desc

    def build_model_stems(self, input_shape: Shape) -> tuple[list[OpDesc], list[Shape]]:
        """One 3x3 conv-BN stem of C channels (the benchmark's `stem`)."""
        ch = self.conf.model_stems.init_node_ch
        return [_op("stem_conv3x3", input_shape[0], ch)], [[ch, *input_shape[1:]]]

    def build_cells(self, stem_shapes: list[Shape]) -> list[CellDesc]:
        """Three stages of N cells, a residual block before the second and the third."""
        shape, cells = list(stem_shapes[-1]), []
        for stage in range(N_STAGES):
            if stage:
                cells.append(residual_block(len(cells), shape, 2 * shape[0]))
                shape = cells[-1].out_shape
            cells += [nb201_cell(len(cells) + k, self.cell_arch, shape) for k in range(self.conf.n_cells)]
        return cells

    def build_model_pool(self, ch: int) -> OpDesc:
        """BN-ReLU, then global average pooling (the benchmark's `lastact` and `global_pooling`)."""
        return _op("pool_bn_relu_avg2d", ch, ch)


def _conf_arch(conf: ModelDescConf) -> NB201Arch:
    if not conf.arch:
        raise DescError("model_desc.arch: the nb201 builder needs an architecture string (or a template desc)")
    return _as_arch(conf.arch, "model_desc.arch")


def build_nb201(arch: NB201Arch | str, conf: ModelDescConf) -> ModelDesc:
    """The NAS-Bench-201 network of `arch` at the macro of `conf` (N = n_cells, C = init_node_ch).

    Raises:
        DescError: a malformed architecture string or op tuple.
    """
    return NB201Builder(arch).build(conf)


def desc_to_nb201(desc: ModelDesc) -> NB201Arch:
    """The architecture of a NAS-Bench-201 network, read off its first cell and checked against the rest.

    Raises:
        DescError: `desc` is not the network `build_nb201` makes of its own architecture; names the path.
    """
    first = next((i for i, c in enumerate(desc.cell_descs) if not c.is_reduction), None)
    if first is None:
        raise DescError("cell_descs: no regular cell, so no NAS-Bench-201 cell to read")
    arch = _read_cell(desc.cell_descs[first], f"cell_descs[{first}]")
    check_rebuilt(desc, build_nb201(arch, _macro_of(desc)), f"the NAS-Bench-201 network of {format_nb201(arch)}")
    return arch


def _read_cell(cell: CellDesc, path: str) -> NB201Arch:
    """The 6 op names of a cell, each edge checked to read the state the benchmark's cell reads."""
    if len(cell.nodes) != N_NODES - 1:
        raise DescError(f"{path}.nodes: {len(cell.nodes)} nodes; a NAS-Bench-201 cell has {N_NODES - 1}")
    ops = []
    for j, node in enumerate(cell.nodes, start=1):
        if len(node.edges) != j:
            raise DescError(f"{path}.nodes[{j - 1}].edges: {len(node.edges)} edges; node {j} has one per earlier node")
        for i, edge in enumerate(node.edges):
            epath = f"{path}.nodes[{j - 1}].edges[{i}]"
            if edge.input_ids != [i]:
                raise DescError(f"{epath}.input_ids: {edge.input_ids}; edge {i} -> {j} reads [{i}]")
            if edge.op_desc.name not in OP_TO_NB201:
                known = ", ".join(NB201_TO_OP[n] for n in NB201_OPS)
                raise DescError(f"{epath}.op_desc.name: {edge.op_desc.name!r} is not a NAS-Bench-201 op ({known})")
            ops.append(OP_TO_NB201[edge.op_desc.name])
    return tuple(ops)


def _macro_of(desc: ModelDesc) -> ModelDescConf:
    """The conf whose NAS-Bench-201 network has the input, classes, C and N of `desc`."""
    n_regular = len(desc.cell_descs) - len(desc.reduction_cell_ids())
    channels, size = desc.input_shape[0], desc.input_shape[1]
    return ModelDescConf(
        n_cells=max(1, n_regular // N_STAGES),
        model_stems=ModelStemsConf(init_node_ch=desc.model_stems[0].ch_out or 1, stem_multiplier=1),
        dataset=DatasetConf(channels=channels, image_size=size, n_classes=desc.n_classes),
    )
