"""Algorithms own their conf sections: `algo` picks the schema, another algorithm's key is an error naming
its owner, rules live in the schemas, the dataset is stated once, and the hash sees every section."""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from algos.bignas import BigNASConf
from algos.darts import DartsConf
from algos.discrete import DiscreteConf
from descgraph.conf import Conf, TrainerConf, bundled_names, conf_hash, dump_conf, load_conf
from descgraph.errors import ConfError

SCHEMA = Path(__file__).resolve().parents[2] / "descgraph" / "conf" / "schema.py"
ALGORITHM_KEYS = ("order", "alpha_optimizer", "sandwich", "multi_objective", "discrete", "strategy_params")
EXPECTED_CLASS = {"darts": DartsConf, "random": Conf, "bignas": BigNASConf, "rea": DiscreteConf}


def _field_names(cls: type[BaseModel]) -> set[str]:
    """Every field name of a schema and of the schemas below it."""
    names = set()
    for name, field in cls.model_fields.items():
        names.add(name)
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            names |= _field_names(field.annotation)
    return names


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_the_core_schema_holds_no_algorithm_field():
    assert not set(ALGORITHM_KEYS) & _field_names(Conf)
    fields = re.findall(r"^    (\w+): .*= Field\(", SCHEMA.read_text(), re.MULTILINE)
    assert "n_cells" in fields and not set(ALGORITHM_KEYS) & set(fields)
    assert not re.search(r"bignas|sandwich|strateg|multi_objective|alpha", SCHEMA.read_text(), re.IGNORECASE)
    assert "aux_weight" not in TrainerConf.model_fields  # the model_desc's aux_weight is the one source


@pytest.mark.parametrize("name", bundled_names())
def test_every_bundled_conf_gets_its_algorithms_schema(name, tmp_path):
    conf = load_conf(name)
    assert type(conf) is EXPECTED_CLASS["rea" if conf.algo == "reinforce" else conf.algo]
    dumped = _write(tmp_path, dump_conf(conf))
    assert load_conf([dumped]) == conf  # the effective conf, algorithm sections included, loads back


@pytest.mark.parametrize(
    ("conf", "key", "unknown", "owner"),
    [
        ("bignas_toy", "nas.search.trainer.order=second", "nas.search.trainer.order", "darts"),
        ("bignas_toy", "nas.search.trainer.alpha_optimizer.lr=0.1", "nas.search.trainer.alpha_optimizer", "darts"),
        ("darts_toy", "nas.search.multi_objective.generations=3", "nas.search.multi_objective", "bignas"),
        ("darts_toy", "nas.search.trainer.sandwich.n_random=1", "nas.search.trainer.sandwich", "bignas"),
        ("random", "nas.search.trainer.order=first", "nas.search.trainer.order", "darts"),
        ("darts_toy", "nas.search.discrete.budget=3", "nas.search.discrete", "bananas, local, rea, reinforce, tpe"),
    ],
)
def test_an_override_of_another_algorithms_key_names_its_owner(conf, key, unknown, owner):
    algo = load_conf(conf).algo
    with pytest.raises(ConfError) as err:
        load_conf(conf, [key])
    name = unknown.rpartition(".")[2]
    assert (
        str(err.value) == f"command line: {unknown}: unknown key {name!r} for algo {algo!r}: it belongs to algo {owner}"
    )


def test_a_file_with_another_algorithms_key_names_the_file_the_key_and_its_owner(tmp_path):
    path = _write(tmp_path, "__include__: bignas_toy.yaml\nnas:\n  search:\n    trainer: {order: second}\n")
    (tmp_path / "bignas_toy.yaml").write_text("algo: bignas\n")
    with pytest.raises(ConfError) as err:
        load_conf([path])
    assert (
        str(err.value) == f"{path}: nas.search.trainer.order: unknown key for algo 'bignas': it belongs to algo darts"
    )


def test_typos_and_wrong_types_in_an_algorithms_section_name_the_key(tmp_path):
    with pytest.raises(
        ConfError, match=r"nas.search.multi_objective.generatons: unknown key 'generatons' .*generations"
    ):
        load_conf("bignas_toy", ["nas.search.multi_objective.generatons=3"])
    path = _write(tmp_path, "algo: darts\nnas:\n  search:\n    trainer: {ordr: second}\n")
    with pytest.raises(ConfError, match=rf"^{path}: nas.search.trainer.ordr: unknown key \(did you mean: order\?\)$"):
        load_conf([path])
    path = _write(tmp_path, "algo: darts\nnas:\n  search:\n    trainer: {order: third}\n")
    with pytest.raises(ConfError, match=rf"^{path}: nas.search.trainer.order: Input should be 'first' or 'second'"):
        load_conf([path])


