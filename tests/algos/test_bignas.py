"""BigNAS: distillation loss, the children's space and sampling, extraction, the trainer and the search."""

from __future__ import annotations

import math
import random

import pytest
import torch

from algos.bignas import (
    BigNASSpace,
    BigNASTrainer,
    Candidate,
    Supernet,
    build_child,
    compute_distillation_loss,
    extract_child,
    multi_objective_search,
    pareto_front,
    recalibrate_bn,
    sandwich_sample,
    save_child,
)
from algos.bignas.supernet import resize
from descgraph.builders import get_builder
from descgraph.conf import load_conf
from descgraph.desc import load_desc
from descgraph.desc.elastic import BigNASConfig, elastic_space
from descgraph.errors import ConfError
from descgraph.nn import Model

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def conf():
    return load_conf("bignas_toy")


@pytest.fixture()
def supernet(conf):
    torch.manual_seed(0)
    md = conf.nas.search.model_desc
    return Supernet(Model(get_builder(md.builder).build(md), droppath=False))


@pytest.fixture()
def space(supernet):
    return BigNASSpace(elastic_space(supernet.desc))


def _softmax(row: list[float], t: float) -> list[float]:
    exps = [math.exp(v / t) for v in row]
    return [e / sum(exps) for e in exps]


def test_distillation_loss_is_hand_computed_kl_teacher_student_times_t2():
    teacher = [[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]]
    student = [[1.0, 1.0, 0.0], [0.5, -0.5, 2.0]]
    for t in (1.0, 2.0, 4.0):
        kls = []
        for a, b in zip(teacher, student):
            p, q = _softmax(a, t), _softmax(b, t)
            kls.append(sum(pi * math.log(pi / qi) for pi, qi in zip(p, q)))
        expected = sum(kls) / len(kls) * t * t
        got = compute_distillation_loss(torch.tensor(teacher).double(), torch.tensor(student).double(), t)
        assert got.item() == pytest.approx(expected, rel=1e-12)
    # KL is not symmetric: the teacher is the first argument
    assert compute_distillation_loss(torch.tensor(student), torch.tensor(teacher), 1.0).item() != pytest.approx(
        compute_distillation_loss(torch.tensor(teacher), torch.tensor(student), 1.0).item()
    )


def test_space_decodes_what_it_encodes(space):
    rng = random.Random(0)
    # 1 resolution + 4 stages x (depth, width) + (1 + 2 + 2 + 2) blocks x (kernel, expansion)
    assert len(space.decisions()) == 1 + 4 * 2 + 7 * 2
    for _ in range(50):
        config = space.sample_config(rng)
        assert space.decode(space.encode(config)) == config
    assert space.decode(space.encode(space.largest())) == space.largest()


def test_mutation_always_changes_the_child(space):
    rng = random.Random(2)
    code = space.encode(space.smallest())  # depth 1 everywhere: most block decisions are inactive
    for _ in range(30):
        new = space.mutate(code, rng)
        assert space.decode(new) != space.decode(code)
        code = new


def test_sandwich_sample_is_largest_smallest_and_n_random(space):
    configs = sandwich_sample(space, random.Random(1))
    assert len(configs) == 4 and configs[0] == space.largest() and configs[1] == space.smallest()
    assert len(sandwich_sample(space, random.Random(1), n=5)) == 7


def _calibration_batches(n: int = 2) -> list[torch.Tensor]:
    return [torch.randn(16, 1, 16, 16) for _ in range(n)]


