"""Other notations to descriptions and back: Archai's saved files, NNI arch dicts, genotypes, NB201 strings.

Reading never executes anything: Archai's pickled-object YAML goes through a loader that knows only
Archai's description classes; genotype literals are parsed, not evaluated. Conversions use descgraph's
builders for the networks and never import torch.

    from descgraph.interop import from_archai, from_nni, to_genotype, to_nni
    desc = from_archai("final_model_desc.yaml")
    to_genotype(desc), to_nni(desc, space="darts")
"""

from __future__ import annotations

from descgraph.interop.archai import ArchaiTemplateWarning, archai_to_desc, differing_cells, from_archai
from descgraph.interop.archai_yaml import load_archai_yaml, parse_archai_yaml
from descgraph.interop.nni import (
    CELL_SPACES,
    SPACES,
    from_nni,
    genotype_to_nni,
    nb201_to_nni,
    nni_to_genotype,
    nni_to_nb201,
    to_nni,
)
from descgraph.interop.notations import (
    check_genotype,
    darts_macro,
    from_genotype,
    from_nb201,
    to_genotype,
    to_nb201,
)

__all__ = [
    "CELL_SPACES",
    "SPACES",
    "ArchaiTemplateWarning",
    "archai_to_desc",
    "check_genotype",
    "darts_macro",
    "differing_cells",
    "from_archai",
    "from_genotype",
    "from_nb201",
    "from_nni",
    "genotype_to_nni",
    "load_archai_yaml",
    "nb201_to_nni",
    "nni_to_genotype",
    "nni_to_nb201",
    "parse_archai_yaml",
    "to_genotype",
    "to_nb201",
    "to_nni",
]
