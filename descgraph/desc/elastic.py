"""Elastic (BigNAS / once-for-all) supernets as descriptions: their space, child configs, and children.

A supernet description is a chain network: a model stem, one cell per stage whose nodes are the
stage's MBConv blocks at their largest (`elastic_mbconv`, node j reading state j), an optional head
cell (`elastic_conv_bn_act` 1x1), a pool and the classifier. Its elastic choices (depths per stage,
width multipliers, kernel sizes and expansion ratios per block, input resolutions) are kept in
`ModelDesc.params["elastic"]` as an `ElasticSpaceDesc`: they describe which children exist, not
which modules the supernet has, so they stay out of the hash.

A `BigNASConfig` picks one child; `child_op_params` gives every op's static params in that child and
`apply_config` the child's static description, whose ops (`mbconv`, `conv_bn_act`, `linear`) hold
exactly the channels, kernels and widths the elastic ops run with. This module never imports torch.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError

from descgraph._files import format_loc
from descgraph.desc.model_desc import CellDesc, DescModel, ModelDesc, NodeDesc, OpDesc, Shape
from descgraph.errors import DescError

ELASTIC_KEY = "elastic"
SE_RATIO = 0.25  # squeeze-excite width: a quarter of the block's middle channels (MobileNetV3)

# elastic op name -> the static op its children become
STATIC_OPS = {"elastic_mbconv": "mbconv", "elastic_conv_bn_act": "conv_bn_act", "elastic_linear": "linear"}


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round channels to a multiple of `divisor`, never more than 10% down (MobileNetV2 `_make_divisible`)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class ElasticStageDesc(DescModel):
    """The choices of one stage: its depths, output channels per width multiplier, kernels and expansions."""

    depths: list[int] = Field(min_length=1, description="allowed numbers of blocks")
    width_multipliers: list[float] = Field(min_length=1, description="allowed width multipliers")
    channels: list[int] = Field(min_length=1, description="output channels of each width multiplier")
    kernel_sizes: list[int] = Field(min_length=1, description="allowed depthwise kernel sizes")
    expansion_ratios: list[int] = Field(min_length=1, description="allowed expansion ratios")


class ElasticSpaceDesc(DescModel):
    """Every elastic choice of a supernet; stored in its `params["elastic"]`."""

    resolutions: list[int] = Field(min_length=1, description="allowed input resolutions")
    total_stride: int = Field(ge=1, description="product of the stem's and the stages' strides")
    divisor: int = Field(8, ge=1, description="channel counts are multiples of this")
    stages: list[ElasticStageDesc] = Field(min_length=1)


class BigNASConfig(DescModel):
    """One child of a supernet: resolution, depth and width per stage, kernel and expansion per active block."""

    resolution: int = Field(description="input height and width")
    depths: list[int] = Field(description="blocks per stage")
    widths: list[float] = Field(description="width multiplier per stage")
    kernel_sizes: list[list[int]] = Field(description="per stage, the kernel of each active block")
    expansion_ratios: list[list[int]] = Field(description="per stage, the expansion ratio of each active block")

    def key(self) -> str:
        """A short stable text of the config, for logs and caches."""
        stages = [
            f"d{d}w{w:g}k{''.join(map(str, k))}e{''.join(map(str, e))}"
            for d, w, k, e in zip(self.depths, self.widths, self.kernel_sizes, self.expansion_ratios)
        ]
        return f"r{self.resolution}-" + "-".join(stages)


def elastic_space(desc: ModelDesc, source: str = "model desc") -> ElasticSpaceDesc:
    """The elastic space recorded in a supernet description.

    Raises:
        DescError: not a supernet, a malformed space, or one whose stages do not fit the cells (named with its path).
    """
    data = desc.params.get(ELASTIC_KEY)
    if data is None:
        raise DescError(f"{source}: params.{ELASTIC_KEY} is missing: not an elastic supernet description")
    try:
        space = ElasticSpaceDesc.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        raise DescError(f"{source}: {format_loc(('params', ELASTIC_KEY, *first['loc']))}: {first['msg']}") from None
    _check_space_fits(desc, space, f"{source}: params.{ELASTIC_KEY}.stages")
    return space


def _check_space_fits(desc: ModelDesc, space: ElasticSpaceDesc, where: str) -> None:
    """Every stage has a cell with a node for each block of its deepest child, and a channel count per width."""
    if len(space.stages) > len(desc.cell_descs):
        raise DescError(f"{where}: {len(space.stages)} stages for {len(desc.cell_descs)} cells")
    for i, (stage, cell) in enumerate(zip(space.stages, desc.cell_descs)):
        if max(stage.depths) > len(cell.nodes) or min(stage.depths) < 1:
            raise DescError(f"{where}[{i}].depths: {stage.depths} outside 1..{len(cell.nodes)} (cell {i}'s nodes)")
        if len(stage.channels) != len(stage.width_multipliers) or min(stage.channels) < 1:
            widths = len(stage.width_multipliers)
            raise DescError(f"{where}[{i}].channels: {stage.channels}: expected {widths} counts of at least 1")


def largest_config(space: ElasticSpaceDesc) -> BigNASConfig:
    """The child with every choice at its largest."""
    return _extreme_config(space, max)


def smallest_config(space: ElasticSpaceDesc) -> BigNASConfig:
    """The child with every choice at its smallest."""
    return _extreme_config(space, min)


def _extreme_config(space: ElasticSpaceDesc, pick) -> BigNASConfig:
    depths = [pick(s.depths) for s in space.stages]
    return BigNASConfig(
        resolution=pick(space.resolutions),
        depths=depths,
        widths=[pick(s.width_multipliers) for s in space.stages],
        kernel_sizes=[[pick(s.kernel_sizes)] * d for s, d in zip(space.stages, depths)],
        expansion_ratios=[[pick(s.expansion_ratios)] * d for s, d in zip(space.stages, depths)],
    )


def _allowed(value: Any, allowed: list, path: str, what: str, source: str) -> None:
    if value not in allowed:
        raise DescError(f"{source}: {path}: {value} is not an allowed {what} (allowed: {', '.join(map(str, allowed))})")


def check_config(space: ElasticSpaceDesc, config: BigNASConfig, source: str = "config") -> None:
    """Raise a one-line DescError naming the first value of `config` outside the space, and the allowed set."""
    _allowed(config.resolution, space.resolutions, "resolution", "resolution", source)
    n = len(space.stages)
    for field in ("depths", "widths", "kernel_sizes", "expansion_ratios"):
        if len(getattr(config, field)) != n:
            raise DescError(f"{source}: {field}: {len(getattr(config, field))} entries for {n} stages")
    for i, stage in enumerate(space.stages):
        _allowed(config.depths[i], stage.depths, f"depths[{i}]", f"depth of stage {i}", source)
        _allowed(config.widths[i], stage.width_multipliers, f"widths[{i}]", f"width of stage {i}", source)
        for field, allowed in (("kernel_sizes", stage.kernel_sizes), ("expansion_ratios", stage.expansion_ratios)):
            values = getattr(config, field)[i]
            if len(values) != config.depths[i]:
                raise DescError(f"{source}: {field}[{i}]: {len(values)} entries for depth {config.depths[i]}")
            for j, v in enumerate(values):
                _allowed(v, allowed, f"{field}[{i}][{j}]", field[:-1].replace("_", " "), source)


# --- the static ops of a child -------------------------------------------------------------------
def mbconv_params(
    ch_in: int, ch_out: int, kernel: int, expansion_ratio: int, stride: int, se: bool, act: str, **fixed: Any
) -> dict[str, Any]:
    """Static `mbconv` params of an elastic block run at these settings (middle and SE widths made divisible)."""
    divisor, has_expand = fixed.get("divisor", 8), fixed.get("has_expand", True)
    ch_mid = make_divisible(ch_in * expansion_ratio, divisor) if has_expand else ch_in
    params = {"ch_in": ch_in, "ch_mid": ch_mid, "ch_out": ch_out, "kernel": kernel, "stride": stride, "act": act}
    params["ch_se"] = make_divisible(ch_mid * SE_RATIO, divisor) if se else 0
    params["has_expand"], params["residual"] = has_expand, fixed.get("residual", False)
    return params


def _static_block(op: OpDesc, ch_in: int, ch_out: int, kernel: int, expansion_ratio: int) -> OpDesc:
    p = op.params
    fixed = {k: p[k] for k in ("divisor", "has_expand", "residual") if k in p}
    params = mbconv_params(ch_in, ch_out, kernel, expansion_ratio, p.get("stride", 1), p["se"], p["act"], **fixed)
    return OpDesc(name="mbconv", params=params)


def _static_conv(op: OpDesc, ch_in: int) -> OpDesc:
    params = {**op.params, "ch_in": ch_in}
    return OpDesc(name="conv_bn_act", params=params)


def _stage_channels(space: ElasticSpaceDesc, config: BigNASConfig) -> list[int]:
    return [s.channels[s.width_multipliers.index(w)] for s, w in zip(space.stages, config.widths)]


def strided(shape: Shape, stride: int) -> Shape:
    return [shape[0], -(-shape[1] // stride), -(-shape[2] // stride)]


def apply_config(
    supernet: ModelDesc, config: BigNASConfig, source: str = "config", supernet_source: str = "model desc"
) -> ModelDesc:
    """The static description of one child: ordinary ops at the config's sizes, shapes at its resolution.

    Raises:
        DescError: `supernet` is not an elastic supernet, or `config` is not one of its children; `source` and
            `supernet_source` name the two in the message.
    """
    space = elastic_space(supernet, supernet_source)
    check_config(space, config, source)
    stem = supernet.model_stems[0]
    r = config.resolution
    shape = strided([stem.params["ch_out"], r, r], stem.stride)
    cells, stage_ch = [], _stage_channels(space, config)
    for i, cell in enumerate(supernet.cell_descs):
        is_stage = i < len(space.stages)
        new = _child_stage(cell, shape, stage_ch[i], config, i) if is_stage else _child_head(cell, shape)
        cells.append(new)
        shape = list(new.out_shape)
    pool = OpDesc(name=supernet.pool_op.name, params={"ch_in": shape[0], "ch_out": shape[0]})
    logits = supernet.logits_op
    if logits.name in STATIC_OPS:
        logits = OpDesc(name=STATIC_OPS[logits.name], params={**logits.params, "ch_in": shape[0]})
    params = {k: v for k, v in supernet.params.items() if k != ELASTIC_KEY}
    return supernet.model_copy(
        update={
            "input_shape": [supernet.input_shape[0], r, r],
            "cell_descs": cells,
            "pool_op": pool,
            "logits_op": logits.clone(),
            "params": {**params, "bignas_config": config.model_dump(mode="json")},
        },
        deep=True,
    )


def _child_stage(cell: CellDesc, in_shape: Shape, ch_out: int, config: BigNASConfig, i: int) -> CellDesc:
    """Stage i's cell with its first `depths[i]` blocks, each a static mbconv."""
    nodes, shapes, shape = [], [], list(in_shape)
    for j in range(config.depths[i]):
        edge = cell.nodes[j].edges[0]
        op = _static_block(edge.op_desc, shape[0], ch_out, config.kernel_sizes[i][j], config.expansion_ratios[i][j])
        shape = strided([ch_out, shape[1], shape[2]], op.stride)
        nodes.append(
            NodeDesc(edges=[edge.model_copy(update={"op_desc": op})], conv_params={"ch_in": op.ch_in, "ch_out": ch_out})
        )
        shapes.append(list(shape))
    return chain_cell(cell.id, in_shape, nodes, shapes)


