"""`descgraph run bignas_*` end to end: the experiment folder, the summary, the saved children, resume, errors."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from descgraph.cli import main
from descgraph.desc import load_desc
from descgraph.hw.cost import get_cost_model
from descgraph.nn import Model


@pytest.fixture(autouse=True)
def _keep_threads():
    threads = torch.get_num_threads()  # the bignas confs set common.threads for the process
    yield
    torch.set_num_threads(threads)


def _check_device_results(summary: dict, expdir) -> None:
    """Each device's child meets its budgets (re-measured from the saved description), loads safely, and was
    tested as a static model by the eval stage."""
    for name, entry in summary["search"]["devices"].items():
        if "error" in entry:
            assert name not in summary["eval"]["devices"]
            continue
        assert 0 <= summary["eval"]["devices"][name]["test_top1"] <= 100
        desc = load_desc(expdir / "final" / name / "model_desc.yaml")
        for model, budget in entry["budget"].items():
            assert get_cost_model(model).cost(desc) <= budget
        state = torch.load(expdir / "final" / name / "model.pt", weights_only=True)
        Model(desc).load_state_dict(state)
        assert entry["extraction_max_abs_diff"] <= 1e-5


def test_toy_run_writes_the_experiment_folder(tmp_path, capsys):
    devices = "[{name: mcu_tiny, constraints: {params: 0.001}}, {name: phone, constraints: {flops: 1.0}}, {name: edge}]"
    argv = ["run", "bignas_toy", f"nas.search.multi_objective.devices={devices}"]
    assert main([*argv, "--expdir", str(tmp_path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary == json.loads((tmp_path / "summary.json").read_text())
    for name in ["conf.yaml", "log.txt", "summary.json"] + [
        f"search/{f}"
        for f in (
            "full_model_desc.yaml",
            "metrics.jsonl",
            "checkpoint.pt",
            "trials.jsonl",
            "evolution.jsonl",
            "pareto.yaml",
            "pareto.png",
        )
    ]:
        assert (tmp_path / name).exists(), name
    assert set(summary) == {"algo", "seed", "search", "eval", "wall_s"}
    assert set(summary["search"]["devices"]) == {"mcu_tiny", "phone", "edge"}
    # a budget below the smallest child is reported for that device; the others still get their children
    tiny = summary["search"]["devices"]["mcu_tiny"]
    assert tiny["error"].startswith("device 'mcu_tiny': no child meets params <= 0.001 M: the smallest child costs")
    assert not (tmp_path / "final" / "mcu_tiny").exists()
    assert {p.name for p in (tmp_path / "final").iterdir()} == {"phone", "edge"}
    _check_device_results(summary, tmp_path)
    search = summary["search"]
    for child in ("largest", "smallest"):
        assert 0 <= search[child]["test_top1"] <= 100 and set(search[child]["costs"]) == {"flops", "params"}
    front = yaml.safe_load((tmp_path / "search" / "pareto.yaml").read_text())
    assert front["cost"] == "flops" and len(front["front"]) == search["evolution"]["pareto_size"] >= 1
    assert (tmp_path / "search" / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = (tmp_path / "search" / "evolution.jsonl").read_text().splitlines()
    assert [json.loads(x)["generation"] for x in lines] == [0, 1]
    trials = [json.loads(x) for x in (tmp_path / "search" / "trials.jsonl").read_text().splitlines()]
    assert len(trials) == 2 * 6 and sum(t["new"] for t in trials) == search["evolution"]["evaluated"]
    # --no-search tests the saved children again, --no-eval searches without testing them
    capsys.readouterr()
    assert main([*argv, "--expdir", str(tmp_path), "--no-search", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert set(again) == {"algo", "seed", "eval", "wall_s"} and again["eval"] == summary["eval"]
    assert main([*argv, "--expdir", str(tmp_path / "search_only"), "--no-eval", "--json"]) == 0
    searched = json.loads(capsys.readouterr().out)
    assert "eval" not in searched and _comparable(searched)["search"] == _comparable(summary)["search"]
    assert {p.name for p in (tmp_path / "search_only" / "final").iterdir()} == {"phone", "edge"}


def test_no_search_without_saved_children_is_one_line(tmp_path, capsys):
    assert main(["run", "bignas_toy", "--no-search", "--expdir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("no saved children of this conf's devices; run the search first"), err


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("nas.search.multi_objective.devices=[{name: a, constraints: {flop: 1.0}}]", "unknown cost model 'flop'"),
        ("nas.search.model_desc.elastic.elastic_resolutions=[8,10]", "10 is not a multiple of the total stride 4"),
        ("nas.search.loader.val_ratio=0", "nas.search.loader.val_ratio: BigNAS scores children on search-val"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, override, expected):
    assert main(["run", "bignas_toy", override, "--expdir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err, err


def _comparable(summary: dict) -> dict:
    """The summary without its wall time and the children's folders (which name the experiment folder)."""
    summary = json.loads(json.dumps({k: v for k, v in summary.items() if k != "wall_s"}))
    for entry in summary["search"]["devices"].values():
        entry.pop("dir", None)
    return summary


