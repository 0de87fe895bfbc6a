"""ENAS networks (Pham et al., 2018) as ModelDescs, as NNI's search-space zoo builds them, and read back.

**Micro** (`ENASMicroLayer`): a 3x3 conv-BN stem of 3C channels, then cells reading the two previous
outputs. A cell first adapts each input to C channels at its own size: a reduction cell halves both with
the two-branch factorized reduction (no ReLU, as ENAS reduces BN outputs); a 1x1 conv-BN-ReLU fixes
the channels otherwise (`StdConv`). Node k sums two ops, stride 1, of two earlier states; the states no
node reads (inputs included) are concatenated, then ReLU, 1x1 conv, BN to C. Reductions double C; the
network ends in ReLU, global average pool, linear. NNI's next layer reuses the reduction's factorized
input; here the cell after a reduction has its own factorized reduction of that input.

**Macro** (`ENASMacroGeneralModel`): a 3x3 conv-BN stem of C channels, then one cell per layer. Layer i
applies its op (a ConvBranch or PoolBranch) to the output before it, adds the outputs its skips name
(`CellDesc.input_cells`), and normalizes the sum (BN); channels stay C. After each pooling layer every
earlier output is halved by a factorized reduction: here each cell's stem halves what it reads (NNI shares
one reduction per pooling layer, ENAS has one per earlier layer). Global average pool, linear.

BN layers learn scale and shift as the model's `affine` says (NNI's ENAS BNs mostly do not).
"""

from __future__ import annotations

from descgraph.builders._readback import check_rebuilt
from descgraph.builders.model_desc_builder import ModelDescBuilder, register_builder
from descgraph.conf.schema import DatasetConf, ModelDescConf, ModelStemsConf
from descgraph.desc import CellDesc, CellType, ConvMacroParams, EdgeDesc, ModelDesc, NodeDesc, OpDesc, Shape
from descgraph.desc.enas import (
    EnasMacroArch,
    check_macro_arch,
    check_micro_genotype,
    format_macro_arch,
    loose_ends,
    parse_macro_arch,
)
from descgraph.desc.genotype import Genotype, format_genotype, model_to_genotype, parse_genotype
from descgraph.errors import DescError


def _op(name: str, ch_in: int, ch_out: int, stride: int = 1) -> OpDesc:
    params = {"ch_in": ch_in, "ch_out": ch_out}
    if stride != 1:
        params["stride"] = stride
    return OpDesc(name=name, params=params)


