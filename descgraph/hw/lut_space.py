"""What a lookup table covers: every block a search space can place, and random architectures to check it on.

A space is found by the search stage's builder name (`nas.search.model_desc.builder`); the default
serves cell spaces whose supernet lists each edge's candidates as the children of a composite op
(DARTS, random): built at the eval macro, its children are exactly the ops a final network can hold
there, and the random finalizer draws final networks uniformly. A space of another shape (an elastic
supernet) registers its own `LutSpace` under its builder's name.
"""

from __future__ import annotations

import itertools

from descgraph._registry import Registry
from descgraph.conf import Conf
from descgraph.desc import ModelDesc, OpDesc
from descgraph.hw.lut import Block

LUT_SPACES: Registry[type[LutSpace]] = Registry("lookup-table space")


def register_lut_space(name: str):
    """Decorator registering a LutSpace subclass for the search builder `name`."""
    return LUT_SPACES.register(name)


class LutSpace:
    """The blocks of a search space at the eval macro of a conf, and uniform draws of its final networks.

    Args:
        conf: the effective conf; the candidates come from its search stage, the macro from its eval stage.
    """

    def __init__(self, conf: Conf) -> None:
        self.conf = conf
        self._supernet_model = None

    def name(self) -> str:
        md, search = self.conf.nas.eval.model_desc, self.conf.nas.search.model_desc
        ds = md.dataset
        return (
            f"{search.builder}: {md.n_cells} cells, {md.n_reductions} reductions, {md.cell.n_nodes} nodes, "
            f"{md.model_stems.init_node_ch} channels, {ds.channels}x{ds.image_size}x{ds.image_size}, "
            f"{ds.n_classes} classes"
        )

    def supernet(self) -> ModelDesc:
        """The search builder's supernet at the eval macro (no aux tower: it does not run at inference)."""
        from descgraph.builders import get_builder

        search = self.conf.nas.search.model_desc
        md = self.conf.nas.eval.model_desc.model_copy(
            update={"builder": search.builder, "primitives": list(search.primitives), "aux_weight": 0.0}
        )
        return get_builder(md.builder).build(md)

    def blocks(self) -> list[Block]:
        """Every distinct block a final network of the space can hold, in model order."""
        from descgraph.hw.sites import op_sites, sum_sites

        supernet, found = self.supernet(), {}
        for site in op_sites(supernet):
            for op in _candidates(site.op):
                block = Block("op", op, site.in_shapes)
                found.setdefault(block.key(), block)
        for s in sum_sites(supernet):
            block = Block("add", None, (s.shape, s.shape))
            found.setdefault(block.key(), block)
        for block in self.node_blocks(supernet):
            found.setdefault(block.key(), block)
        return list(found.values())

    def node_blocks(self, supernet: ModelDesc) -> list[Block]:
        """Every node of two edges a final network can hold: each pair of a node's edges, each pair of candidates."""
        from descgraph.hw.sites import node_op

        if self.conf.nas.search.model_desc.max_final_edges != 2:
            return []
        blocks = {}
        for cell in supernet.cell_descs:
            for node in cell.nodes:
                edges = [(e, tuple(cell.state_shape(e.input_ids[0]))) for e in node.edges if len(e.input_ids) == 1]
                for (a, shape_a), (b, shape_b) in itertools.combinations(edges, 2):
                    for op_a, op_b in itertools.product(_candidates(a.op_desc), _candidates(b.op_desc)):
                        op, shapes = node_op([(op_a, shape_a, a.input_ids[0]), (op_b, shape_b, b.input_ids[0])])
                        block = Block("op", op, shapes)
                        blocks.setdefault(block.key(), block)
        return list(blocks.values())

    def sample(self, seed: int) -> ModelDesc:
        """A uniformly drawn final network: the random finalizer applied to the supernet."""
        from descgraph.nas.finalizers import FINALIZERS
        from descgraph.nn import Model

        max_edges = self.conf.nas.search.model_desc.max_final_edges
        finalizers = FINALIZERS.get("random")(max_final_edges=max_edges, seed=seed)
        if self._supernet_model is None:
            self._supernet_model = Model(self.supernet(), droppath=False)
        return finalizers.finalize_model(self._supernet_model)


register_lut_space("default")(LutSpace)


def _candidates(op: OpDesc) -> list[OpDesc]:
    """The final-network ops an edge can become: its children other than `none` (plain), or itself."""
    from descgraph.nas.finalizers import plain_op

    return [plain_op(c) for c in op.children if c.name != "none"] or [op]


def get_lut_space(conf: Conf) -> LutSpace:
    """The space of a conf's search builder; the default cell space when the builder registered none."""
    name = conf.nas.search.model_desc.builder
    cls = LUT_SPACES.get(name) if name in LUT_SPACES else LUT_SPACES.get("default")
    return cls(conf)
