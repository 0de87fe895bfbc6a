"""`rea` and `reinforce` as experiments: candidates trained on digits, trials logged, a killed search resumed."""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from algos.discrete import CANDIDATES, DiscreteSearcher
from descgraph.cli import main
from descgraph.conf import conf_hash, load_conf
from descgraph.desc import load_desc
from descgraph.desc.genotype import model_to_genotype, parse_genotype
from descgraph.hw import get_cost_model
from descgraph.nas import Evaluater, get_runner_class
from descgraph.nas.discrete import get_space, get_strategy

REPO = Path(__file__).resolve().parents[2]

# the DARTS-genotype space on digits at a tiny macro: candidates train in about a second
DARTS_SPACE = [
    "nas.search.discrete.space=darts",
    "nas.search.model_desc.builder=default",
    "nas.search.model_desc.n_cells=2",
    "nas.search.model_desc.n_reductions=1",
    "nas.search.model_desc.model_stems.init_node_ch=4",
    "nas.eval.model_desc.builder=default",
    "nas.eval.model_desc.n_cells=2",
    "nas.eval.model_desc.n_reductions=1",
    "nas.search.trainer.epochs=1",
    "nas.eval.trainer.epochs=1",
]


def run(expdir: Path, algo: str, *overrides: str, search: bool = True, eval: bool = True) -> dict:
    conf = load_conf(algo, [*DARTS_SPACE, *overrides])
    return get_runner_class(conf.algo)(conf, expdir).run(search=search, eval=eval)


def trials(expdir: Path) -> list[dict]:
    lines = (expdir / "search" / "trials.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "time_s"} for line in lines]


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["rea", "reinforce"])
def test_a_killed_search_resumes_by_replay_and_trains_only_what_is_missing(algo, tmp_path, monkeypatch):
    one_by_one = ("nas.search.discrete.budget=4", "nas.search.window=1")  # a window in flight is run again
    full = run(tmp_path / "full", algo, *one_by_one, eval=False)
    assert full["search"]["candidates"] == 4
    calls, kill_at = [], [2]
    train = DiscreteSearcher.train_candidate

    def train_or_die(self, *a):
        if len(calls) == kill_at[0]:
            raise KeyboardInterrupt  # killed while training the third candidate
        calls.append(1)
        return train(self, *a)

    monkeypatch.setattr(DiscreteSearcher, "train_candidate", train_or_die)
    killed = tmp_path / "killed"
    with pytest.raises(KeyboardInterrupt):
        run(killed, algo, *one_by_one)
    kill_at[0] = None
    with (killed / "search" / "trials.jsonl").open("a") as f:
        f.write('{"trial": 2, "code": [0, 1')  # killed while writing the third trial
    resumed = run(killed, algo, *one_by_one)
    assert len(calls) == 4  # two before the kill, two after it
    assert trials(killed) == trials(tmp_path / "full")
    assert resumed["search"] == full["search"]
    # the best trial is the final description, and the eval stage trained its cells
    best = max(trials(killed), key=lambda t: t["result"])
    final = load_desc(killed / "search" / "final_model_desc.yaml")
    assert model_to_genotype(final) == parse_genotype(best["arch"]) == parse_genotype(resumed["search"]["arch"])
    assert model_to_genotype(load_desc(killed / "eval" / "full_model_desc.yaml")) == model_to_genotype(final)
    assert resumed["eval"]["epochs"] == 1


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["rea", "reinforce"])
def test_the_bundled_confs_search_nb201_cells_on_digits(algo, tmp_path):
    nb201 = pytest.importorskip("descgraph.builders.nb201")
    overrides = ["nas.search.discrete.budget=3", "nas.search.trainer.epochs=1", "nas.eval.trainer.epochs=1"]
    conf = load_conf(algo, overrides)
    summary = get_runner_class(algo)(conf, tmp_path).run()
    records = trials(tmp_path)
    assert sum(r["new"] for r in records) == 3 and conf.dataset.name == "digits"
    best = max(records, key=lambda r: r["result"])
    assert summary["search"]["arch"] == best["arch"] and summary["search"]["val_top1"] == best["result"]
    final = load_desc(tmp_path / "search" / "final_model_desc.yaml")
    evaluated = load_desc(tmp_path / "eval" / "full_model_desc.yaml")
    assert nb201.desc_to_nb201(final) == nb201.desc_to_nb201(evaluated) == nb201.parse_nb201(best["arch"])
    assert len(evaluated.cell_descs) == 3 * conf.nas.eval.model_desc.n_cells + 2  # N cells per stage, 2 reductions


