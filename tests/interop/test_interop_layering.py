"""Conversions between notations never import torch."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys, warnings
warnings.simplefilter("ignore")
from descgraph.interop import from_archai, from_genotype, from_nb201, from_nni, to_genotype, to_nb201, to_nni
desc = from_archai(sys.argv[1])
to_nni(desc, "darts"), to_genotype(desc), from_nni(to_nni(from_genotype("DARTS_V1")))
to_nni(from_nb201("|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|"), "nb201")
print(sorted(m for m in sys.modules if m == "torch" or m.startswith("torch.")))
"""


def test_conversions_do_not_import_torch(shared_data):
    path = shared_data / "archai" / "final_model_desc1.yaml"
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(path)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
