"""Ships the top-level `confs/` (the bundled confs' source of truth) inside the package as `confs`.

Everything else about the build is in pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CONFS = Path(__file__).resolve().parent / "confs"
CONF_GLOB = "*/*.yaml"  # confs/<kind>/<name>.yaml, as descgraph.conf.confs_dir() reads them


class BuildPyWithConfs(build_py):
    """build_py that also copies confs/<kind>/<name>.yaml to confs/<kind>/<name>.yaml."""

    def run(self) -> None:
        super().run()
        for src in sorted(CONFS.glob(CONF_GLOB)):
            dest = Path(self.build_lib) / "descgraph" / "confs" / src.relative_to(CONFS)
            self.mkpath(str(dest.parent))
            self.copy_file(str(src), str(dest), preserve_mode=False)


setup(cmdclass={"build_py": BuildPyWithConfs})
