"""Exporting whole descriptions: verified against PyTorch, metadata leading back to the desc, one-line errors."""

from __future__ import annotations

import onnx
import pytest
import torch
from torch import nn

from descgraph._files import yaml_safe_load
from descgraph.builders import build_from_genotype, get_builder
from descgraph.cli import main
from descgraph.conf import load_conf, resolve_conf_path
from descgraph.desc import load_desc, parse_desc, save_desc
from descgraph.desc.genotype import parse_genotype
from descgraph.errors import DescError, ExportError
from descgraph.export import META_DESC, META_HASH, export_desc, export_onnx
from descgraph.export.onnx_export import compile_for_export
from descgraph.hw.latency import ort_session
from descgraph.nn import Model
from descgraph.ops import OPS
from descgraph.train import save_checkpoint


def _final(genotype: str = "DARTS_V2", *overrides: str):
    conf = load_conf([resolve_conf_path("darts")], ["nas.search.model_desc.n_cells=3", *overrides])
    return build_from_genotype(parse_genotype(genotype), conf.nas.search.model_desc)


def _eval_desc(genotype: str, conf_name: str, *overrides: str):
    conf = load_conf([resolve_conf_path(conf_name)], list(overrides))
    final = build_from_genotype(parse_genotype(genotype), conf.nas.search.model_desc)
    md = conf.nas.eval.model_desc
    return get_builder(md.builder).build(md, template=final)


@pytest.fixture(scope="module")
def small_desc():
    return _final()


