"""Conf loading semantics: includes, merge order, _copy, variables, overrides, dump and hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from descgraph.conf import conf_hash, dump_conf, load_conf, load_conf_data


def _write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- includes and merge order -----------------------------------------------------------------
def test_include_as_string_and_the_including_file_wins(tmp_path):
    _write(tmp_path, "base.yaml", "common: {seed: 1, experiment_name: base}\n")
    top = _write(tmp_path, "top.yaml", "__include__: base.yaml\ncommon: {seed: 5}\n")
    conf = load_conf(top)
    assert (conf.common.seed, conf.common.experiment_name) == (5, "base")


def test_include_list_later_include_wins(tmp_path):
    _write(tmp_path, "one.yaml", "common: {seed: 1, experiment_name: one}\n")
    _write(tmp_path, "two.yaml", "common: {seed: 2}\n")
    top = _write(tmp_path, "top.yaml", "__include__: [one.yaml, two.yaml]\n")
    conf = load_conf(top)
    assert (conf.common.seed, conf.common.experiment_name) == (2, "one")


def test_includes_are_relative_to_the_including_file_and_nest(tmp_path):
    _write(tmp_path, "shared/data.yaml", "dataset: {n_classes: 7, name: shared}\n")
    _write(tmp_path, "algos/base/b.yaml", "__include__: ../../shared/data.yaml\ndataset: {name: b}\n")
    _write(tmp_path, "algos/a.yaml", "__include__: [base/b.yaml]\ncommon: {seed: 3}\n")
    top = _write(tmp_path, "runs/top.yaml", "__include__: ../algos/a.yaml\ndataset: {channels: 1}\n")
    conf = load_conf(top)
    assert (conf.dataset.n_classes, conf.dataset.name, conf.dataset.channels, conf.common.seed) == (7, "b", 1, 3)


def test_several_files_merge_in_order_later_wins(tmp_path):
    a = _write(tmp_path, "a.yaml", "common: {seed: 1, experiment_name: a}\nnas: {search: {trainer: {epochs: 4}}}\n")
    b = _write(tmp_path, "b.yaml", "common: {seed: 9}\n")
    c = _write(tmp_path, "c.yaml", "common: {seed: 11}\n")
    conf = load_conf([a, b, c])
    assert (conf.common.seed, conf.common.experiment_name, conf.nas.search.trainer.epochs) == (11, "a", 4)
    assert load_conf([c, b]).common.seed == 9


def test_mappings_merge_deeply_lists_and_scalars_are_replaced(tmp_path):
    a = _write(
        tmp_path,
        "a.yaml",
        "nas: {search: {model_desc: {primitives: [none, skip_connect, sep_conv_3x3], n_cells: 5}}}\n",
    )
    b = _write(tmp_path, "b.yaml", "nas: {search: {model_desc: {primitives: [max_pool_3x3]}}}\n")
    md = load_conf([a, b]).nas.search.model_desc
    assert (md.primitives, md.n_cells) == (["max_pool_3x3"], 5)


def test_empty_file_gives_the_defaults_and_a_single_path_needs_no_list(tmp_path):
    empty = _write(tmp_path, "empty.yaml", "")
    comments = _write(tmp_path, "comments.yaml", "# nothing here\n")
    assert load_conf_data(empty) == {} and load_conf_data([comments]) == {}
    assert load_conf(str(empty)) == load_conf([])


# --- _copy ------------------------------------------------------------------------------------
def test_copy_absolute_string_form(tmp_path):
    path = _write(
        tmp_path,
        "c.yaml",
        "dataset: {name: digits, n_classes: 10}\nnas: {search: {loader: {dataset: '_copy: /dataset'}}}\n",
    )
    assert load_conf(path).nas.search.loader.dataset.name == "digits"


def test_copy_mapping_form_overlays_its_other_keys(tmp_path):
    path = _write(
        tmp_path,
        "c.yaml",
        """
nas:
  search:
    trainer: {epochs: 3, grad_clip: 1.0, optimizer: {lr: 0.5, momentum: 0.8}}
  eval:
    trainer: {_copy: /nas/search/trainer, epochs: 7, optimizer: {lr: 0.1}}
