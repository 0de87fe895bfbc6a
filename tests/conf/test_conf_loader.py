"""Conf loading: includes, merge order, _copy, variables, overrides, and the bundled confs."""

from __future__ import annotations

import pytest

from descgraph.conf import conf_hash, load_conf, load_conf_data, resolve_conf_path
from descgraph.errors import ConfError


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_includes_relative_nested_and_merge_order(tmp_path):
    _write(tmp_path, "base/a.yaml", "common: {seed: 1, experiment_name: a}\ndataset: {n_classes: 7}\n")
    _write(tmp_path, "base/b.yaml", "__include__: a.yaml\ncommon: {seed: 2}\n")
    top = _write(tmp_path, "top.yaml", "__include__: [base/b.yaml]\ncommon: {experiment_name: top}\n")
    later = _write(tmp_path, "later.yaml", "common: {seed: 9}\n")
    conf = load_conf([top])
    assert (conf.common.seed, conf.common.experiment_name, conf.dataset.n_classes) == (2, "top", 7)
    assert load_conf([top, later]).common.seed == 9


def test_copy_absolute_relative_and_mapping_overlay(tmp_path):
    path = _write(
        tmp_path,
        "c.yaml",
        """
nas:
  search:
    loader: {train_batch: 12, test_batch: '_copy: ../train_batch'}
    trainer: {epochs: 3, optimizer: {lr: 0.5}}
  eval:
    trainer: {_copy: /nas/search/trainer, epochs: 7}
""",
    )
    conf = load_conf([path])
    assert conf.nas.search.loader.test_batch == 12
    assert conf.nas.eval.trainer.epochs == 7 and conf.nas.eval.trainer.optimizer.lr == 0.5


def test_copy_of_a_copy_and_cycle(tmp_path):
    ok = _write(tmp_path, "ok.yaml", "a: {b: '_copy: /c'}\nc: '_copy: /d'\nd: 5\n")
    assert load_conf_data([ok])["a"]["b"] == 5
    bad = _write(tmp_path, "bad.yaml", "a: '_copy: /b'\nb: '_copy: /a'\n")
    with pytest.raises(ConfError, match="cycle"):
        load_conf_data([bad])


def test_variables_are_substituted(tmp_path):
    path = _write(tmp_path, "v.yaml", "dataset: {dataroot: '$default_dataroot/x'}\ncommon: {logdir: '$unknown/y'}\n")
    conf = load_conf([path], variables={"default_dataroot": "/data"})
    assert conf.dataset.dataroot == "/data/x" and conf.common.logdir == "$unknown/y"


def test_overrides_are_typed_by_the_schema(tmp_path):
    path = _write(tmp_path, "o.yaml", "{}\n")
    conf = load_conf(
        [path], ["nas.search.trainer.epochs=3", "common.resume=false", "nas.search.model_desc.primitives=[a, b]"]
    )
    assert conf.nas.search.trainer.epochs == 3 and conf.common.resume is False
    assert conf.nas.search.model_desc.primitives == ["a", "b"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("nas.search.trainer.epoch=3", "did you mean: epochs"),
        ("nas.search.trainer.epochs=x", "nas.search.trainer.epochs"),
        ("nas.search", "expected key.path=value"),
    ],
)
def test_bad_overrides(tmp_path, override, message):
    with pytest.raises(ConfError, match=message):
        load_conf([_write(tmp_path, "o.yaml", "{}\n")], [override])


def test_typo_key_names_file_path_and_suggestion(tmp_path):
    path = _write(tmp_path, "t.yaml", "nas:\n  eval:\n    loader: {train_bach: 3}\n")
    with pytest.raises(ConfError) as e:
        load_conf([path])
    assert (
        str(e.value)
        == f"{path.resolve()}: nas.eval.loader.train_bach: unknown key (did you mean: train_batch, test_batch?)"
    )


def test_bundled_darts_and_imagenet_combination(confs_dir):
    conf = load_conf([resolve_conf_path("darts")])
    s, e = conf.nas.search, conf.nas.eval
    assert (s.model_desc.n_cells, s.model_desc.n_reductions, s.model_desc.cell.n_nodes) == (8, 2, 4)
    assert (s.model_desc.model_stems.init_node_ch, s.model_desc.model_stems.stem_multiplier) == (16, 3)
    assert (s.loader.train_batch, s.trainer.epochs) == (64, 50)
    assert (e.model_desc.n_cells, e.model_desc.model_stems.init_node_ch, e.model_desc.aux_weight) == (20, 36, 0.4)
    assert (e.trainer.drop_path_prob, e.loader.cutout, e.trainer.epochs) == (0.2, 16, 600)
    imagenet = load_conf([confs_dir / "algos" / "darts.yaml", confs_dir / "datasets" / "imagenet.yaml"])
    md = imagenet.nas.eval.model_desc
    assert md.model_stems.ops == ["stem_conv3x3_s4", "stem_conv3x3_s4s2"] and md.n_cells == 14
    assert (md.model_stems.init_node_ch, md.dataset.n_classes, md.dataset.image_size) == (48, 1000, 224)
    assert conf_hash(conf) != conf_hash(imagenet) and conf_hash(conf) == conf_hash(
        load_conf([resolve_conf_path("darts")])
    )


def test_every_bundled_conf_loads(confs_dir):
    for path in sorted((confs_dir / "algos").glob("*.yaml")):
        load_conf([path])


def test_overrides_reach_copies_and_keys_inside_copies(tmp_path):
    path = _write(
        tmp_path,
        "c.yaml",
        """
dataset: {name: cifar10, n_classes: 10}
nas:
  search:
    loader: {dataset: '_copy: /dataset'}
    trainer: {epochs: 3}
  eval:
    trainer: '_copy: /nas/search/trainer'
""",
    )
    conf = load_conf([path], ["dataset.n_classes=100", "nas.eval.trainer.grad_clip=1.5"])
    assert conf.nas.search.loader.dataset.n_classes == 100
    assert conf.nas.eval.trainer.grad_clip == 1.5 and conf.nas.eval.trainer.epochs == 3