def test_extraction_equals_the_supernet_child_for_20_random_configs(supernet, space):
    from descgraph.export import export_desc

    # perturb the weights and BN affine params so slicing mistakes cannot hide behind an init pattern
    with torch.no_grad():
        for p in supernet.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    rng, x = random.Random(0), torch.randn(8, 1, 16, 16)
    for _ in range(20):
        config = space.sample_config(rng)
        recalibrate_bn(supernet, config, _calibration_batches())
        desc, state = extract_child(supernet, config)
        static = build_child(desc, state)
        supernet.eval()
        xr = resize(x, config.resolution)
        with torch.no_grad():
            diff = (static(xr)[0] - supernet(xr)[0]).abs().max().item()
        assert diff <= 1e-5, (config.key(), diff)
        assert static.param_count() < supernet.model.param_count() or config == space.largest()
        exported = export_desc(desc, state)  # the extracted child deploys: onnxruntime matches PyTorch
        assert exported.report.max_abs_diff <= 1e-4


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_a_child_trained_inside_the_supernet_gets_the_static_childs_gradients(supernet, space, layout):
    # The supernet's gradients, sliced by the extraction code, equal the extracted child's own gradients,
    # and no gradient falls outside the child's windows (cropped kernels, sliced widths, skipped blocks).
    rng = random.Random(1)
    x, y = torch.randn(8, 1, 16, 16), torch.randint(0, 10, (8,))
    supernet.to(memory_format=layout).train()
    for config in [space.smallest(), space.largest(), *(space.sample_config(rng) for _ in range(4))]:
        static = build_child(*extract_child(supernet, config)).to(memory_format=layout).train()
        xr = resize(x, config.resolution).contiguous(memory_format=layout)
        supernet.zero_grad(set_to_none=True)
        supernet.activate(config)
        torch.nn.functional.cross_entropy(supernet(xr)[0], y).backward()
        torch.nn.functional.cross_entropy(static(xr)[0], y).backward()
        weights = {n: p.detach().clone() for n, p in supernet.named_parameters()}
        with torch.no_grad():
            for p in supernet.parameters():  # read the gradients through the extraction's slicing
                p.copy_(torch.zeros_like(p) if p.grad is None else p.grad)
            _, grads = extract_child(supernet, config)
            for n, p in supernet.named_parameters():
                p.copy_(weights[n])
        static_grads = dict(static.named_parameters())
        for key, param in static_grads.items():
            assert torch.allclose(grads[key], param.grad, atol=1e-6, rtol=1e-4), (config.key(), key)
        inside = sum(grads[k].abs().sum().item() for k in static_grads)
        everywhere = sum(p.grad.abs().sum().item() for p in supernet.parameters() if p.grad is not None)
        assert everywhere == pytest.approx(inside, rel=1e-6), config.key()


def test_saved_child_loads_with_weights_only(tmp_path, supernet, space):
    config = space.sample_config(random.Random(3))
    recalibrate_bn(supernet, config, _calibration_batches())
    desc, state = extract_child(supernet, config)
    save_child(tmp_path, desc, state)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt", "model_desc.yaml"]
    model = Model(load_desc(tmp_path / "model_desc.yaml"), droppath=False)
    model.load_state_dict(torch.load(tmp_path / "model.pt", weights_only=True))
    x = torch.randn(4, 1, config.resolution, config.resolution)
    with torch.no_grad():
        assert torch.allclose(model.eval()(x)[0], build_child(desc, state)(x)[0])


def test_recalibration_gives_the_childs_exact_batch_statistics(supernet, space):
    config = space.smallest()
    batches = _calibration_batches(3)
    recalibrate_bn(supernet, config, batches)
    stem = supernet.model.model_stems[0]
    with torch.no_grad():  # equal batches: the exact average is the mean of the batch means
        feats = [stem.conv(resize(b, config.resolution)) for b in batches]
    means = torch.stack([f.mean(dim=(0, 2, 3)) for f in feats]).mean(0)
    assert torch.allclose(stem.bn.running_mean, means, atol=1e-6)


def _trainer(conf, supernet, space, **sandwich):
    trainer_conf = conf.nas.search.trainer.model_copy(deep=True)
    for k, v in sandwich.items():
        setattr(trainer_conf.sandwich, k, v)
    return BigNASTrainer(trainer_conf, supernet, space=space, progress=False)


@pytest.mark.parametrize("use_sandwich", [True, False])
def test_train_step_trains_sampled_children(conf, supernet, space, use_sandwich, monkeypatch):
    trainer = _trainer(conf, supernet, space, use_sandwich_sampling=use_sandwich)
    seen = []
    monkeypatch.setattr(trainer, "child_loss", _recording(trainer.child_loss, seen))
    before = [p.detach().clone() for p in supernet.parameters()]
    x, y = torch.randn(8, 1, 16, 16), torch.randint(0, 10, (8,))
    out = trainer.train_step(x, y)
    assert out["logits"].shape == (8, 10) and torch.isfinite(out["loss"])
    assert len(seen) == 4  # 2 + n_random children, each a forward and a backward
    assert [teacher is not None for teacher in seen] == ([False, True, True, True] if use_sandwich else [False] * 4)
    assert any(not torch.equal(a, b) for a, b in zip(before, supernet.parameters()))