def _cli_error(tmp_path: Path, capsys, *overrides: str) -> str:
    argv = ["run", "rea", *DARTS_SPACE, *overrides, "--expdir", str(tmp_path), "--no-eval"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_strategy_parameter_typos_name_the_key(tmp_path, capsys):
    err = _cli_error(tmp_path, capsys, "nas.search.discrete.strategy_params.reinforce.lrr=0.1")
    assert "nas.search.discrete.strategy_params.reinforce: strategy 'reinforce': unknown parameter 'lrr'" in err


def test_candidates_need_search_val(tmp_path, capsys):
    err = _cli_error(tmp_path, capsys, "nas.search.loader.val_ratio=0")
    assert "command line: nas.search.loader.val_ratio: candidates are scored on search-val: give a value > 0" in err


def test_a_log_from_another_seed_is_not_replayed(tmp_path, capsys):
    log = tmp_path / "search" / "trials.jsonl"
    log.parent.mkdir(parents=True)
    log.write_text(json.dumps({"code": [0] * 32, "result": 50.0}) + "\n")
    # the folder is this experiment's (its conf hash), its log another search's
    (tmp_path / "conf_hash.txt").write_text(conf_hash(load_conf("rea", list(DARTS_SPACE))) + "\n")
    err = _cli_error(tmp_path, capsys)
    assert f"{log}:1: the search proposed [0, 0" in err and "common.resume=false" in err


# --- a cost bound in the conf's hw section ---------------------------------------------------------------
@pytest.fixture(scope="module")
def darts_lut(tmp_path_factory) -> Path:
    """A lookup table of the tiny DARTS space's eval macro (its times matter not: the test prices with it)."""
    path = tmp_path_factory.mktemp("lut") / "lut.yaml"
    build = ["lut", "build", "rea", *DARTS_SPACE, "nas.search.model_desc.builder=darts", "-o", str(path)]
    assert main([*build, "--runs", "3"]) == 0
    return path


@pytest.mark.slow
def test_a_lut_latency_bound_trains_only_candidates_that_meet_it(darts_lut, tmp_path, monkeypatch, capsys):
    conf = load_conf("rea", [*DARTS_SPACE, f"hw.lut={darts_lut}"])
    lut, evaluater = get_cost_model("lut_latency", lut=darts_lut), Evaluater(conf, tmp_path)
    space, candidates = get_space("darts"), CANDIDATES.get("darts")

    def latency(arch) -> float:  # of the network that ships: the candidate's cells at the eval macro
        return lut.cost(evaluater.build_desc(candidates.build(arch, conf.nas.search.model_desc)))

    rng = random.Random(0)
    bound = statistics.median(latency(space.decode(space.sample(rng))) for _ in range(21))  # half the space
    free = get_strategy("rea", population_size=4, sample_size=2)
    free.setup(space, conf.common.seed)
    assert any(latency(space.decode(free.propose())) > bound for _ in range(6))  # unbounded, the search breaks it
    trained = []
    train = DiscreteSearcher.train_candidate
    monkeypatch.setattr(
        DiscreteSearcher, "train_candidate", lambda self, desc, *a: trained.append(desc) or train(self, desc, *a)
    )
    summary = run(
        tmp_path, "rea", f"hw.lut={darts_lut}", f"hw.constraints.lut_latency={bound}", "nas.search.discrete.budget=6"
    )
    assert len(trained) == 6 and all(lut.cost(evaluater.build_desc(desc)) <= bound for desc in trained)
    assert all(t["lut_latency"] <= bound for t in trials(tmp_path))
    assert lut.cost(load_desc(tmp_path / "eval" / "full_model_desc.yaml")) <= bound
    assert summary["search"]["lut_latency"] <= bound and summary["search"]["cost_calls"] >= 6


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["hw.constraints.lut_latency=5"], "hw.constraints.lut_latency: hw.lut: the lut_latency cost model needs"),
        (["hw.constraints.latncy=5"], "hw.constraints.latncy: unknown cost model 'latncy' (did you mean: latency"),
        (["hw.constraints.params=0"], "hw.constraints.params: 0.0; a bound must be > 0"),
    ],
)
def test_bad_bounds_name_the_key(tmp_path, capsys, overrides, expected):
    assert expected in _cli_error(tmp_path, capsys, *overrides)


FIRST_OPTIMIZER = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import torch

    from algos.discrete.searcher import CandidateTrainer, DiscreteSearcher
    from descgraph.conf import load_conf
    from descgraph.train import Trainer, make_optimizer

    conf = load_conf("rea_toy", [])
    if sys.argv[1] == "worker":
        CandidateTrainer(DiscreteSearcher(conf, Path("unused")), Trainer)()  # what a Ray actor builds
    before = set(sys.modules)
    make_optimizer([torch.zeros(1, requires_grad=True)], conf.nas.search.trainer.optimizer)
    print(len(set(sys.modules) - before))
    """
)


def test_a_trial_worker_pays_torchs_lazy_imports_before_its_first_trial():
    """The first optimizer a process builds imports torch's compiler stack (seconds on a small CPU). A worker's
    evaluator pays that when it is built, so the first trial's `time_s` is the trial's own and parallel
    workers do not each pay it inside their first trial: after it, building a trial's optimizer imports
    nothing, where a bare process imports modules."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}

    def imported(mode: str) -> int:
        run = subprocess.run([sys.executable, "-c", FIRST_OPTIMIZER, mode], cwd=REPO, env=env, capture_output=True)
        assert run.returncode == 0, run.stderr.decode()[-2000:]
        return int(run.stdout.decode().split()[-1])

    assert imported("bare") > 0
    assert imported("worker") == 0
