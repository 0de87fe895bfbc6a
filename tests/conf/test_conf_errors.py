"""Malformed confs: every one is a ConfError of one line that names the file and the key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from descgraph.conf import load_conf, resolve_conf_path
from descgraph.errors import ConfError, DescgraphError

# (case id, {file name: text}, overrides, substrings the message must hold); the conf loaded is main.yaml
CASES = [
    (
        "typo_key_at_depth",
        {"main.yaml": "nas:\n  search:\n    trainer: {epoch: 3}\n"},
        [],
        ["main.yaml: nas.search.trainer.epoch: unknown key (did you mean: epochs?)"],
    ),
    (
        "typo_key_at_the_top",
        {"main.yaml": "comon: {seed: 3}\n"},
        [],
        ["main.yaml: comon: unknown key (did you mean: common?)"],
    ),
    (
        "typo_key_in_an_included_file",
        {"main.yaml": "__include__: base.yaml\ncommon: {seed: 1}\n", "base.yaml": "dataset: {n_clases: 3}\n"},
        [],
        ["base.yaml: dataset.n_clases: unknown key (did you mean: n_classes?)"],
    ),
    (
        "wrong_type",
        {"main.yaml": "nas:\n  eval:\n    loader: {train_batch: many}\n"},
        [],
        ["main.yaml: nas.eval.loader.train_batch:", "integer"],
    ),
    (
        "value_not_in_a_choice",
        {"main.yaml": "nas: {search: {trainer: {optimizer: {type: rmsprop}}}}\n"},
        [],
        ["main.yaml: nas.search.trainer.optimizer.type:", "'sgd' or 'adam'"],
    ),
    (
        "mapping_expected",
        {"main.yaml": "nas: {search: 3}\n"},
        [],
        ["main.yaml: nas.search:", "dictionary"],
    ),
    (
        "missing_include",
        {"main.yaml": "__include__: [nope/missing.yaml]\n"},
        [],
        ["main.yaml: __include__:", "nope/missing.yaml: no such conf file"],
    ),
    (
        "include_cycle",
        {"main.yaml": "__include__: a.yaml\n", "a.yaml": "__include__: b.yaml\n", "b.yaml": "__include__: a.yaml\n"},
        [],
        ["b.yaml: __include__: include cycle a.yaml -> b.yaml -> a.yaml"],
    ),
    (
        "file_includes_itself",
        {"main.yaml": "__include__: ./main.yaml\n"},
        [],
        ["main.yaml: __include__: include cycle main.yaml -> main.yaml"],
    ),
    (
        "include_not_a_file_name",
        {"main.yaml": "__include__: {a: 1}\n"},
        [],
        ["main.yaml: __include__: expected a file name"],
    ),
    (
        "bad_copy_path",
        {"main.yaml": "nas:\n  eval:\n    trainer: '_copy: /nas/evl/trainer'\n"},
        [],
        ["main.yaml: nas.eval.trainer: _copy target /nas/evl/trainer does not exist"],
    ),
    (
        "bad_relative_copy_path",
        {"main.yaml": "nas: {search: {loader: {test_batch: '_copy: ../trian_batch'}}}\n"},
        [],
        ["main.yaml: nas.search.loader.test_batch: _copy target /nas/search/loader/trian_batch does not exist"],
    ),
    (
        "copy_above_the_root",
        {"main.yaml": "common: {seed: '_copy: ../../../seed'}\n"},
        [],
        ["main.yaml: common.seed: _copy target '../../../seed' is not a key path below the conf root"],
    ),
    (
        "copy_cycle",
        {
            "main.yaml": "nas:\n  eval: {trainer: '_copy: /nas/search/trainer'}\n"
            "  search: {trainer: {_copy: ../../eval/trainer}}\n"
        },
        [],
        ["main.yaml: nas.eval.trainer: _copy cycle /nas/eval/trainer -> /nas/search/trainer -> /nas/eval/trainer"],
    ),
    (
        "copy_of_itself",
        {"main.yaml": "nas: {search: {trainer: {epochs: '_copy: /nas/search'}}}\n"},
        [],
        ["main.yaml: nas.search.trainer.epochs: _copy cycle"],
    ),
    (
        "copy_adds_keys_to_a_scalar",
        {"main.yaml": "common: {seed: 1}\ndataset: {_copy: /common/seed, name: x}\n"},
        [],
        ["main.yaml: dataset: _copy target /common/seed is not a mapping"],
    ),
    (
        "copy_target_not_a_string",
        {"main.yaml": "dataset: {_copy: [1, 2]}\n"},
        [],
        ["main.yaml: dataset: _copy needs a key path"],
    ),
    (
        "truncated_yaml",
        {"main.yaml": "nas:\n  search: {trainer: [1, 2\n"},
        [],
        ["main.yaml (line 3): malformed YAML"],
    ),
    (
        "malformed_yaml_mapping",
        {"main.yaml": "common:\n  seed: 1\n experiment_name: x\n"},
        [],
        ["main.yaml (line", "malformed YAML"],
    ),
    (
        "top_level_is_a_list",
        {"main.yaml": "- common\n- nas\n"},
        [],
        ["main.yaml: <root>: expected a mapping at the top, got list"],
    ),
    (
        "top_level_is_a_scalar",
        {"main.yaml": "darts\n"},
        [],
        ["main.yaml: <root>: expected a mapping at the top, got str"],
    ),
    (
        "override_of_an_unknown_key",
        {"main.yaml": "{}\n"},
        ["nas.search.trainer.epoch=3"],
        ["command line: nas.search.trainer.epoch: unknown key 'epoch' (did you mean: epochs?)"],
    ),
    (
        "override_with_a_bad_type",
        {"main.yaml": "nas: {search: {trainer: {epochs: 3}}}\n"},
        ["nas.search.trainer.epochs=x"],
        ["command line: nas.search.trainer.epochs:", "integer"],
    ),
    (
        "override_with_a_bad_list",
        {"main.yaml": "{}\n"},
        ["nas.search.trainer.optimizer.betas=[a, b]"],
        ["command line: nas.search.trainer.optimizer.betas[0]:", "number"],
    ),
    (
        "override_without_equals",
        {"main.yaml": "{}\n"},
        ["nas.search.trainer.epochs"],
        ["command line: override 'nas.search.trainer.epochs': expected key.path=value"],
    ),
    (
        "override_below_a_leaf",
        {"main.yaml": "{}\n"},
        ["nas.search.model_desc.primitives.0=none"],
        ["command line: nas.search.model_desc.primitives: is not a mapping"],
    ),
    (
        "override_with_an_empty_key",
        {"main.yaml": "{}\n"},
        ["nas..epochs=3"],
        ["command line: override 'nas..epochs=3': expected key.path=value"],
    ),
    (
        "override_with_malformed_yaml",
        {"main.yaml": "{}\n"},
        ["nas.search.model_desc.primitives=[a, b"],
        ["command line: nas.search.model_desc.primitives", "malformed YAML"],
    ),
]


def _write_all(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root / "main.yaml"


def _assert_one_line(err: pytest.ExceptionInfo, parts: list[str]) -> None:
    message = str(err.value)
    assert "\n" not in message and message.strip() == message
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"


@pytest.mark.parametrize(("files", "overrides", "parts"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_conf_is_one_line_naming_file_and_key(tmp_path, files, overrides, parts):
    main = _write_all(tmp_path, files)
    with pytest.raises(ConfError) as err:
        load_conf([main], overrides)
    _assert_one_line(err, parts)


def test_a_python_tag_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    main = _write_all(
        tmp_path, {"main.yaml": f"common:\n  experiment_name: !!python/object/apply:os.system ['touch {marker}']\n"}
    )
    with pytest.raises(ConfError) as err:
        load_conf(main)
    _assert_one_line(err, ["main.yaml (line 2)", "refused unsafe or unknown YAML tag", "python/object/apply:os.system"])
    assert not marker.exists()


def test_a_python_tag_in_an_override_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    main = _write_all(tmp_path, {"main.yaml": "{}\n"})
    with pytest.raises(ConfError) as err:
        load_conf(main, [f"common.experiment_name=!!python/object/apply:os.system ['touch {marker}']"])
    _assert_one_line(err, ["command line: common.experiment_name", "refused unsafe"])
    assert not marker.exists()


def test_the_file_that_set_the_key_is_named_among_several(tmp_path):
    first = _write_all(tmp_path, {"main.yaml": "common: {seed: 1}\n"})
    second = tmp_path / "second.yaml"
    second.write_text("nas: {eval: {loader: {train_bach: 3}}}\n")
    with pytest.raises(ConfError) as err:
        load_conf([first, second])
    _assert_one_line(err, [f"{second.resolve()}: nas.eval.loader.train_bach: unknown key (did you mean: train_batch"])


def test_a_missing_conf_file(tmp_path):
    with pytest.raises(ConfError) as err:
        load_conf([tmp_path / "absent.yaml"])
    _assert_one_line(err, ["absent.yaml: no such conf file"])


def test_an_unknown_bundled_name_lists_close_names():
    with pytest.raises(ConfError) as err:
        resolve_conf_path("dart")
    _assert_one_line(err, ["dart: not a conf file nor a bundled conf name (did you mean: darts"])
    with pytest.raises(ConfError) as err:
        load_conf("darts_tyo")
    _assert_one_line(err, ["darts_tyo:", "did you mean: darts_toy"])


def test_a_far_name_lists_every_bundled_conf():
    with pytest.raises(ConfError) as err:
        resolve_conf_path("zzzzzz")
    _assert_one_line(err, ["zzzzzz:", "bundled: ", "darts"])


def test_conf_error_belongs_to_the_family():
    assert issubclass(ConfError, DescgraphError)