@pytest.mark.slow
def test_digits_run_reduced_reaches_the_accuracy_goals(tmp_path):
    """bignas_digits with 12 epochs and a smaller search: the children are good without retraining."""
    argv = ["run", "bignas_digits", "nas.search.trainer.epochs=12", "nas.search.multi_objective.generations=3"]
    assert main([*argv, "--expdir", str(tmp_path), "--json"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    search = summary["search"]
    assert search["largest"]["test_top1"] >= 90 and search["smallest"]["test_top1"] >= 80, summary
    assert all("error" not in e for e in search["devices"].values())
    _check_device_results(summary, tmp_path)


@pytest.mark.slow
def test_run_killed_mid_training_resumes_to_the_same_summary(killed_and_resumed):
    argv = ["run", "bignas_toy", "nas.search.trainer.epochs=4", "dataset.max_batches=4", "common.resume=true"]
    alone, killed = killed_and_resumed(argv, metrics="search/metrics.jsonl", unfinished="summary.json")
    a = json.loads((alone / "summary.json").read_text())
    b = json.loads((killed / "summary.json").read_text())
    assert _comparable(a) == _comparable(b)


@pytest.mark.slow
def test_run_killed_during_the_evolution_resumes_by_replay(killed_and_resumed):
    """SIGKILLed once two children are judged, the search replays its trial log and goes on: the same trials,
    generations, Pareto front, picks and saved children as a run never killed."""
    argv = ["run", "bignas_toy", "common.resume=true", "nas.search.multi_objective.generations=8"]
    alone, killed = killed_and_resumed(argv, metrics="search/trials.jsonl", unfinished="summary.json")
    for name in ("trials.jsonl", "evolution.jsonl", "pareto.yaml"):
        assert (alone / "search" / name).read_text() == (killed / "search" / name).read_text(), name
    a = json.loads((alone / "summary.json").read_text())
    b = json.loads((killed / "summary.json").read_text())
    assert _comparable(a) == _comparable(b)
    picks = {name for name, entry in a["search"]["devices"].items() if "dir" in entry}
    assert picks == {p.name for p in (killed / "final").iterdir()} and picks
    for name in picks:
        desc = (alone / "final" / name / "model_desc.yaml").read_text()
        assert desc == (killed / "final" / name / "model_desc.yaml").read_text()
        weights = torch.load(alone / "final" / name / "model.pt", weights_only=True)
        again = torch.load(killed / "final" / name / "model.pt", weights_only=True)
        assert weights.keys() == again.keys() and all(torch.equal(weights[k], again[k]) for k in weights)


@pytest.mark.slow
def test_a_device_budget_in_lookup_table_latency(tmp_path, capsys):
    from descgraph.conf import load_conf, resolve_conf_path
    from descgraph.desc.elastic import apply_config, elastic_space, largest_config, smallest_config
    from descgraph.hw.lut import load_table, predict_latency
    from descgraph.hw.lut_space import get_lut_space

    lut = tmp_path / "lut.yaml"
    assert main(["lut", "build", "bignas_toy", "-o", str(lut), "--runs", "20", "--json"]) == 0
    capsys.readouterr()
    table, supernet = load_table(lut), get_lut_space(load_conf([resolve_conf_path("bignas_toy")])).supernet()
    space = elastic_space(supernet)
    low, high = (
        predict_latency(table, apply_config(supernet, c)) for c in (smallest_config(space), largest_config(space))
    )
    budget = round(low + 0.3 * (high - low), 5)  # between the smallest and the largest child
    devices = f"[{{name: cpu, constraints: {{lut_latency: {budget}}}}}]"
    argv = ["run", "bignas_toy", f"hw.lut={lut}", f"nas.search.multi_objective.devices={devices}"]
    assert main([*argv, "--expdir", str(tmp_path / "exp"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    cpu = summary["search"]["devices"]["cpu"]
    assert cpu["budget"] == {"lut_latency": budget} and cpu["cost"]["lut_latency"] <= budget
    child = load_desc(tmp_path / "exp" / "final" / "cpu" / "model_desc.yaml")
    assert predict_latency(table, child) == pytest.approx(cpu["cost"]["lut_latency"], rel=1e-6)
