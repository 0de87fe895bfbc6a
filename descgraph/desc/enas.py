"""ENAS architectures in their native forms (Pham et al., "Efficient Neural Architecture Search via
Parameter Sharing", 2018), as the NNI search-space zoo defines the spaces.

- **Micro** (cell) space: a `Genotype` (descgraph.desc.genotype), as DARTS's, whose node k takes
  the pairs [2k, 2k+1]: two (op, input state) choices summed; the ops come from `ENAS_MICRO_OPS`; two
  inputs of a node may be the same state; the cell outputs the states no node reads (`loose_ends`).
- **Macro** (network) space: one `(op, skips)` per layer, the op from `ENAS_MACRO_OPS` and `skips`
  the earlier layers whose outputs are added to this layer's output.

Op names are registered op names, so a builder turns an architecture into OpDescs directly.
"""

from __future__ import annotations

from descgraph.desc.genotype import Genotype
from descgraph.errors import DescError

ENAS_MICRO_OPS = ("max_pool_3x3", "avg_pool_3x3", "sep_conv_bn_3x3", "sep_conv_bn_5x5", "skip_connect")
ENAS_MACRO_OPS = (
    "enas_conv_3x3",
    "enas_conv_5x5",
    "enas_sep_conv_3x3",
    "enas_sep_conv_5x5",
    "enas_max_pool_3x3",
    "enas_avg_pool_3x3",
)

MacroLayer = tuple[str, tuple[int, ...]]
EnasMacroArch = tuple[MacroLayer, ...]


def loose_ends(pairs: list[tuple[str, int]], n_stems: int = 2) -> list[int]:
    """The node states no node reads: what an ENAS micro cell concatenates (its stems never)."""
    n_states = n_stems + len(pairs) // 2
    used = {src for _, src in pairs}
    return [s for s in range(n_stems, n_states) if s not in used]


def check_micro_genotype(genotype: Genotype, n_stems: int = 2) -> None:
    """Raise DescError naming the first pair with an unknown op or an input that is not earlier."""
    for field in ("normal", "reduce"):
        pairs = getattr(genotype, field)
        if len(pairs) % 2:
            raise DescError(f"genotype.{field}: {len(pairs)} pairs; ENAS nodes take two each")
        for k, (op, src) in enumerate(pairs):
            if op not in ENAS_MICRO_OPS:
                known = ", ".join(ENAS_MICRO_OPS)
                raise DescError(f"genotype.{field}[{k}]: unknown ENAS micro op {op!r} (known: {known})")
            if not 0 <= src < n_stems + k // 2:
                raise DescError(f"genotype.{field}[{k}]: input {src} is not an earlier state of node {k // 2}")


def check_macro_arch(arch: EnasMacroArch) -> None:
    """Raise DescError naming the first layer with an unknown op or a skip that is not an earlier layer."""
    for i, (op, skips) in enumerate(arch):
        if op not in ENAS_MACRO_OPS:
            raise DescError(f"arch[{i}]: unknown ENAS macro op {op!r} (known: {', '.join(ENAS_MACRO_OPS)})")
        bad = [s for s in skips if not 0 <= s < i]
        if bad or len(set(skips)) != len(skips):
            raise DescError(f"arch[{i}].skips: {list(skips)} must be distinct earlier layers (0..{i - 1})")