def test_an_unknown_algorithm_is_a_conf_error_with_a_did_you_mean(tmp_path):
    path = _write(tmp_path, "algo: dartz\n")
    with pytest.raises(ConfError, match=rf"^{path}: algo: unknown algorithm 'dartz' \(did you mean: darts\?\)$"):
        load_conf([path])


@pytest.mark.parametrize(
    ("conf", "override", "message"),
    [
        ("darts_toy", "nas.search.loader.val_ratio=0", "nas.search.loader.val_ratio: DARTS search needs a value in"),
        ("bignas_toy", "nas.search.loader.val_ratio=0", "nas.search.loader.val_ratio: BigNAS scores children on"),
        ("rea", "nas.search.trainer.epochs=0", "command line: nas.search.trainer.epochs: candidates are trained: give"),
        ("rea", "nas.search.discrete.space=nb202", "nas.search.discrete.space: unknown candidate space 'nb202'"),
    ],
)
def test_algorithm_rules_are_checked_when_the_conf_loads(conf, override, message):
    with pytest.raises(ConfError, match=re.escape(message)):
        load_conf(conf, [override])


def test_a_darts_search_without_epochs_needs_no_search_val():
    assert load_conf("darts_toy", ["nas.search.trainer.epochs=0", "nas.search.loader.val_ratio=0"]).algo == "darts"


def test_partial_alpha_optimizer_keeps_the_darts_defaults():
    alpha = load_conf("darts_digits").nas.search.trainer.alpha_optimizer
    assert (alpha.type, alpha.lr, alpha.betas, alpha.decay) == ("adam", 3e-3, [0.5, 0.999], 1e-3)


def test_building_a_conf_in_python_gives_the_algorithms_class():
    conf = Conf(algo="bignas", nas={"search": {"loader": {"val_ratio": 0.2}}})
    assert type(conf) is BigNASConf and conf.nas.search.multi_objective.generations == 50
    assert type(Conf(algo="darts")) is DartsConf and Conf(algo="darts").nas.search.trainer.order == "first"
    assert type(conf.model_copy(deep=True)) is BigNASConf
    assert pickle.loads(pickle.dumps(conf)) == conf  # the classes live in modules: loader workers can take them


def test_the_dataset_is_stated_once_and_a_stage_may_still_differ():
    conf = load_conf("darts_toy", ["dataset.name=digits", "nas.eval.loader.dataset.max_batches=5"])
    stages = (conf.nas.search, conf.nas.eval)
    assert all(part.dataset.name == "digits" for s in stages for part in (s.model_desc, s.loader))
    assert conf.nas.eval.loader.dataset.max_batches == 5
    assert conf.nas.search.loader.dataset.max_batches == conf.dataset.max_batches == 2


@pytest.mark.parametrize(
    ("conf", "override"),
    [
        ("darts_toy", "nas.search.trainer.order=second"),
        ("darts_toy", "nas.search.trainer.alpha_optimizer.lr=0.01"),
        ("bignas_toy", "nas.search.multi_objective.generations=3"),
        ("bignas_toy", "nas.search.trainer.sandwich.n_random=1"),
        ("rea", "nas.search.discrete.budget=5"),
        ("darts_toy", "nas.eval.model_desc.aux_weight=0.4"),
    ],
)
def test_the_hash_changes_with_every_algorithm_section(conf, override):
    assert conf_hash(load_conf(conf, [override])) != conf_hash(load_conf(conf))


def test_reading_any_bundled_conf_imports_no_torch():
    # algorithms' conf modules are read without the algorithms (rea and reinforce check their strategies)
    script = (
        "import sys\nfrom descgraph.conf import bundled_names, load_conf, load_conf_data\n"
        "names = [n for n in bundled_names() if load_conf_data(n).get('algo') not in ('rea', 'reinforce')]\n"
        "print([load_conf(n).algo for n in names].count('darts'), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split() == ["4", "False"]  # darts, darts_digits, darts_digits_shards, darts_toy among them