def test_export_verifies_and_carries_the_desc(small_desc, tmp_path):
    report = export_onnx(small_desc, tmp_path / "m.onnx")
    assert report.max_abs_diff <= 1e-4 and report.verified_batches == [1, 2]
    proto = onnx.load(tmp_path / "m.onnx")
    onnx.checker.check_model(proto)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta[META_HASH] == small_desc.hash() == report.desc_hash
    assert parse_desc(yaml_safe_load(meta[META_DESC], "meta")).hash() == small_desc.hash()
    assert [i.name for i in proto.graph.input] == ["input"] and [o.name for o in proto.graph.output] == ["logits"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"


def test_aux_tower_is_left_out(tmp_path):
    desc = _eval_desc("DARTS_V2", "darts_toy", "nas.eval.model_desc.aux_weight=0.4", "dataset.image_size=32")
    assert any(desc.aux_tower_descs)
    exported = export_desc(desc)
    names = {i.name for i in onnx.load_from_string(exported.data).graph.initializer}
    assert not any("aux" in n for n in names)


def test_weights_file_is_what_gets_exported(small_desc, tmp_path):
    torch.manual_seed(123)
    trained = Model(small_desc, droppath=False)
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(0.1 * torch.randn_like(p))
    save_checkpoint(tmp_path / "model.pt", trained.state_dict())
    exported = export_desc(small_desc, tmp_path / "model.pt")
    x = torch.randn(3, *small_desc.input_shape)
    with torch.no_grad():
        expected = trained.eval()(x)[0]
    got = torch.from_numpy(ort_session(exported.data).run(None, {"input": x.numpy()})[0])
    assert (got - expected).abs().max() <= 1e-4
    random_weights = compile_for_export(small_desc)
    with torch.no_grad():
        assert (random_weights(x) - expected).abs().max() > 1e-2  # the file's weights, not fresh ones


def test_non_finite_weights_fail_verification_and_write_nothing(small_desc, tmp_path, capsys):
    diverged = Model(small_desc, droppath=False)
    with torch.no_grad():
        for p in diverged.parameters():
            p.fill_(float("nan"))
    save_checkpoint(tmp_path / "model.pt", diverged.state_dict())
    with pytest.raises(ExportError, match="PyTorch output at batch 1 is not finite"):
        export_desc(small_desc, tmp_path / "model.pt")
    save_desc(small_desc, tmp_path / "d.yaml")
    argv = ["export", str(tmp_path / "d.yaml"), "--weights", str(tmp_path / "model.pt"), "-o", str(tmp_path / "m.onnx")]
    assert main(argv) == 2
    assert "not finite" in capsys.readouterr().err and not (tmp_path / "m.onnx").exists()


@pytest.mark.slow
def test_darts_v2_eval_macro_exports_and_verifies(tmp_path):
    desc = _eval_desc("DARTS_V2", "darts")
    report = export_onnx(desc, tmp_path / "darts_v2.onnx")
    assert report.max_abs_diff <= 1e-4
    out = ort_session(tmp_path / "darts_v2.onnx").run(None, {"input": torch.randn(4, 3, 32, 32).numpy()})[0]
    assert out.shape == (4, 10)


class _Bessel(nn.Module):
    """An op torch.onnx has no symbolic for (aten::special_i0e)."""

    def __init__(self, ch_in: int, ch_out: int, stride: int = 1) -> None:
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.special.i0e(x)


def test_an_op_that_cannot_export_is_named_with_its_path(small_desc, monkeypatch):
    monkeypatch.setitem(OPS._items, "bessel_i0e", _Bessel)
    desc = small_desc.clone()
    desc.cell_descs[1].nodes[2].edges[1].op_desc.name = "bessel_i0e"
    with pytest.raises(ExportError) as err:
        export_desc(desc)
    message = str(err.value)
    assert message.startswith("cell_descs[1].nodes[2].edges[1].op_desc: op 'bessel_i0e' cannot be exported")
    assert "aten::special_i0e" in message and "\n" not in message


def test_unknown_op_is_a_desc_error_naming_the_path(small_desc):
    desc = small_desc.clone()
    desc.cell_descs[0].nodes[1].edges[0].op_desc.name = "sep_conv_3x4"
    with pytest.raises(DescError, match=r"cell_descs\[0\]\.nodes\[1\]\.edges\[0\]\.op_desc\.name: unknown op"):
        export_desc(desc)


def _cli_error(capsys, *argv: str) -> str:
    assert main(list(argv)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("descgraph: error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_cli_export_prints_the_difference(small_desc, tmp_path, capsys):
    save_desc(small_desc, tmp_path / "final.yaml")
    assert main(["export", str(tmp_path / "final.yaml"), "-o", str(tmp_path / "m.onnx"), "--json"]) == 0
    import json

    out = json.loads(capsys.readouterr().out)
    assert out["max_abs_diff"] <= 1e-4 and out["desc_hash"] == small_desc.hash()


def test_cli_export_errors(small_desc, tmp_path, capsys):
    good = tmp_path / "final.yaml"
    save_desc(small_desc, good)
    bad = small_desc.clone()
    bad.cell_descs[0].nodes[0].edges[0].op_desc.name = "sep_conv_9x9"
    save_desc(bad, tmp_path / "unknown_op.yaml")
    out = str(tmp_path / "m.onnx")
    err = _cli_error(capsys, "export", str(tmp_path / "unknown_op.yaml"), "-o", out)
    assert "cell_descs[0].nodes[0].edges[0].op_desc.name: unknown op 'sep_conv_9x9'" in err

    (tmp_path / "corrupt.pt").write_bytes(b"PK\x03\x04 not really a zip")
    err = _cli_error(capsys, "export", str(good), "--weights", str(tmp_path / "corrupt.pt"), "-o", out)
    assert "corrupt.pt: not a readable checkpoint" in err

    other = _final("DARTS_V1")
    save_checkpoint(tmp_path / "v1.pt", Model(other).state_dict())
    err = _cli_error(capsys, "export", str(good), "--weights", str(tmp_path / "v1.pt"), "-o", out)
    assert "v1.pt: weights do not fit this architecture" in err and "missing" in err
    assert not (tmp_path / "m.onnx").exists()  # nothing half-written

    smaller = _final("DARTS_V2", "nas.search.model_desc.model_stems.init_node_ch=8")
    save_checkpoint(tmp_path / "narrow.pt", Model(smaller).state_dict())
    err = _cli_error(capsys, "export", str(good), "--weights", str(tmp_path / "narrow.pt"), "-o", out)
    assert "size mismatch" in err
    assert load_desc(good).hash() == small_desc.hash()


@pytest.mark.parametrize("space", ["nb201", "enas_micro", "enas_macro"])
def test_zoo_networks_export_and_verify(space):
    from descgraph.conf import confs_dir

    md = load_conf([confs_dir() / "spaces" / f"{space}.yaml"]).nas.search.model_desc
    desc = get_builder(md.builder).build(md)
    exported = export_desc(desc)
    assert exported.report.max_abs_diff <= 1e-4 and exported.report.verified_batches == [1, 2]