def _recording(child_loss, seen):
    def wrapped(logits, y, teacher):
        seen.append(teacher)
        return child_loss(logits, y, teacher)

    return wrapped


def _candidate(acc: float, flops: float, params: float = 1.0, key: int = 0) -> Candidate:
    """A made-up child whose resolution field names it."""
    config = BigNASConfig(resolution=key, depths=[], widths=[], kernel_sizes=[], expansion_ratios=[])
    return Candidate(config, acc, {"flops": flops, "params": params})


def test_pareto_front_keeps_the_undominated_cheapest_first():
    cands = [_candidate(90, 5, key=1), _candidate(80, 2, key=2), _candidate(85, 6, key=3), _candidate(95, 9, key=4)]
    front = pareto_front(cands, "flops")
    assert [c.config.resolution for c in front] == [2, 1, 4]


def _cost_judge(supernet):
    """Accuracy grows with the child's width and depth; costs are its weight count (a stand-in for inference)."""

    def evaluate(config):
        params = Model(supernet.child_desc(config), droppath=False).param_count() / 1e6
        return Candidate(config, 50 + 400 * params, {"params": params})

    return evaluate


def test_search_meets_feasible_budgets_and_reports_infeasible_ones(supernet, space):
    smallest = Model(supernet.child_desc(space.smallest()), droppath=False).param_count() / 1e6
    largest = Model(supernet.child_desc(space.largest()), droppath=False).param_count() / 1e6
    budget = (smallest + largest) / 2
    devices = [("tiny", {"params": smallest / 2}), ("mid", {"params": budget})]
    outcome = multi_objective_search(
        space, _cost_judge(supernet), devices, 8, 3, pareto_cost="params", units={"params": "M"}
    )
    tiny, mid = outcome.devices
    assert tiny.pick is None
    assert tiny.error == (
        f"device 'tiny': no child meets params <= {smallest / 2:g} M: the smallest child costs {smallest:.4g} M"
    )
    assert mid.error is None and mid.pick.costs["params"] <= budget
    assert outcome.generations == 3 and outcome.stopped == "finished" and outcome.pareto


def test_search_stops_at_ctrl_c_and_at_the_time_limit_with_the_best_so_far(supernet, space):
    judge, calls = _cost_judge(supernet), []

    def interrupted(config):
        calls.append(config)
        if len(calls) > 5:
            raise KeyboardInterrupt
        return judge(config)

    devices = [("any", {"params": 1e9})]
    outcome = multi_objective_search(space, interrupted, devices, 8, 50, pareto_cost="params")
    assert outcome.stopped == "interrupted" and outcome.devices[0].pick is not None
    assert len(outcome.evaluated) == 5
    timed = multi_objective_search(space, judge, devices, 8, 10_000, pareto_cost="params", time_limit_s=0.5)
    assert timed.stopped == "time limit" and timed.generations < 10_000 and timed.devices[0].pick is not None


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "nas.search.multi_objective.devices=[{name: a, constraints: {flop: 1.0}}]",
            r"^command line: nas.search.multi_objective.devices\[0\].constraints: unknown cost model 'flop' "
            r"\(did you mean: flops\?\)$",
        ),
        (
            "nas.search.multi_objective.devices=[{name: a}, {name: a}]",
            r"nas.search.multi_objective.devices\[1\].name: 'a' is taken: every device needs its own folder$",
        ),
        ("nas.search.multi_objective.devices=[{name: ../a}]", r"devices\[0\].name: '../a' is not a folder name"),
        ("nas.search.multi_objective.pareto_cost=latency_ms", r"multi_objective.pareto_cost: unknown cost model"),
    ],
)
def test_unknown_cost_models_and_bad_device_names_are_one_line_conf_errors(override, message):
    # checked when the conf loads, before a run touches anything
    with pytest.raises(ConfError, match=message):
        load_conf("bignas_toy", [override])