""",
    )
    conf = load_conf(path)
    trainer = conf.nas.eval.trainer
    assert (trainer.epochs, trainer.grad_clip, trainer.optimizer.lr, trainer.optimizer.momentum) == (7, 1.0, 0.1, 0.8)
    assert conf.nas.search.trainer.epochs == 3 and conf.nas.search.trainer.optimizer.lr == 0.5


def test_relative_copy_starts_at_the_key_so_dotdot_is_the_sibling(tmp_path):
    # Archai: `test_workers: '_copy: ../train_workers'` is the sibling of test_workers
    text = "nas: {search: {loader: {train_batch: 12, test_batch: '_copy: ../train_batch'}}}\n"
    assert load_conf(_write(tmp_path, "c.yaml", text)).nas.search.loader.test_batch == 12


def test_relative_copy_climbs_with_more_dotdots(tmp_path):
    path = _write(
        tmp_path,
        "c.yaml",
        """
nas:
  eval:
    trainer: {epochs: 9}
    loader: {workers: '_copy: ../../trainer/epochs'}
    model_desc:
      cell: {n_nodes: 3}
      n_cells: {_copy: ./../cell/n_nodes}
""",
    )
    data = load_conf_data(path)
    assert data["nas"]["eval"]["loader"]["workers"] == 9
    assert data["nas"]["eval"]["model_desc"]["n_cells"] == 3


def test_copy_of_a_copy_resolves_whatever_the_key_order(tmp_path):
    early = _write(tmp_path, "early.yaml", "a: '_copy: /b/x'\nb: '_copy: /c'\nc: {x: 5}\n")
    assert load_conf_data(early) == {"a": 5, "b": {"x": 5}, "c": {"x": 5}}
    nested = _write(tmp_path, "nested.yaml", "a: {_copy: /b, y: 2}\nb: {x: '_copy: /c'}\nc: 1\n")
    assert load_conf_data(nested)["a"] == {"x": 1, "y": 2}


def test_copies_are_independent_of_their_target(tmp_path):
    path = _write(
        tmp_path,
        "c.yaml",
        "dataset: {name: cifar10}\nnas: {search: {loader: {dataset: '_copy: /dataset'}}, "
        "eval: {loader: {dataset: '_copy: /dataset'}}}\n",
    )
    data = load_conf_data(path)
    data["nas"]["search"]["loader"]["dataset"]["name"] = "changed"
    assert data["dataset"]["name"] == data["nas"]["eval"]["loader"]["dataset"]["name"] == "cifar10"


def test_copies_resolve_after_all_files_are_merged(tmp_path):
    a = _write(tmp_path, "a.yaml", "dataset: {name: cifar10}\nnas: {eval: {loader: {dataset: '_copy: /dataset'}}}\n")
    b = _write(tmp_path, "b.yaml", "dataset: {name: digits, channels: 1}\n")
    assert load_conf([a, b]).nas.eval.loader.dataset.channels == 1


# --- variables --------------------------------------------------------------------------------
def test_default_dataroot_variable(tmp_path):
    path = _write(tmp_path, "v.yaml", "dataset: {dataroot: $default_dataroot}\n")
    assert load_conf(path).dataset.dataroot == "~/dataroot"


def test_given_variables_win_and_unknown_tokens_stay(tmp_path, monkeypatch):
    monkeypatch.setenv("DESCGRAPH_TEST_VAR", "from-env")
    path = _write(
        tmp_path,
        "v.yaml",
        """
