"""`descgraph nb201 params`: the benchmark's counts per dataset; a malformed string is one line and exit 2."""

from __future__ import annotations

import json

import pytest

from descgraph.cli import main
from descgraph.conf import confs_dir
from descgraph.desc import load_desc

pytestmark = pytest.mark.usefixtures("one_thread")

ALL_3X3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
CIFAR10_PARAMS = 1_531_546  # NAS-Bench-201's count for this cell on CIFAR-10
BODY = CIFAR10_PARAMS - (64 * 10 + 10)  # all but the classifier, which is 64 x classes + classes


@pytest.mark.parametrize(
    ("dataset", "input_shape", "params"),
    [
        ("cifar10", [3, 32, 32], CIFAR10_PARAMS),
        ("cifar100", [3, 32, 32], BODY + 64 * 100 + 100),
        ("imagenet16", [3, 16, 16], BODY + 64 * 120 + 120),  # ImageNet16-120: 120 classes of 16x16 images
    ],
)
def test_params_per_dataset(capsys, dataset, input_shape, params):
    assert main(["nb201", "params", ALL_3X3, "--dataset", dataset, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["params"] == params and out["input_shape"] == input_shape and out["arch"] == ALL_3X3
    assert out["macs"] > 0


def test_params_as_text_lines(capsys):
    assert main(["nb201", "params", ALL_3X3]) == 0
    lines = dict(line.split(maxsplit=1) for line in capsys.readouterr().out.splitlines())
    assert lines["params"] == str(CIFAR10_PARAMS) and lines["dataset"] == "cifar10"
    assert lines["macs"] == "220119680"  # derived by hand in tests/builders/test_nb201_networks.py


@pytest.mark.parametrize(
    ("arch", "message"),
    [
        ("|nor_conv_3x4~0|+|none~0|none~1|+|none~0|none~1|none~2|", "node 1 edge 'nor_conv_3x4~0': unknown op"),
        ("|none~0|+|none~0|none~1|", "expected 3 nodes joined by '+', got 2"),
        ("|none~0|+|none~0|none~2|+|none~0|none~1|none~2|", "node 2 edge 'none~2' must read '<op>~1'"),
    ],
)
def test_a_malformed_string_is_one_line_and_exit_2(capsys, arch, message):
    assert main(["nb201", "params", arch]) == 2
    err = capsys.readouterr().err
    assert err.startswith("descgraph: error: arch: ") and message in err and err.count("\n") == 1


def test_an_unknown_dataset_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["nb201", "params", ALL_3X3, "--dataset", "imagenet"])
    assert exit_info.value.code == 2 and "invalid choice: 'imagenet'" in capsys.readouterr().err


def test_build_from_the_bundled_space_conf_with_an_arch_override(tmp_path, capsys):
    out = tmp_path / "net.yaml"
    space = str(confs_dir() / "spaces" / "nb201.yaml")
    argv = ["build", space, f"nas.search.model_desc.arch={ALL_3X3}", "-o", str(out)]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(["show", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"] == CIFAR10_PARAMS
    assert load_desc(out).params["nb201"] == ALL_3X3
