"""Zero-cost proxies in `descgraph run`: candidates scored by a proxy instead of trained
(`nas.search.discrete.evaluator.proxy`), a strategy warm-started from a pool ranked by a proxy
(`strategy_params.<name>.warm_start`), and their bad parameters as one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from algos.discrete import CANDIDATES
from descgraph.cli import main
from descgraph.conf import load_conf
from descgraph.nas.discrete import get_space
from descgraph.nas.proxies import proxy_batch, score

EVALUATOR = "nas.search.discrete.evaluator"
WARM = "nas.search.discrete.strategy_params.rea.warm_start"
BUDGET = ["nas.search.discrete.budget=5"]


def cli(expdir: Path, *overrides: str) -> dict:
    """`descgraph run rea_toy OVERRIDES --no-eval`; the summary's search section."""
    assert main(["run", "rea_toy", *overrides, "--expdir", str(expdir), "--no-eval"]) == 0
    return json.loads((expdir / "summary.json").read_text())["search"]


def trials(expdir: Path) -> list[dict]:
    return [json.loads(line) for line in (expdir / "search" / "trials.jsonl").read_text().splitlines()]


def by_hand(name: str, code: list[int], overrides: list[str]) -> float:
    """Proxy `name` of a candidate computed here: its network built from the conf's macro, weights from the seed,
    a data-dependent proxy on the batch `proxy_batch` draws from the conf's dataset by the seed."""
    conf = load_conf("rea_toy", overrides)
    desc = CANDIDATES.get("darts").build(get_space("darts").decode(tuple(code)), conf.nas.search.model_desc)
    seed = conf.common.seed
    batch = proxy_batch(desc.input_shape, dataset=conf.nas.search.loader.dataset.name, seed=seed)
    return score(name, desc, batch if name != "synflow" else None, seed=seed)


@pytest.mark.parametrize("proxy", ["synflow", "naswot"])
def test_a_proxy_evaluator_scores_each_candidate_untrained_and_picks_the_best(tmp_path, one_thread, proxy):
    overrides = [f"{EVALUATOR}.proxy={proxy}", *BUDGET]
    search = cli(tmp_path, *overrides)
    lines = trials(tmp_path)
    assert [line["new"] for line in lines] == [True] * 5
    for line in lines:
        assert line["result"] == pytest.approx(by_hand(proxy, line["code"], overrides), rel=1e-9)
        assert line["proxy"] == proxy and line["epochs"] == 0
        assert line["data"] == ("none" if proxy == "synflow" else "digits 8x8 batch 64")
    assert search["candidate_epochs"] == 0  # nothing was trained
    best = max(lines, key=lambda line: line["result"])
    assert search["arch"] == best["arch"] and search["val_top1"] == best["result"]
    assert not (tmp_path / "search" / "candidates").exists()


def test_a_warm_started_run_proposes_its_pool_best_first_by_the_proxy(tmp_path, one_thread):
    # the first 4 proposals are rea's initial population (rea_toy's population_size), the pool's best 4
    warm = cli(tmp_path / "warm", f"{WARM}={{proxy: synflow, pool: 12}}", *BUDGET, "dataset.max_batches=1")
    cold = cli(tmp_path / "cold", *BUDGET, "dataset.max_batches=1")
    warm_lines, cold_lines = trials(tmp_path / "warm"), trials(tmp_path / "cold")
    scores = [by_hand("synflow", line["code"], []) for line in warm_lines[:4]]
    assert scores == sorted(scores, reverse=True)  # best first
    cold_scores = sorted(by_hand("synflow", line["code"], []) for line in cold_lines[:4])
    assert min(scores) > cold_scores[1]  # the top 4 of 12 beat the median of 4 random draws
    assert warm["candidate_epochs"] == cold["candidate_epochs"] == 5  # the candidates are trained as always
    # a run killed after two trials ranks the same pool again and resumes to the same trials
    log = tmp_path / "warm" / "search" / "trials.jsonl"
    log.write_text("".join(line + "\n" for line in log.read_text().splitlines()[:2]))
    argv = ["run", "rea_toy", f"{WARM}={{proxy: synflow, pool: 12}}", *BUDGET, "dataset.max_batches=1"]
    assert main([*argv, "common.resume=true", "--expdir", str(tmp_path / "warm"), "--no-eval"]) == 0
    assert [line["code"] for line in trials(tmp_path / "warm")] == [line["code"] for line in warm_lines]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (f"{EVALUATOR}.proxy=synflo", f"{EVALUATOR}.proxy: unknown zero-cost proxy 'synflo' (did you mean: synflow?)"),
        (
            f"{WARM}={{proxy: snap, pool: 10}}",
            f"{WARM}.proxy: unknown zero-cost proxy 'snap' (did you mean: snip?)",
        ),
        (
            f"{WARM}={{proxy: synflow, pool: 20000}}",
            f"{WARM}.pool: 20000 is more than the 15,625 architectures of the nb201 space",
        ),
    ],
)
def test_bad_zero_cost_parameters_are_one_line_naming_the_key(tmp_path, capsys, override, message):
    overrides = [override, "nas.search.discrete.space=nb201"] if "20000" in override else [override]
    assert main(["run", "rea_toy", *overrides, "--expdir", str(tmp_path), "--no-eval"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"command line: {message}" in err, err
    assert not (tmp_path / "search").exists()


def test_a_proxy_evaluator_with_a_fidelity_schedule_is_one_line(tmp_path, capsys):
    argv = ["run", "rea_toy", f"{EVALUATOR}.proxy=snip", "nas.search.discrete.fidelity.schedule=hyperband"]
    assert main([*argv, "--expdir", str(tmp_path), "--no-eval"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.endswith(
        "nas.search.discrete.fidelity.schedule: hyperband schedules training epochs; candidates scored by the proxy "
        "'snip' are not trained"
    )