dataset: {dataroot: '$default_dataroot/x', storage_name: '${expdir}_data'}
common: {logdir: '$HOME/logs/$DESCGRAPH_TEST_VAR', experiment_name: 'costs $5 and $unknown'}
""",
    )
    conf = load_conf(path, variables={"default_dataroot": "/data", "expdir": "/runs/e1"})
    assert (conf.dataset.dataroot, conf.dataset.storage_name) == ("/data/x", "/runs/e1_data")
    assert conf.common.logdir == "$HOME/logs/$DESCGRAPH_TEST_VAR"  # no implicit environment
    assert conf.common.experiment_name == "costs $5 and $unknown"
    assert load_conf(path, variables={"HOME": "/h"}).common.logdir == "/h/logs/$DESCGRAPH_TEST_VAR"


def test_variables_reach_copies_and_overrides(tmp_path):
    path = _write(
        tmp_path,
        "v.yaml",
        "dataset: {dataroot: $default_dataroot}\nnas: {search: {loader: {dataset: '_copy: /dataset'}}}\n",
    )
    conf = load_conf(path, ["common.logdir=$expdir/logs"], variables={"expdir": "/e"})
    assert conf.nas.search.loader.dataset.dataroot == "~/dataroot" and conf.common.logdir == "/e/logs"


# --- overrides --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("override", "read"),
    [
        ("nas.search.trainer.epochs=3", lambda c: c.nas.search.trainer.epochs == 3),
        ("common.resume=false", lambda c: c.common.resume is False),
        ("nas.eval.trainer.optimizer.lr=0.5", lambda c: c.nas.eval.trainer.optimizer.lr == 0.5),
        (
            "nas.search.model_desc.primitives=[none, skip_connect]",
            lambda c: c.nas.search.model_desc.primitives == ["none", "skip_connect"],
        ),
        ("common.experiment_name=abc", lambda c: c.common.experiment_name == "abc"),
        ("common.experiment_name=123", lambda c: c.common.experiment_name == "123"),
        ("nas.search.model_desc.params.alpha=2", lambda c: c.nas.search.model_desc.params == {"alpha": 2}),
        ("nas.search.trainer.optimizer={lr: 0.2}", lambda c: c.nas.search.trainer.optimizer.lr == 0.2),
    ],
)
def test_overrides_are_read_as_yaml_and_typed_by_the_schema(tmp_path, override, read):
    path = _write(tmp_path, "o.yaml", "{}\n")
    assert read(load_conf(path, [override]))


def test_override_values_are_yaml_typed_before_validation(tmp_path):
    path = _write(tmp_path, "o.yaml", "{}\n")
    data = load_conf_data(path, ["nas.search.trainer.epochs=3", "common.resume=true", "dataset.name=abc"])
    assert data["nas"]["search"]["trainer"]["epochs"] == 3 and data["common"]["resume"] is True
    assert data["dataset"]["name"] == "abc"


def test_overrides_win_over_files_and_a_mapping_value_merges(tmp_path):
    path = _write(tmp_path, "o.yaml", "nas: {search: {trainer: {epochs: 9, optimizer: {lr: 0.3, momentum: 0.5}}}}\n")
    conf = load_conf(path, ["nas.search.trainer.epochs=2", "nas.search.trainer.optimizer={lr: 0.2}"])
    opt = conf.nas.search.trainer.optimizer
    assert (conf.nas.search.trainer.epochs, opt.lr, opt.momentum) == (2, 0.2, 0.5)


def test_overrides_reach_every_copy_and_keys_inside_a_copy(tmp_path):
    path = _write(
        tmp_path,
        "c.yaml",
        """
dataset: {name: cifar10, n_classes: 10}
nas:
  search:
    loader: {dataset: '_copy: /dataset'}
    model_desc: {dataset: {_copy: /dataset}}
    trainer: {epochs: 3}
  eval:
    trainer: '_copy: /nas/search/trainer'
""",
    )
    conf = load_conf(path, ["dataset.n_classes=100", "nas.eval.trainer.grad_clip=1.5"])
    assert conf.nas.search.loader.dataset.n_classes == conf.nas.search.model_desc.dataset.n_classes == 100
    assert (conf.nas.eval.trainer.grad_clip, conf.nas.eval.trainer.epochs) == (1.5, 3)
    assert conf.nas.search.trainer.grad_clip == 5.0


def test_yaml_anchors_do_not_share_overrides(tmp_path):
    path = _write(tmp_path, "a.yaml", "nas: {search: {trainer: &t {epochs: 3}}, eval: {trainer: *t}}\n")
    conf = load_conf(path, ["nas.eval.trainer.epochs=9"])
    assert (conf.nas.search.trainer.epochs, conf.nas.eval.trainer.epochs) == (3, 9)


# --- dump and hash ----------------------------------------------------------------------------
def test_dump_conf_loads_back_to_the_same_conf(tmp_path):
    path = _write(tmp_path, "d.yaml", "common: {seed: 4}\nnas: {eval: {trainer: {epochs: 2}}}\n")
    conf = load_conf(path, ["dataset.n_classes=3"])
    again = load_conf(_write(tmp_path, "effective.yaml", dump_conf(conf)))
    assert again == conf and conf_hash(again) == conf_hash(conf)


def test_conf_hash_follows_the_result_not_the_key_order_or_the_place(tmp_path):
    a = _write(tmp_path, "a.yaml", "common: {seed: 4, experiment_name: x}\ndataset: {n_classes: 3}\n")
    b = _write(tmp_path, "b.yaml", "dataset: {n_classes: 3}\ncommon: {experiment_name: y, seed: 4}\n")
    base = conf_hash(load_conf(a))
    assert len(base) == 64 and base == conf_hash(load_conf(b))
    assert base == conf_hash(load_conf(a, ["common.logdir=/elsewhere", "dataset.dataroot=/d"]))
    assert base != conf_hash(load_conf(a, ["common.seed=5"]))
    assert base != conf_hash(load_conf(a, ["nas.search.trainer.epochs=1"]))
