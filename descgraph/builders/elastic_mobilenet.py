"""The elastic MobileNetV3 / EfficientNet-style supernet (BigNAS, once-for-all) from `model_desc.elastic`.

A 3x3 conv stem, one cell per stage holding its blocks at their largest (`elastic_mbconv`), an
optional 1x1 conv head, a mean pool and the classifier. Every choice a child can make is recorded
in the description's `params["elastic"]` (descgraph.desc.elastic), from which `apply_config` makes a
child's static description.
"""

from __future__ import annotations

import math

from descgraph.builders.model_desc_builder import ModelDescBuilder, register_builder
from descgraph.conf.schema import ElasticSpaceConf, ElasticStageConf, ModelDescConf
from descgraph.desc import CellDesc, EdgeDesc, ModelDesc, NodeDesc, OpDesc, Shape
from descgraph.desc.elastic import (
    ELASTIC_KEY,
    ElasticSpaceDesc,
    ElasticStageDesc,
    chain_cell,
    make_divisible,
    strided,
)
from descgraph.errors import ConfError

KEY = "model_desc.elastic"


@register_builder("elastic_mobilenet")
class ElasticMobileNetBuilder(ModelDescBuilder):
    """Builds the supernet of `conf.elastic`; a template is not used (children come from configs)."""

    def build(self, conf: ModelDescConf, template: ModelDesc | None = None) -> ModelDesc:
        self.conf, self.template = conf, template
        space_conf, ds = conf.elastic, conf.dataset
        space = self.build_space(space_conf)
        res = max(space.resolutions)
        stem = OpDesc(
            name="conv_bn_act",
            params={
                "ch_in": ds.channels,
                "ch_out": space_conf.stem_channels,
                "kernel": 3,
                "stride": space_conf.stem_stride,
                "act": space_conf.stem_act,
            },
        )
        shape = strided([space_conf.stem_channels, res, res], space_conf.stem_stride)
        cells: list[CellDesc] = []
        for i, (stage_conf, stage) in enumerate(zip(space_conf.stages, space.stages)):
            cells.append(self.build_stage(i, stage_conf, stage, shape, space.divisor))
            shape = list(cells[-1].out_shape)
        if space_conf.head_channels:
            cells.append(self.build_head(len(cells), shape))
            shape = list(cells[-1].out_shape)
        ch = shape[0]
        logits_name = "linear" if space_conf.head_channels else "elastic_linear"
        return ModelDesc(
            input_shape=[ds.channels, res, res],
            n_classes=ds.n_classes,
            model_stems=[stem],
            cell_descs=cells,
            pool_op=OpDesc(name="pool_mean_tensor", params={"ch_in": ch, "ch_out": ch}),
            logits_op=OpDesc(name=logits_name, params={"ch_in": ch, "ch_out": ds.n_classes}),
            params={**conf.params, ELASTIC_KEY: space.model_dump(mode="json")},
        )

    # --- the space ------------------------------------------------------------------------------
    def build_space(self, conf: ElasticSpaceConf) -> ElasticSpaceDesc:
        """Every stage's choices (stage lists, else the space's), checked; resolutions checked against the strides."""
        if not conf.stages:
            raise ConfError(f"{KEY}.stages: the elastic space needs at least one stage")
        stages = [self.build_stage_space(i, s, conf) for i, s in enumerate(conf.stages)]
        total_stride = conf.stem_stride * math.prod(s.stride for s in conf.stages)
        for r in conf.elastic_resolutions:
            if r < total_stride or r % total_stride:
                strides = " x ".join(str(s) for s in [conf.stem_stride] + [s.stride for s in conf.stages])
                raise ConfError(
                    f"{KEY}.elastic_resolutions: {r} is not a multiple of the total stride {total_stride} "
                    f"({strides}); allowed: {total_stride}, {2 * total_stride}, {3 * total_stride}, ..."
                )
        return ElasticSpaceDesc(
            resolutions=sorted(set(conf.elastic_resolutions)),
            total_stride=total_stride,
            divisor=conf.divisor,
            stages=stages,
        )

    def build_stage_space(self, i: int, stage: ElasticStageConf, conf: ElasticSpaceConf) -> ElasticStageDesc:
        """Stage i's choices, sorted; a depth or ratio below 1 or an even kernel is a ConfError."""
        path = f"{KEY}.stages[{i}]"
        depths = sorted(set(stage.depths or conf.elastic_depths))
        widths = sorted(set(stage.width_multipliers or conf.elastic_width_multipliers))
        kernels = sorted(set(stage.kernel_sizes or conf.elastic_kernel_sizes))
        ratios = sorted(set(stage.expansion_ratios or conf.elastic_expansion_ratios))
        _require(depths, lambda d: d >= 1, f"{path}.depths", "a depth must be at least 1")
        _require(widths, lambda w: w > 0, f"{path}.width_multipliers", "a width multiplier must be positive")
        _require(kernels, lambda k: k >= 1 and k % 2 == 1, f"{path}.kernel_sizes", "a kernel must be odd and positive")
        _require(ratios, lambda e: e >= 1, f"{path}.expansion_ratios", "an expansion ratio must be at least 1")
        channels = [make_divisible(stage.channels * w, conf.divisor) for w in widths]
        return ElasticStageDesc(
            depths=depths, width_multipliers=widths, channels=channels, kernel_sizes=kernels, expansion_ratios=ratios
        )

    # --- cells ----------------------------------------------------------------------------------
    def build_stage(
        self, i: int, conf: ElasticStageConf, stage: ElasticStageDesc, in_shape: Shape, divisor: int
    ) -> CellDesc:
        """Stage i: its largest depth of elastic blocks; block j reads state j, blocks after the first are residual."""
        ch_out, nodes, shapes, shape = max(stage.channels), [], [], list(in_shape)
        for j in range(max(stage.depths)):
            stride = conf.stride if j == 0 else 1
            params = {
                "ch_in": shape[0],
                "ch_out": ch_out,
                "kernel_sizes": stage.kernel_sizes,
                "expansion_ratios": stage.expansion_ratios,
                "se": conf.se,
                "act": conf.act,
                "has_expand": stage.expansion_ratios != [1],
                "residual": j > 0,
                "divisor": divisor,
                **({"stride": stride} if stride != 1 else {}),
            }
            edge = EdgeDesc(op_desc=OpDesc(name="elastic_mbconv", params=params), input_ids=[j])
            nodes.append(NodeDesc(edges=[edge], conv_params={"ch_in": shape[0], "ch_out": ch_out}))
            shape = strided([ch_out, shape[1], shape[2]], stride)
            shapes.append(list(shape))
        return chain_cell(i, in_shape, nodes, shapes)

    def build_head(self, index: int, in_shape: Shape) -> CellDesc:
        """A 1x1 conv to head_channels over the last stage's (elastic) channels."""
        conf = self.conf.elastic
        op = OpDesc(
            name="elastic_conv_bn_act",
            params={"ch_in": in_shape[0], "ch_out": conf.head_channels, "kernel": 1, "act": conf.head_act},
        )
        node = NodeDesc(
            edges=[EdgeDesc(op_desc=op, input_ids=[0])],
            conv_params={"ch_in": in_shape[0], "ch_out": conf.head_channels},
        )
        return chain_cell(index, in_shape, [node], [[conf.head_channels, *in_shape[1:]]])


def _require(values: list, ok, path: str, rule: str) -> None:
    bad = [v for v in values if not ok(v)]
    if bad:
        raise ConfError(f"{path}: {bad[0]} is not allowed ({rule})")
