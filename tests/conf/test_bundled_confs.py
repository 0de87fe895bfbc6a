"""The bundled confs load, hold the DARTS paper's settings, and combine with the dataset confs."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from descgraph.conf import Conf, bundled_names, load_conf, resolve_conf_path
from descgraph.conf import confs_dir as package_confs_dir

DATASETS = ["cifar10", "cifar100", "digits", "imagenet"]
REPO = Path(__file__).resolve().parents[2]
CONF_GLOB = "*/*.yaml"


def _stage_datasets(conf: Conf) -> list:
    stages = (conf.nas.search, conf.nas.eval)
    return [s.model_desc.dataset for s in stages] + [s.loader.dataset for s in stages]


def _darts_with(dataset: str) -> Conf:
    return load_conf([resolve_conf_path("darts"), package_confs_dir() / "datasets" / f"{dataset}.yaml"])


def test_bundled_names_resolve_inside_the_repository(confs_dir):
    assert package_confs_dir() == confs_dir.resolve()
    assert {"darts", "darts_toy"} <= set(bundled_names())
    assert resolve_conf_path("darts") == package_confs_dir() / "algos" / "darts.yaml"
    assert resolve_conf_path(confs_dir / "algos" / "darts_toy.yaml") == confs_dir / "algos" / "darts_toy.yaml"


def test_a_checkout_reads_the_top_level_confs_folder(confs_dir):
    # the source of truth sits beside the package, not inside it (only a built wheel has descgraph/confs)
    assert confs_dir == REPO / "confs" and not (REPO / "descgraph" / "confs").exists()
    files = sorted(p.relative_to(confs_dir) for p in confs_dir.rglob("*") if p.is_file())
    assert len(files) >= len(DATASETS) + len(bundled_names())
    assert all(p.match(CONF_GLOB) for p in files), "setup.py ships confs/<kind>/<name>.yaml only"


def _source_copy(dest: Path) -> Path:
    """What a wheel is built from, copied, so that the build leaves nothing in the checkout."""
    dest.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(REPO / name, dest / name)
    for name in ("descgraph", "algos", "confs"):
        shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


@pytest.mark.slow
def test_a_wheel_ships_every_bundled_conf_as_package_data(confs_dir, tmp_path):
    # a wheel (a non-editable install) carries the confs as descgraph/confs/<kind>/<name>.yaml
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path)]
    subprocess.run([*build, str(_source_copy(tmp_path / "source"))], check=True, capture_output=True, timeout=300)
    with zipfile.ZipFile(next(tmp_path.glob("descgraph-*.whl"))) as wheel:
        shipped = {n.removeprefix("descgraph/confs/") for n in wheel.namelist() if n.startswith("descgraph/confs/")}
        names = set(wheel.namelist())
    assert shipped == {str(p.relative_to(confs_dir)) for p in confs_dir.rglob("*") if p.is_file()}
    assert {"descgraph/conf/loader.py", "algos/darts/runner.py"} <= names


@pytest.mark.parametrize("path", sorted(p.relative_to(REPO) for p in (REPO / "confs").rglob("*.yaml")), ids=str)
def test_every_conf_file_loads_on_its_own(path):
    conf = load_conf([REPO / path])
    assert all(d == conf.dataset for d in _stage_datasets(conf))  # stated once, every stage reads it


@pytest.mark.parametrize("name", bundled_names())
def test_every_bundled_algo_conf_loads_by_name(name):
    conf = load_conf(name)
    assert conf == load_conf([resolve_conf_path(name)])
    assert all(d == conf.dataset for d in _stage_datasets(conf))


@pytest.mark.parametrize("dataset", DATASETS)
def test_every_dataset_conf_reaches_all_four_dataset_copies(dataset):
    conf = _darts_with(dataset)
    assert conf.dataset.name == dataset
    assert all(d == conf.dataset for d in _stage_datasets(conf))


def test_darts_search_stage():
    s = load_conf("darts").nas.search
    md = s.model_desc
    assert (md.builder, md.n_cells, md.n_reductions, md.cell.n_nodes) == ("darts", 8, 2, 4)
    stems = md.model_stems
    assert (stems.ops, stems.init_node_ch, stems.stem_multiplier) == (["stem_conv3x3"], 16, 3)
    assert (s.loader.train_batch, s.loader.val_ratio, s.trainer.epochs) == (64, 0.5, 50)
    opt, alpha = s.trainer.optimizer, s.trainer.alpha_optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.decay) == ("sgd", 0.025, 0.9, 3e-4)
    assert (s.trainer.lr_schedule.type, s.trainer.lr_schedule.min_lr, s.trainer.grad_clip) == ("cosine", 0.001, 5.0)
    assert (alpha.type, alpha.lr, alpha.betas, alpha.decay) == ("adam", 3e-4, [0.5, 0.999], 1e-3)
    assert md.aux_weight == 0.0 and s.trainer.order == "first"


def test_darts_eval_stage():
    conf = load_conf("darts")
    e, md = conf.nas.eval, conf.nas.eval.model_desc
    assert conf.algo == "darts"
    assert (md.builder, md.n_cells, md.n_reductions, md.cell.n_nodes) == ("default", 20, 2, 4)
    assert (md.model_stems.init_node_ch, md.model_stems.stem_multiplier) == (36, 3)
    assert (md.aux_weight, md.aux_tower_stride) == (0.4, 3)
    assert (e.trainer.drop_path_prob, e.loader.cutout, e.loader.train_batch, e.trainer.epochs) == (0.2, 16, 96, 600)
    assert (e.trainer.optimizer.type, e.trainer.optimizer.lr) == ("sgd", 0.025)


def test_darts_defaults_to_cifar10_under_the_default_dataroot():
    d = load_conf("darts").dataset
    assert (d.name, d.n_classes, d.channels, d.image_size) == ("cifar10", 10, 3, 32)
    assert (d.dataroot, d.storage_name) == ("~/dataroot", "cifar-10-batches-py")
    assert load_conf("darts", variables={"default_dataroot": "/data"}).nas.eval.loader.dataset.dataroot == "/data"


def test_darts_toy_is_seconds_sized():
    conf = load_conf("darts_toy")
    s, e = conf.nas.search, conf.nas.eval
    assert (s.model_desc.n_cells, s.model_desc.n_reductions, s.model_desc.cell.n_nodes) == (3, 1, 2)
    assert (s.trainer.epochs, s.loader.train_batch) == (1, 16)
    assert (e.model_desc.n_cells, e.model_desc.n_reductions, e.model_desc.cell.n_nodes) == (5, 2, 4)
    assert (e.model_desc.model_stems.init_node_ch, e.trainer.epochs) == (8, 1)
    assert all(d.max_batches == 2 for d in [conf.dataset, *_stage_datasets(conf)])
    assert s.model_desc.builder == "darts" and e.trainer.optimizer.lr == 0.025  # the rest comes from darts.yaml


def test_cifar100_and_digits():
    cifar100 = _darts_with("cifar100").nas.eval.model_desc.dataset
    assert (cifar100.n_classes, cifar100.storage_name) == (100, "cifar-100-python")
    digits = _darts_with("digits").nas.search.loader.dataset
    assert (digits.name, digits.channels, digits.n_classes, digits.image_size) == ("digits", 1, 10, 8)


def test_darts_then_imagenet_is_the_darts_imagenet_setup():
    conf = _darts_with("imagenet")
    assert (conf.dataset.n_classes, conf.dataset.image_size, conf.dataset.storage_name) == (1000, 224, "imagenet")
    for md in (conf.nas.search.model_desc, conf.nas.eval.model_desc):
        assert md.model_stems.ops == ["stem_conv3x3_s4", "stem_conv3x3_s4s2"]
        assert (md.model_stems.init_node_ch, md.model_stems.stem_multiplier) == (48, 1)
        assert (md.model_post_op, md.aux_tower_stride, md.dataset.n_classes) == ("pool_avg2d7x7", 2, 1000)
    assert (conf.nas.eval.model_desc.n_cells, conf.nas.search.model_desc.n_cells) == (14, 8)
    assert conf.nas.eval.model_desc.aux_weight == 0.4  # kept from darts.yaml
    assert conf.nas.eval.loader.dataset.image_size == 224


def test_the_dataset_file_given_later_wins_over_the_include():
    # darts.yaml includes cifar10.yaml first, so imagenet's keys win, and cifar10's storage name goes
    assert _darts_with("imagenet").dataset.storage_name == "imagenet"
    assert load_conf(["darts", package_confs_dir() / "datasets" / "cifar100.yaml"]).dataset.name == "cifar100"
