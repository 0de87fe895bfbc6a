"""ENAS architectures in their native forms (Pham et al., "Efficient Neural Architecture Search via
Parameter Sharing", 2018), as the NNI search-space zoo defines the spaces.

- **Micro** (cell) space: a `Genotype` (descgraph.desc.genotype), as DARTS's, whose node k takes
  the pairs [2k, 2k+1]: two (op, input state) choices summed; the ops come from `ENAS_MICRO_OPS`; two
  inputs of a node may be the same state; the cell outputs the states no node reads (`loose_ends`),
  its two inputs included.
- **Macro** (network) space: one `(op, skips)` per layer, the op from `ENAS_MACRO_OPS`. Layer i applies
  its op to the output before it and adds the outputs its `skips` name, counted as NNI's
  `ENASMacroLayer` and the ENAS code count them: 0 is the stem's output, j > 0 layer j-1's, so layer i
  may skip from 0..i-1 (never from layer i-1, which its op already reads). Text form:
  `[("enas_conv_3x3", []), ("enas_sep_conv_5x5", [0]), ...]` (`parse_macro_arch`).

Op names are registered op names, so a builder turns an architecture into OpDescs directly.
"""

from __future__ import annotations

import ast

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
    """The states no node reads, the cell's two inputs included: what an ENAS micro cell outputs.

    ENAS (`_fixed_combine` of the micro child) and NNI's zoo (`ENASMicroLayer`) count the inputs among
    the nodes: an input that no node reads is part of the output.
    """
    n_states = n_stems + len(pairs) // 2
    used = {src for _, src in pairs}
    return [s for s in range(n_states) if s not in used]


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


def check_macro_arch(arch: EnasMacroArch, source: str = "arch") -> None:
    """Raise DescError naming the first layer with an unknown op or a skip that is not an earlier output."""
    for i, (op, skips) in enumerate(arch):
        if op not in ENAS_MACRO_OPS:
            raise DescError(f"{source}[{i}]: unknown ENAS macro op {op!r} (known: {', '.join(ENAS_MACRO_OPS)})")
        bad = [s for s in skips if not 0 <= s < i]
        if bad or len(set(skips)) != len(skips):
            raise DescError(f"{source}[{i}].skips: {list(skips)} must be distinct earlier outputs (0..{i - 1})")


def parse_macro_arch(text: str, source: str = "arch") -> EnasMacroArch:
    """A macro architecture from its text, a list of `(op, [skips])` literals, read with `ast` (never run).

    Raises:
        DescError: one line naming `source` and the layer: not a literal, not (op, skips), a bad op or skip.
    """
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise DescError(f"{source}: expected a list of (op, [skips]) layers, got {text.strip()[:60]!r}") from None
    if not isinstance(value, (list, tuple)) or not value:
        raise DescError(f"{source}: expected a non-empty list of (op, [skips]) layers")
    arch = tuple(_macro_layer(layer, f"{source}[{i}]") for i, layer in enumerate(value))
    check_macro_arch(arch, source)
    return arch


def _macro_layer(layer: object, where: str) -> MacroLayer:
    ok = isinstance(layer, (list, tuple)) and len(layer) == 2 and isinstance(layer[0], str)
    skips = layer[1] if ok else None
    if not ok or not isinstance(skips, (list, tuple)) or not all(type(s) is int for s in skips):
        raise DescError(f"{where}: expected (op, [skips]) with integer skips, got {layer!r}")
    return layer[0], tuple(skips)


def format_macro_arch(arch: EnasMacroArch) -> str:
    """The text of a macro architecture; parse_macro_arch(format_macro_arch(a)) == a."""
    return repr([(op, list(skips)) for op, skips in arch])
