"""The layering in pyproject.toml's import-linter contracts holds, and the contracts do catch a breach."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [LINT_IMPORTS, "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(root), "PATH": str(Path(sys.executable).parent)},
        timeout=300,
    )


def _copy_tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("descgraph", "algos"):
        shutil.copytree(REPO / name, root / name, ignore=ignore)
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


@pytest.fixture(scope="module")
def lint_imports():
    if LINT_IMPORTS is None:
        pytest.fail("lint-imports is not installed: pip install -e '.[test]'")
    return _lint


def test_the_tree_keeps_every_contract(lint_imports):
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("descgraph/desc/graph.py", "import torch", "Descriptions, confs and notations know no torch"),
        ("descgraph/nas/finalizers.py", "import algos.darts", "descgraph never imports an algorithm"),
        ("descgraph/ops/basic.py", "import descgraph.train", "Layers"),
        ("descgraph/interop/nni.py", "import descgraph.nn", "Notations convert descriptions only"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(lint_imports, tmp_path, module, line, contract):
    root = _copy_tree(tmp_path)
    path = root / module
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    result = lint_imports(root)
    assert result.returncode != 0
    broken = [x for x in result.stdout.splitlines() if "BROKEN" in x]
    assert any(x.startswith(contract) for x in broken), result.stdout
