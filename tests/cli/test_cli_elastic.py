"""`descgraph child`: a BigNASConfig file applied to a supernet description; bad configs exit 2 with one line."""

from __future__ import annotations

import json

import pytest
import yaml

from descgraph.cli import main
from descgraph.desc import load_desc


@pytest.fixture(scope="module")
def supernet(tmp_path_factory):
    path = tmp_path_factory.mktemp("supernet") / "supernet.yaml"
    assert main(["build", "bignas_toy", "-o", str(path)]) == 0
    return path


def _config(tmp_path, **changes):
    config = {
        "resolution": 12,
        "depths": [1, 2, 1, 2],
        "widths": [1.0, 0.75, 0.5, 1.0],
        "kernel_sizes": [[3], [5, 3], [3], [3, 5]],
        "expansion_ratios": [[1], [4, 2], [2], [4, 4]],
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({**config, **changes}))
    return path


def test_child_writes_the_static_description(tmp_path, supernet, capsys):
    out = tmp_path / "child.yaml"
    assert main(["child", str(supernet), str(_config(tmp_path)), "-o", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    child = load_desc(out)
    assert result["hash"] == child.hash() and child.input_shape == [1, 12, 12]
    assert [len(c.nodes) for c in child.cell_descs] == [1, 2, 1, 2, 1]
    # stage 3 (48 channels at 1.0) block 1: 48 in, ratio 4 -> 192 middle, SE 48, residual
    block = child.cell_descs[3].nodes[1].edges[0].op_desc
    assert block.params == {
        "ch_in": 48,
        "ch_mid": 192,
        "ch_out": 48,
        "kernel": 5,
        "stride": 1,
        "act": "relu",
        "ch_se": 48,
        "has_expand": True,
        "residual": True,
    }


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"depths": [1, 3, 1, 2]}, "depths[1]: 3 is not an allowed depth of stage 1 (allowed: 1, 2)"),
        ({"resolution": 20}, "resolution: 20 is not an allowed resolution (allowed: 8, 12, 16)"),
        ({"kernel_sizes": [[3], [5, 7], [3], [3, 5]]}, "kernel_sizes[1][1]: 7 is not an allowed kernel size"),
        ({"widths": "wide"}, "widths"),
    ],
)
def test_bad_configs_exit_2_with_one_line(tmp_path, supernet, capsys, changes, expected):
    config = _config(tmp_path, **changes)
    assert main(["child", str(supernet), str(config), "-o", str(tmp_path / "child.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(config) in err and expected in err, err
    assert not (tmp_path / "child.yaml").exists()
