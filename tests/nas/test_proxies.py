"""Zero-cost proxies against computations written out here: a plain `nn.Sequential` copy of a compiled chain,
the definitions of the papers (a mask's gradient, an explicit Hessian, Hamming distances, Euler's theorem, a
finite difference), hand counts and `descgraph show`."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call
from wiring_examples import one_node_cell, wired_model

from descgraph.builders.nb201 import build_nb201, nb201_model_conf
from descgraph.cli import main
from descgraph.desc.io import save_desc
from descgraph.errors import DataError, RegistryError
from descgraph.nas.proxies import NONFINITE, PROXIES, init_model, proxy_batch, score, score_all

ALL = ["synflow", "naswot", "jacov", "snip", "grad_norm", "fisher", "grasp", "params", "flops"]
ARCH = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def chain():
    """3x8x8 input, a 3x3 conv-BN stem of 4 channels, one cell of ReLU-conv3x3-BN, average pool, linear to 3."""
    return wired_model([one_node_cell(0, ["conv_3x3"], [4, 8, 8])], 8, 3)


def tiny_nb201_desc(arch: str = ARCH):
    """The NAS-Bench-201 network of `arch` at C=4, N=1 on 8x8 inputs."""
    conf = nb201_model_conf("cifar10", n_cells=1, init_node_ch=4)
    conf.dataset.image_size = 8
    return build_nb201(arch, conf)


@pytest.fixture(scope="module")
def tiny_nb201():
    return tiny_nb201_desc()


@pytest.fixture(scope="module")
def batch():
    g = torch.Generator().manual_seed(7)
    return torch.randn(6, 3, 8, 8, generator=g), torch.randint(0, 3, (6,), generator=g)


def sequential(model: nn.Module) -> nn.Sequential:
    """The chain's layers as a plain nn.Sequential, its weights and BN statistics copied from `model`."""
    seq = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, bias=False),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1, bias=False),
        nn.BatchNorm2d(4),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    )
    theirs, ours = list(model.state_dict().values()), seq.state_dict()
    assert [tuple(t.shape) for t in theirs] == [tuple(t.shape) for t in ours.values()]
    seq.load_state_dict(dict(zip(ours, theirs)))
    return seq.train()


def weighted(seq: nn.Sequential) -> list[nn.Module]:
    return [m for m in seq if isinstance(m, nn.Conv2d | nn.Linear)]


def test_synflow_is_the_sum_of_theta_times_its_gradient_in_the_linearized_chain(chain):
    model = init_model(chain, seed=3)
    seq = sequential(model)
    linear = nn.Sequential(*[copy.deepcopy(m) for m in seq if not isinstance(m, nn.BatchNorm2d)]).double()
    with torch.no_grad():
        for p in linear.parameters():
            p.abs_()
    layers = weighted(linear)
    r = linear(torch.ones(1, 3, 8, 8, dtype=torch.float64)).sum()
    grads = torch.autograd.grad(r, [m.weight for m in layers])
    expected = sum(float((m.weight.detach() * g).abs().sum()) for m, g in zip(layers, grads))
    assert score("synflow", model) == pytest.approx(expected, rel=1e-12)
    # Euler: R is linear in each of the 3 weight layers (every path crosses each once), so each layer's
    # sum of θ ∂R/∂θ is R less the bias's share
    assert expected == pytest.approx(3 * (float(r.detach()) - float(layers[-1].bias.detach().sum())), rel=1e-12)
    assert score("synflow", chain, seed=3) == score("synflow", model)