def _child_head(cell: CellDesc, in_shape: Shape) -> CellDesc:
    """The head cell reading the last stage's active channels."""
    edge = cell.nodes[0].edges[0]
    op = edge.op_desc
    op = _static_conv(op, in_shape[0]) if op.name == "elastic_conv_bn_act" else op.clone()
    shape = strided([op.ch_out, in_shape[1], in_shape[2]], op.stride)
    node = NodeDesc(
        edges=[edge.model_copy(update={"op_desc": op})], conv_params={"ch_in": in_shape[0], "ch_out": op.ch_out}
    )
    return chain_cell(cell.id, in_shape, [node], [shape])


def chain_cell(cell_id: int, in_shape: Shape, nodes: list[NodeDesc], shapes: list[Shape]) -> CellDesc:
    """A one-stem chain cell: identity stem, node j reading state j (the one before it), identity post op."""
    ch_in, ch_out = in_shape[0], shapes[-1][0]
    return CellDesc(
        id=cell_id,
        stems=[OpDesc(name="identity", params={"ch_in": ch_in, "ch_out": ch_in})],
        stem_shapes=[list(in_shape)],
        nodes=nodes,
        node_shapes=[list(s) for s in shapes],
        post_op=OpDesc(name="identity", params={"ch_in": ch_out, "ch_out": ch_out}),
        out_shape=list(shapes[-1]),
        concat=[len(nodes)],
        trainables_from=cell_id,
    )