def _halved(shape: Shape, times: int = 1) -> Shape:
    factor = 2**times
    return [shape[0], -(-shape[1] // factor), -(-shape[2] // factor)]


def _adapt(shape: Shape, target: Shape) -> OpDesc:
    """A stem taking `shape` to `target`: factorized reduction by 2 or 4, else a 1x1 conv-BN-ReLU, else identity."""
    stride = 1
    while -(-shape[1] // stride) > target[1]:
        stride *= 2
    if stride > 1:
        return _op("factorized_reduce", shape[0], target[0], stride)
    return _op("convbnrelu_1x1" if shape[0] != target[0] else "identity", shape[0], target[0])


# --- micro ------------------------------------------------------------------------------------
@register_builder("enas_micro")
class EnasMicroBuilder(ModelDescBuilder):
    """Builds an ENAS micro network: `n_cells` cells in all, `n_reductions` of them reductions.

    The genotype comes from, in order: the constructor, the template (`desc_to_enas_micro`), the conf's
    `arch` (a Genotype literal). The conf gives the stem (`init_node_ch` x `stem_multiplier`, 3 in ENAS),
    the dataset and the aux tower.

    Args:
        genotype: the cell genotype, if known when the builder is made.
    """

    def __init__(self, genotype: Genotype | None = None) -> None:
        self.genotype = genotype

    def build(self, conf: ModelDescConf, template: ModelDesc | None = None) -> ModelDesc:
        genotype = self.genotype
        if genotype is None:
            genotype = desc_to_enas_micro(template) if template is not None else _conf_genotype(conf)
        check_micro_genotype(genotype)
        _check_concat(genotype)
        self.cell_genotype = genotype
        desc = super().build(conf, template)
        desc.params = {**desc.params, "genotype": format_genotype(genotype)}
        return desc

    def get_reduction_indices(self) -> list[int]:
        """ENAS: `n_cells - n_reductions` normal layers in equal groups, a reduction after each group."""
        r = self.n_reductions()
        distance = (self.conf.n_cells - r) // (r + 1)
        return [distance * (k + 1) + k for k in range(r)]

    def build_cell(
        self, index: int, cell_type: CellType, in_shapes: list[Shape], ch: int, trainables_from: int
    ) -> CellDesc:
        """A cell whose stems bring both inputs to C channels at the cell's size (halved in a reduction)."""
        target = [ch, *_halved(in_shapes[-1], 1 if cell_type == CellType.REDUCTION else 0)[1:]]
        stems = [_adapt(shape, target) for shape in in_shapes]
        return self.assemble_cell(index, cell_type, stems, [list(target), list(target)], target, ch, trainables_from)

    def build_nodes(
        self, index: int, cell_type: CellType, stem_shapes: list[Shape], ch: int
    ) -> tuple[list[NodeDesc], list[int]]:
        """Node k sums the genotype's pairs 2k and 2k+1, each a stride-1 op; the loose ends are the output."""
        field = "reduce" if cell_type == CellType.REDUCTION else "normal"
        pairs = getattr(self.cell_genotype, field)
        if not pairs:
            raise DescError(f"genotype.{field}: no nodes, but cell {index} is a {cell_type.value} cell")
        nodes = [
            NodeDesc(
                edges=[EdgeDesc(op_desc=_op(name, ch, ch), input_ids=[src]) for name, src in pairs[2 * k : 2 * k + 2]],
                conv_params=ConvMacroParams(ch_in=ch, ch_out=ch),
            )
            for k in range(len(pairs) // 2)
        ]
        return nodes, loose_ends(pairs, len(stem_shapes))

    def build_cell_post_op(
        self, stem_shapes: list[Shape], node_shapes: list[Shape], concat: list[int]
    ) -> tuple[OpDesc, Shape]:
        """ReLU, 1x1 conv and BN from the concatenated loose ends back to C (NNI's `final_conv_w`, `bn`)."""
        states = stem_shapes + node_shapes
        ch_in, ch_out = sum(states[s][0] for s in concat), node_shapes[-1][0]
        params = {"ch_in": ch_in, "ch_out": ch_out, "in_len": len(concat)}
        return OpDesc(name="proj_channels", params=params, in_len=len(concat)), [ch_out, *node_shapes[-1][1:]]

    def build_model_pool(self, ch: int) -> OpDesc:
        """ReLU, then global average pooling: the last cell ends on a BN (NNI `MicroNetwork`)."""
        return _op("pool_relu_avg2d", ch, ch)


def _conf_genotype(conf: ModelDescConf) -> Genotype:
    if not conf.arch:
        raise DescError("model_desc.arch: the enas_micro builder needs a Genotype(...) literal (or a template desc)")
    try:
        return parse_genotype(conf.arch)
    except DescError as err:
        raise DescError(f"model_desc.arch: {err}") from None


def _check_concat(genotype: Genotype) -> None:
    for field in ("normal", "reduce"):
        pairs, concat = getattr(genotype, field), list(getattr(genotype, f"{field}_concat"))
        ends = loose_ends(pairs)
        if (pairs or concat) and concat != ends:  # no pairs, no concat: a network without that cell type
            raise DescError(f"genotype.{field}_concat: {concat}; an ENAS cell outputs its loose ends {ends}")


def build_enas_micro(genotype: Genotype, conf: ModelDescConf) -> ModelDesc:
    """The ENAS micro network of `genotype` at the macro of `conf` (n_cells in all, n_reductions of them).

    Raises:
        DescError: an op that is not an ENAS micro op, an input that is not earlier, a concat that is not
            the loose ends.
    """
    return EnasMicroBuilder(genotype).build(conf)


def desc_to_enas_micro(desc: ModelDesc) -> Genotype:
    """The genotype of an ENAS micro network, checked: the desc must be the network it builds.

    Raises:
        DescError: `desc` is not the network `build_enas_micro` makes of its genotype; names the path.
    """
    genotype = model_to_genotype(desc)
    try:
        check_micro_genotype(genotype)
        _check_concat(genotype)
    except DescError as err:
        raise DescError(f"cell_descs: not an ENAS micro network: {err}") from None
    rebuilt = build_enas_micro(genotype, _micro_macro_of(desc))
    check_rebuilt(desc, rebuilt, "the ENAS micro network of its genotype")
    return genotype


def _micro_macro_of(desc: ModelDesc) -> ModelDescConf:
    """The conf whose ENAS micro network has the input, classes, stem and cells of `desc`."""
    first = desc.cell_descs[0]
    ch = first.node_shapes[0][0] // (2 if first.is_reduction else 1) if first.node_shapes else 1
    stem_ch = desc.model_stems[0].ch_out or ch
    return ModelDescConf(
        n_cells=len(desc.cell_descs),
        n_reductions=len(desc.reduction_cell_ids()),
        model_stems=ModelStemsConf(init_node_ch=ch, stem_multiplier=max(1, stem_ch // ch)),
        dataset=DatasetConf(channels=desc.input_shape[0], image_size=desc.input_shape[1], n_classes=desc.n_classes),
    )


# --- macro ------------------------------------------------------------------------------------
@register_builder("enas_macro")
class EnasMacroBuilder(ModelDescBuilder):
    """Builds an ENAS macro network: one cell per layer (`n_cells`, 12 in ENAS), `n_reductions` pooling layers.

    The architecture comes from, in order: the constructor, the template (`desc_to_enas_macro`), the
    conf's `arch` (`[("enas_conv_3x3", []), ...]`). The conf gives C (`init_node_ch`; the stem has C
    channels too), the dataset, the pool and the aux tower.

    Args:
        arch: the layers, if known when the builder is made.
    """

    def __init__(self, arch: EnasMacroArch | None = None) -> None:
        self.arch = arch

    def build(self, conf: ModelDescConf, template: ModelDesc | None = None) -> ModelDesc:
        arch = self.arch
        if arch is None:
            arch = desc_to_enas_macro(template) if template is not None else _conf_macro_arch(conf)
        check_macro_arch(arch)
        if len(arch) != conf.n_cells:
            raise DescError(f"model_desc.n_cells: {conf.n_cells}, but the architecture has {len(arch)} layers")
        self.layers = arch
        desc = super().build(conf, template)
        desc.params = {**desc.params, "enas_macro": format_macro_arch(arch)}
        return desc

    def get_reduction_indices(self) -> list[int]:
        """Pooling layers, every n_cells // (n_reductions + 1) layers (NNI, ENAS); the layers after them halve."""
        r = self.n_reductions()
        distance = self.conf.n_cells // (r + 1)
        return [distance * (k + 1) - 1 for k in range(r)]

    def build_model_stems(self, input_shape: Shape) -> tuple[list[OpDesc], list[Shape]]:
        """One 3x3 conv-BN stem of C channels."""
        ch = self.conf.model_stems.init_node_ch
        shape = [ch, *input_shape[1:]]
        return [_op("stem_conv3x3", input_shape[0], ch)], [shape, list(shape)]

    def build_cells(self, stem_shapes: list[Shape]) -> list[CellDesc]:
        """One cell per layer; outputs before a layer are halved once per pooling layer between them."""
        pools, halvings, outs, cells = set(self.get_reduction_indices()), 0, {-1: stem_shapes[-1]}, []
        for i, (op, skips) in enumerate(self.layers):
            halvings += (i - 1) in pools
            reads = [i - 1] + [j - 1 for j in skips]  # skip j: 0 is the stem's output, j > 0 layer j-1's
            cells.append(self.build_layer(i, op, reads, [outs[k] for k in reads], halvings))
            outs[i] = cells[-1].out_shape
        return cells

    def build_layer(self, index: int, op: str, reads: list[int], in_shapes: list[Shape], halvings: int) -> CellDesc:
        """Layer `index`: op(first input) + the other inputs, then BN; inputs halved to this layer's size."""
        ch = self.conf.model_stems.init_node_ch
        target = [ch, *_halved(self.conf_input_shape(), halvings)[1:]]
        edges = [EdgeDesc(op_desc=_op(op, ch, ch), input_ids=[0])]
        edges += [EdgeDesc(op_desc=_op("identity", ch, ch), input_ids=[s]) for s in range(1, len(reads))]
        main_halves = _adapt(in_shapes[0], target).stride > 1
        return CellDesc(
            id=index,
            cell_type=CellType.REDUCTION if main_halves else CellType.REGULAR,
            stems=[_adapt(shape, target) for shape in in_shapes],
            stem_shapes=[list(target) for _ in in_shapes],
            nodes=[NodeDesc(edges=edges, conv_params=ConvMacroParams(ch_in=ch, ch_out=ch))],
            node_shapes=[list(target)],
            post_op=_op("batch_norm", ch, ch),
            out_shape=list(target),
            concat=[len(reads)],
            trainables_from=index,
            input_cells=reads,
        )

    def conf_input_shape(self) -> Shape:
        ds = self.conf.dataset
        return [ds.channels, ds.image_size, ds.image_size]


def _conf_macro_arch(conf: ModelDescConf) -> EnasMacroArch:
    if not conf.arch:
        raise DescError("model_desc.arch: the enas_macro builder needs a list of (op, [skips]) layers (or a template)")
    return parse_macro_arch(conf.arch, "model_desc.arch")


def build_enas_macro(arch: EnasMacroArch, conf: ModelDescConf) -> ModelDesc:
    """The ENAS macro network of `arch` at the macro of `conf` (n_cells == len(arch) layers, C = init_node_ch).

    Raises:
        DescError: an unknown op, a skip that is not an earlier output, or n_cells != len(arch).
    """
    return EnasMacroBuilder(tuple((op, tuple(skips)) for op, skips in arch)).build(conf)


def desc_to_enas_macro(desc: ModelDesc) -> EnasMacroArch:
    """The layers of an ENAS macro network, checked: the desc must be the network they build.

    Raises:
        DescError: `desc` is not the network `build_enas_macro` makes of its layers; names the path.
    """
    arch = tuple(_read_layer(cell, i) for i, cell in enumerate(desc.cell_descs))
    try:
        check_macro_arch(arch, "cell_descs")
    except DescError as err:
        raise DescError(f"{err}: not an ENAS macro network") from None
    conf = ModelDescConf(
        n_cells=len(arch),
        n_reductions=len(desc.reduction_cell_ids()),
        model_stems=ModelStemsConf(init_node_ch=desc.model_stems[0].ch_out or 1, stem_multiplier=1),
        model_post_op=desc.pool_op.name,
        dataset=DatasetConf(channels=desc.input_shape[0], image_size=desc.input_shape[1], n_classes=desc.n_classes),
    )
    check_rebuilt(desc, build_enas_macro(arch, conf), f"the ENAS macro network of {format_macro_arch(arch)}")
    return arch


def _read_layer(cell: CellDesc, index: int) -> tuple[str, tuple[int, ...]]:
    """(op, skips) of a layer cell: the op of its first edge, the skips from its inputs after the first."""
    path = f"cell_descs[{index}]"
    if len(cell.nodes) != 1 or not cell.nodes[0].edges:
        raise DescError(f"{path}.nodes: an ENAS macro layer has one node, got {len(cell.nodes)}")
    return cell.nodes[0].edges[0].op_desc.name, tuple(k + 1 for k in cell.stem_inputs(index)[1:])