def test_synflow_on_nb201_is_the_derivative_of_R_along_the_weights(tiny_nb201):
    # every term of θ ∂R/∂θ is >= 0 in the linearized network, so their sum is d/ds R(s·θ) at s = 1: a central
    # difference of forward passes, no autograd; BN bypassed by its own forward
    model = init_model(tiny_nb201, seed=5)
    linear = copy.deepcopy(model).double().eval()
    for m in linear.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.forward = lambda x: x
    with torch.no_grad():
        for p in linear.parameters():
            p.abs_()
    weights = [m.weight for m in linear.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    base = [w.detach().clone() for w in weights]
    ones = torch.ones(1, 3, 8, 8, dtype=torch.float64)

    def r(s: float) -> float:
        with torch.no_grad():
            for w, b in zip(weights, base):
                w.copy_(b * s)
            return float(linear(ones)[0].sum())

    h = 1e-4
    expected = (r(1 + h) - r(1 - h)) / (2 * h)
    assert score("synflow", model) == pytest.approx(expected, rel=1e-6)


def test_snip_is_the_gradient_of_the_loss_with_respect_to_a_mask_of_ones(chain, batch):
    model = init_model(chain, seed=1)
    seq = sequential(model)
    names = [f"{i}.weight" for i, m in enumerate(seq) if isinstance(m, nn.Conv2d | nn.Linear)]
    masks = [torch.ones_like(seq.get_parameter(n), requires_grad=True) for n in names]
    params = {n: c * seq.get_parameter(n).detach() for n, c in zip(names, masks)}
    loss = F.cross_entropy(functional_call(seq, params, (batch[0],)), batch[1])
    grads = torch.autograd.grad(loss, masks)
    assert score("snip", model, batch) == pytest.approx(sum(float(g.abs().sum()) for g in grads), rel=1e-6)


def test_grad_norm_is_the_sum_of_each_layers_gradient_norm(chain, batch):
    model = init_model(chain, seed=1)
    seq = sequential(model)
    layers = weighted(seq)
    grads = torch.autograd.grad(F.cross_entropy(seq(batch[0]), batch[1]), [m.weight for m in layers])
    expected = sum(math.sqrt(float((g.double() ** 2).sum())) for g in grads)
    assert score("grad_norm", model, batch) == pytest.approx(expected, rel=1e-6)


def test_grasp_is_minus_theta_times_the_hessian_times_the_gradient(chain, batch):
    model = init_model(chain, seed=2)
    seq = sequential(model).double()
    names = [f"{i}.weight" for i, m in enumerate(seq) if isinstance(m, nn.Conv2d | nn.Linear)]
    shapes = [seq.get_parameter(n).shape for n in names]
    theta = torch.cat([seq.get_parameter(n).detach().flatten() for n in names])
    x = batch[0].double()

    def loss(flat: torch.Tensor) -> torch.Tensor:
        parts = torch.split(flat, [math.prod(s) for s in shapes])
        return F.cross_entropy(
            functional_call(seq, {n: p.view(s) for n, p, s in zip(names, parts, shapes)}, (x,)), batch[1]
        )

    hessian = torch.autograd.functional.hessian(loss, theta)  # 264 x 264, written out
    gradient = torch.autograd.functional.jacobian(loss, theta)
    expected = float(-(theta * (hessian @ gradient)).sum())
    assert score("grasp", model, (x.float(), batch[1])) == pytest.approx(expected, rel=1e-4, abs=1e-9)


def test_fisher_sums_each_channels_half_mean_squared_activation_gradient_product_per_weight(chain, batch):
    model = init_model(chain, seed=4)
    conv1, bn1, relu, conv2, bn2, pool, flat, fc = sequential(model)
    a1 = conv1(batch[0])
    a2 = conv2(relu(bn1(a1)))
    a3 = fc(flat(pool(bn2(a2))))
    for a in (a1, a2, a3):
        a.retain_grad()
    F.cross_entropy(a3, batch[1]).backward()
    expected = 0.0
    for a, fan_in in ((a1, 3 * 9), (a2, 4 * 9), (a3, 4)):
        per_image = (a * a.grad).detach()
        per_image = per_image.sum(dim=(2, 3)) if a.ndim == 4 else per_image  # N x channels
        expected += float(0.5 * (per_image.double() ** 2).mean(0).sum()) * fan_in
    assert score("fisher", model, batch) == pytest.approx(expected, rel=1e-5)


def test_jacov_scores_the_eigenvalues_of_the_input_jacobians_correlation(chain, batch):
    model = init_model(chain, seed=6)
    seq = sequential(model)
    x = batch[0].clone().requires_grad_(True)
    seq(x).sum().backward()
    eig = np.linalg.eigvalsh(np.corrcoef(x.grad.reshape(len(x), -1).double().numpy()))
    expected = -float(np.sum(np.log(eig + 1e-5) + 1 / (eig + 1e-5)))
    assert score("jacov", model, batch) == pytest.approx(expected, rel=1e-6)


def test_naswot_is_the_log_determinant_of_the_hamming_kernel_of_relu_codes(tiny_nb201, batch):
    model = init_model(tiny_nb201, seed=8)
    probe = copy.deepcopy(model).train()
    codes = []

    def keep(_module, inputs, out=None):
        codes.append((inputs[0] > 0).flatten(1))

    for m in probe.modules():
        if isinstance(m, nn.ReLU):
            m.register_forward_hook(keep)
    # the head applies torch.relu to its BN's output
    probe.pool_op.bn.register_forward_hook(lambda m, i, out: codes.append((out > 0).flatten(1)))
    with torch.no_grad():
        probe(batch[0])
    c = torch.cat(codes, dim=1)
    units, n = c.shape[1], len(c)
    kernel = np.array([[units - int((c[i] != c[j]).sum()) for j in range(n)] for i in range(n)], dtype=np.float64)
    sign, logdet = np.linalg.slogdet(kernel)
    assert sign == 1 and score("naswot", model, batch) == pytest.approx(logdet, rel=1e-9)
    # every ReLU was read: 3 per cell, 2 per residual block, the head's
    assert len(codes) == 3 * 3 + 2 * 2 + 1


def test_a_kernel_of_identical_images_is_singular_and_ranks_last(chain, batch):
    same = (batch[0][:1].expand(4, -1, -1, -1).contiguous(), batch[1][:4])
    assert score("naswot", init_model(chain), same) == NONFINITE == -math.inf


def test_a_network_blind_to_its_input_has_no_jacobian_correlation_and_ranks_last(batch):
    blind = tiny_nb201_desc("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert score("jacov", blind, batch) == -math.inf
    assert math.isfinite(score("jacov", tiny_nb201_desc(), batch))


def test_params_and_flops_are_the_hand_counts_and_descgraph_shows(chain, tmp_path, capsys):
    assert score("params", chain) == 3 * 4 * 9 + 2 * 4 + 4 * 4 * 9 + 2 * 4 + 4 * 3 + 3 == 283
    macs = 8 * 8 * 4 * (3 * 9) + 8 * 8 * 4 * (4 * 9) + 4 * 3
    save_desc(chain, tmp_path / "chain.yaml")
    assert main(["show", str(tmp_path / "chain.yaml"), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert score("flops", chain) == shown["flops"] == 2 * macs
    assert score("params", tiny_nb201_desc()) == init_model(tiny_nb201_desc()).param_count()


@pytest.mark.parametrize("name", ALL)
def test_a_proxy_leaves_the_callers_model_and_rng_as_they_were(name, tiny_nb201, batch):
    model = init_model(tiny_nb201, seed=9).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(123)
    rng = torch.get_rng_state()
    first = score(name, model, batch, seed=4)
    assert torch.equal(torch.get_rng_state(), rng)
    assert not model.training and all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert next(model.parameters()).dtype == torch.float32
    assert score(name, model, batch, seed=4) == first  # reproducible
    assert score(name, tiny_nb201, batch, seed=9) == first  # the description compiled with seed 9's weights


def test_a_description_is_scored_with_the_weights_of_its_seed(tiny_nb201):
    assert score("synflow", tiny_nb201, seed=1) == score("synflow", tiny_nb201, seed=1)
    assert score("synflow", tiny_nb201, seed=1) != score("synflow", tiny_nb201, seed=2)
    torch.manual_seed(1)
    assert score("synflow", init_model(tiny_nb201, seed=1)) == score("synflow", tiny_nb201, seed=1)


def test_score_all_draws_one_digits_batch_for_every_proxy(tiny_nb201):
    timings: dict[str, float] = {}
    scores = score_all(["naswot", "synflow", "snip"], tiny_nb201, seed=3, timings=timings)
    digits = proxy_batch([3, 8, 8], seed=3)
    assert scores == {
        "naswot": score("naswot", tiny_nb201, (digits.inputs, digits.targets), seed=3),
        "synflow": score("synflow", tiny_nb201, seed=3),
        "snip": score("snip", tiny_nb201, (digits.inputs, digits.targets), seed=3),
    }
    assert set(timings) == {"naswot", "synflow", "snip"} and all(t > 0 for t in timings.values())


def test_the_digits_batch_is_training_images_normalized_with_the_grey_channel_repeated():
    from descgraph.conf.schema import DatasetConf
    from descgraph.data import get_provider

    b = proxy_batch([3, 8, 8], size=16, seed=2)
    assert b.source == "digits 8x8 batch 16" and b.inputs.shape == (16, 3, 8, 8) and b.targets.shape == (16,)
    assert torch.equal(b.inputs[:, 0], b.inputs[:, 1]) and torch.equal(b.inputs[:, 0], b.inputs[:, 2])
    splits = get_provider("digits")(DatasetConf(name="digits", image_size=8))
    images = torch.stack([x[0] for x, _ in splits.train])
    labels = torch.as_tensor([int(y) for _, y in splits.train])
    normalized = (images - splits.mean[0]) / splits.std[0]
    found = []
    for x, y in zip(b.inputs, b.targets):
        match = [i for i in range(len(images)) if torch.allclose(normalized[i], x[0], atol=1e-6)]
        assert match and int(labels[match[0]]) == int(y)
        found.append(match[0])
    assert len(set(found)) == 16  # distinct training images
    big = proxy_batch([3, 32, 32], seed=2)
    assert big.source == "digits 32x32 batch 64" and big.inputs.shape == (64, 3, 32, 32)
    assert torch.equal(proxy_batch([3, 32, 32], seed=2).inputs, big.inputs)


def test_unknown_proxies_and_missing_data_are_one_line():
    with pytest.raises(RegistryError, match=r"unknown zero-cost proxy 'synflw' \(did you mean: synflow\?\)"):
        score("synflw", tiny_nb201_desc())
    with pytest.raises(DataError, match="no CIFAR-10 batches in"):
        proxy_batch([3, 32, 32], dataset="cifar10", dataroot="/nonexistent")
    with pytest.raises(DataError, match=r"the network's input \[3, 8, 16\] is not square"):
        proxy_batch([3, 8, 16])
    assert sorted(PROXIES.names()) == sorted(ALL)
