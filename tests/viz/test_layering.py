"""Pictures of descriptions never need torch: descgraph.viz, the diff and their commands import without it."""

from __future__ import annotations

import subprocess
import sys


def test_pictures_and_diff_import_no_torch():
    code = (
        "import sys; import descgraph.viz, descgraph.desc.diff, descgraph.cli.viz_cmds; "
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
