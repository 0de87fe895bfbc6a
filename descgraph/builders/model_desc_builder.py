"""ModelDescBuilder: turns a model-desc conf (and optionally a template) into a ModelDesc.

The flow follows Archai's builder: model stems, then cells (stems, nodes, post op), aux towers,
pool and logits, each an overridable method. The base builder has no search space of its own:
it places nodes from a template (a final desc, scaled to this conf's macro); algorithms subclass it
and override `build_nodes`.
"""

from __future__ import annotations

from descgraph._registry import Registry
from descgraph.conf.schema import ModelDescConf
from descgraph.desc import (
    AuxTowerDesc,
    CellDesc,
    CellType,
    ConvMacroParams,
    EdgeDesc,
    ModelDesc,
    NodeDesc,
    OpDesc,
    Shape,
)
from descgraph.errors import DescError

BUILDERS: Registry[type[ModelDescBuilder]] = Registry("model-desc builder")


def _strided(shape: Shape, stride: int) -> Shape:
    return [shape[0], -(-shape[1] // stride), -(-shape[2] // stride)]


def register_builder(name: str):
    """Decorator registering a ModelDescBuilder subclass under `name`."""
    return BUILDERS.register(name)


def get_builder(name: str) -> ModelDescBuilder:
    """A new builder instance by registered name (the registry loads algorithm plugins if needed)."""
    return BUILDERS.get(name)()


@register_builder("default")
class ModelDescBuilder:
    """Builds cell networks; with a template, scales a final description to this conf's macro."""

    def build(self, conf: ModelDescConf, template: ModelDesc | None = None) -> ModelDesc:
        """Build the ModelDesc for `conf`; `template` supplies nodes, edges and concat per cell type."""
        self.conf, self.template = conf, template
        ds = conf.dataset
        input_shape = [ds.channels, ds.image_size, ds.image_size]
        model_stems, stem_shapes = self.build_model_stems(input_shape)
        cell_descs = self.build_cells(stem_shapes)
        out_ch = cell_descs[-1].out_shape[0] if cell_descs else stem_shapes[-1][0]
        return ModelDesc(
            input_shape=input_shape,
            n_classes=ds.n_classes,
            model_stems=model_stems,
            cell_descs=cell_descs,
            aux_tower_descs=self.build_aux_towers(cell_descs),
            pool_op=self.build_model_pool(out_ch),
            logits_op=self.build_logits_op(out_ch, ds.n_classes),
            affine=self.is_affine(),
            params={**(template.params if template is not None else {}), **conf.params},
        )

    # --- macro layout -------------------------------------------------------------------------
    def get_reduction_indices(self) -> list[int]:
        """Cells that reduce: DARTS places them at 1/3 and 2/3 of the depth."""
        n, r = self.conf.n_cells, self.n_reductions()
        return [n * (i + 1) // (r + 1) for i in range(r)]

    def n_reductions(self) -> int:
        """`n_reductions`, refused when there are not as many cells."""
        n, r = self.conf.n_cells, self.conf.n_reductions
        if r > n:
            raise DescError(f"model_desc.n_reductions: {r} reductions do not fit in {n} cells (n_cells)")
        return r

    def get_node_channels(self) -> list[int]:
        """Node channels of each cell: init_node_ch, doubled at every reduction."""
        ch, out, reductions = self.conf.model_stems.init_node_ch, [], set(self.get_reduction_indices())
        for i in range(self.conf.n_cells):
            ch *= 2 if i in reductions else 1
            out.append(ch)
        return out

    def is_affine(self) -> bool:
        """Whether the BNs of the cells, pool and logits learn scale and shift: yes, but in a search supernet."""
        return True

    # --- model stems ----------------------------------------------------------------------------
    def build_model_stems(self, input_shape: Shape) -> tuple[list[OpDesc], list[Shape]]:
        """One or two model stems; returns them and the shapes of s0 and s1 for the first cell."""
        names = self.conf.model_stems.ops
        if not 1 <= len(names) <= 2:
            raise DescError(f"model_desc.model_stems.ops: expected 1 or 2 stems, got {len(names)}")
        ch = self.conf.model_stems.init_node_ch * self.conf.model_stems.stem_multiplier
        stems, shapes, shape = [], [], input_shape
        for name in names:
            stride = _STEM_STRIDES.get(name, 1)
            stems.append(OpDesc(name=name, params={"ch_in": shape[0], "ch_out": ch, **_stride_param(stride)}))
            shape = _strided([ch, shape[1], shape[2]], stride)
            shapes.append(shape)
        return stems, shapes * 2 if len(shapes) == 1 else shapes

    # --- cells ----------------------------------------------------------------------------------
    def build_cells(self, stem_shapes: list[Shape]) -> list[CellDesc]:
        """Every cell, each reading the outputs of the two cells before it."""
        reductions, channels = set(self.get_reduction_indices()), self.get_node_channels()
        outs, cells, first_of_type = list(stem_shapes), [], {}
        for i in range(self.conf.n_cells):
            cell_type = CellType.REDUCTION if i in reductions else CellType.REGULAR
            first_of_type.setdefault(cell_type, i)
            cell = self.build_cell(i, cell_type, outs[-2:], channels[i], first_of_type[cell_type])
            cells.append(cell)
            outs.append(cell.out_shape)
        return cells

    def build_cell(
        self, index: int, cell_type: CellType, in_shapes: list[Shape], ch: int, trainables_from: int
    ) -> CellDesc:
        """One cell: stems to `ch` channels, nodes, and the post op over the concat states."""
        stems, stem_shapes = self.build_cell_stems(in_shapes, ch)
        is_reduction = cell_type == CellType.REDUCTION
        node_shape = _strided(stem_shapes[-1], 2 if is_reduction else 1)
        return self.assemble_cell(index, cell_type, stems, stem_shapes, node_shape, ch, trainables_from)

    def assemble_cell(
        self,
        index: int,
        cell_type: CellType,
        stems: list[OpDesc],
        stem_shapes: list[Shape],
        node_shape: Shape,
        ch: int,
        trainables_from: int,
    ) -> CellDesc:
        """The cell of these stems: its nodes (all of `node_shape`) and the post op over the concat states."""
        nodes, concat = self.build_nodes(index, cell_type, stem_shapes, ch)
        node_shapes = [list(node_shape) for _ in nodes]
        post_op, out_shape = self.build_cell_post_op(stem_shapes, node_shapes, concat)
        return CellDesc(
            id=index,
            cell_type=cell_type,
            stems=stems,
            stem_shapes=stem_shapes,
            nodes=nodes,
            node_shapes=node_shapes,
            post_op=post_op,
            out_shape=out_shape,
            concat=concat,
            trainables_from=trainables_from,
        )

    def build_cell_stems(self, in_shapes: list[Shape], ch: int) -> tuple[list[OpDesc], list[Shape]]:
        """s0 is factorized-reduced when it is larger than s1 (the cell before was a reduction)."""
        s0, s1 = in_shapes
        target = [ch, s1[1], s1[2]]
        if s0[1] > s1[1]:
            stem0 = OpDesc(name="prepr_reduce", params={"ch_in": s0[0], "ch_out": ch, "stride": 2})
        else:
            stem0 = OpDesc(name="prepr_normal", params={"ch_in": s0[0], "ch_out": ch})
        stem1 = OpDesc(name="prepr_normal", params={"ch_in": s1[0], "ch_out": ch})
        return [stem0, stem1], [list(target), list(target)]

    def build_nodes(
        self, index: int, cell_type: CellType, stem_shapes: list[Shape], ch: int
    ) -> tuple[list[NodeDesc], list[int]]:
        """Nodes and concat states of a cell; the base builder copies them from the template."""
        if self.template is None:
            raise DescError(
                f"model_desc.builder: the {type(self).__name__} builder places nodes from a template; "
                "pass a final description (--template) or use an algorithm's builder"
            )
        return self.build_nodes_from_template(cell_type, ch)

    def build_nodes_from_template(self, cell_type: CellType, ch: int) -> tuple[list[NodeDesc], list[int]]:
        """The template's nodes, edges and concat for this cell type, re-sized to `ch` channels."""
        source = next((c for c in self.template.cell_descs if c.cell_type == cell_type), None)
        if source is None:
            raise DescError(f"template has no {cell_type.value} cell to copy")
        nodes = [
            NodeDesc(
                edges=[EdgeDesc(op_desc=_resize_op(e.op_desc, ch), input_ids=list(e.input_ids)) for e in node.edges],
                conv_params=ConvMacroParams(ch_in=ch, ch_out=ch),
            )
            for node in source.nodes
        ]
        concat = list(source.concat) or list(range(len(source.stems), source.n_states))
        return nodes, concat

    def build_cell_post_op(
        self, stem_shapes: list[Shape], node_shapes: list[Shape], concat: list[int]
    ) -> tuple[OpDesc, Shape]:
        """The post op concatenating the `concat` states; returns it and the cell's output shape."""
        states = stem_shapes + node_shapes
        name, ch = self.conf.cell.cell_post_op, sum(states[s][0] for s in concat)
        ch_out = node_shapes[-1][0] if name == "proj_channels" else ch
        op = OpDesc(name=name, params={"ch_in": ch, "ch_out": ch_out, "in_len": len(concat)}, in_len=len(concat))
        return op, [ch_out, *states[concat[-1]][1:]]

    # --- heads ----------------------------------------------------------------------------------
    def build_aux_towers(self, cell_descs: list[CellDesc]) -> list[AuxTowerDesc | None]:
        """An aux tower after the cell at 2/3 of the depth when aux_weight > 0 (DARTS)."""
        if self.conf.aux_weight <= 0 or not cell_descs:
            return []
        at = 2 * len(cell_descs) // 3
        return [self.build_aux_tower(c) if i == at else None for i, c in enumerate(cell_descs)]

    def build_aux_tower(self, cell: CellDesc) -> AuxTowerDesc:
        return AuxTowerDesc(
            ch_in=cell.out_shape[0], n_classes=self.conf.dataset.n_classes, stride=self.conf.aux_tower_stride
        )

    def build_model_pool(self, ch: int) -> OpDesc:
        return OpDesc(name=self.conf.model_post_op, params={"ch_in": ch, "ch_out": ch})

    def build_logits_op(self, ch: int, n_classes: int) -> OpDesc:
        return OpDesc(name="linear", params={"ch_in": ch, "ch_out": n_classes})


# Model stems that shrink the input (DARTS ImageNet: s0 by 4, s1 by 2 more).
_STEM_STRIDES = {"stem_conv3x3_s4": 4, "stem_conv3x3_s4s2": 2}


def _stride_param(stride: int) -> dict[str, int]:
    return {"stride": stride} if stride != 1 else {}


def _resize_op(op: OpDesc, ch: int) -> OpDesc:
    """A copy of `op` (and its children) with ch_in/ch_out set to `ch`."""
    params = dict(op.params)
    for key in ("ch_in", "ch_out"):
        if key in params:
            params[key] = ch
    return op.model_copy(update={"params": params, "children": [_resize_op(c, ch) for c in op.children]})
