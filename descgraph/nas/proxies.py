"""Zero-cost proxies: scores of an untrained network, computed in one pass over one batch (or none), that rank
architectures without training them.

Abdelfattah, Mehrotra, Dudziak and Lane, "Zero-cost proxies for lightweight NAS", ICLR 2021 (sec. 3 and their
code, `foresight/pruners/measures/`): each pruning-at-initialization saliency (snip, grasp, synflow, fisher) is
summed over every weight of the network's conv and linear layers into one score of the architecture, beside
grad_norm, jacov (Mellor et al. 2020, v1) and naswot (Mellor et al. 2021). `params` and `flops` are the baselines
the paper compares them with.

Every score is computed on a copy of the model (BN statistics, gradients and linearized weights never reach the
caller's model), inside a forked torch RNG seeded by `seed` (the caller's global RNG state is left as it was); a
description is compiled with its weights initialized from `seed`, so one architecture always gets the same score.
A score that is not a finite number (a NaN from a singular correlation matrix, an overflow) is returned as -inf:
it ranks last in any ranking, below every finite score.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from descgraph._registry import Registry
from descgraph.conf.schema import DatasetConf
from descgraph.data import get_provider
from descgraph.data.digits import resize
from descgraph.data.transforms import normalize, to_float
from descgraph.desc import ModelDesc
from descgraph.errors import DataError
from descgraph.nn import Model, count_macs, flops_of

#: what a score that is not a finite number becomes: it ranks last
NONFINITE = -math.inf
#: the same where only finite numbers are kept (a values CSV, trials.jsonl): the lowest float, still ranked last
NONFINITE_AS_NUMBER = -sys.float_info.max
#: images in the batch of the data-dependent proxies (the paper's code: one batch of 64 training images)
BATCH_SIZE = 64
#: the dataset of that batch when none is named: bundled, so a score needs no download
DEFAULT_DATASET = "digits"
#: the layers whose weights a per-weight saliency is summed over (the paper's code: Conv2d and Linear)
LAYERS = (nn.Conv2d, nn.Linear)
# jacov's regularizer of the correlation matrix's eigenvalues (Mellor et al. 2020 v1 and the paper's code)
JACOV_K = 1e-5


@dataclass(frozen=True)
class ProxyBatch:
    """One batch of images and labels for the data-dependent proxies.

    Attributes:
        inputs: N x C x H x W float images, normalized as the dataset's loaders do.
        targets: N labels.
        source: which data it is, in words ("digits 32x32 batch 64").
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    source: str


@dataclass(frozen=True)
class Proxy:
    """A registered proxy.

    Attributes:
        compute: (model, batch or None) -> its score; free to change the model (it gets a copy).
        needs_data: whether it reads a batch (synflow, params and flops do not).
    """

    compute: Callable[[nn.Module, ProxyBatch | None], float]
    needs_data: bool


PROXIES: Registry[Proxy] = Registry("zero-cost proxy")


def register_proxy(name: str, needs_data: bool = True) -> Callable[[Callable], Callable]:
    """Decorator registering `fn(model, batch) -> float` as the proxy `name`; a name already taken is an error."""

    def decorate(fn: Callable) -> Callable:
        PROXIES.add(name, Proxy(fn, needs_data))
        return fn

    return decorate


def init_model(desc: ModelDesc, seed: int = 0) -> Model:
    """`desc` compiled with its weights initialized from `seed` (no drop path), the global RNG left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Model(desc, droppath=False)


def proxy_batch(
    input_shape: Sequence[int],
    *,
    dataset: str = DEFAULT_DATASET,
    dataroot: str | None = None,
    size: int = BATCH_SIZE,
    seed: int = 0,
    dataset_conf: DatasetConf | None = None,
) -> ProxyBatch:
    """`size` training images of `dataset` drawn by `seed`, normalized by the dataset's statistics, resized to the
    network's input ([C, H, W], bilinear) and, for grey images and a colour network, the grey channel repeated.

    Args:
        input_shape: the network's input.
        dataset: a registered dataset: `digits` (bundled, 8x8 grey) or one under `dataroot` (`cifar10`).
        dataroot: the folder holding the dataset's folder; nothing is downloaded.
        size: images in the batch.
        seed: which images (a generator of its own: the global RNG is not touched).
        dataset_conf: a run's whole dataset section (its provider, folder and sizes), read in place of `dataset`
            and `dataroot` (its image size is the network's).

    Raises:
        DataError: one line: the dataset is missing, smaller than `size`, or its channels do not fit the network.
    """
    channels, height, width = (int(d) for d in input_shape)
    if height != width:
        raise DataError(f"proxy batch: the network's input {list(input_shape)} is not square")
    if dataset_conf is not None:
        conf = dataset_conf.model_copy(update={"image_size": height})
    else:
        conf = DatasetConf(name=dataset, image_size=height, dataroot=dataroot or "~/dataroot", download=False)
    dataset = conf.name
    splits = get_provider(dataset)(conf)
    if len(splits.train) < size:
        raise DataError(f"proxy batch: {dataset} has {len(splits.train)} training images, fewer than {size}")
    if splits.channels not in (1, channels):
        raise DataError(f"proxy batch: {dataset} has {splits.channels} channels, the network reads {channels}")
    order = torch.randperm(len(splits.train), generator=torch.Generator().manual_seed(seed))[:size]
    pairs = [splits.train[int(i)] for i in order]
    images = normalize(to_float(torch.stack([p[0] for p in pairs])), splits.mean, splits.std)
    images = resize(images, height).expand(-1, channels, -1, -1).contiguous()
    targets = torch.as_tensor([int(p[1]) for p in pairs], dtype=torch.long)
    return ProxyBatch(images, targets, f"{dataset} {height}x{width} batch {size}")


def data_used(name: str, batch: ProxyBatch | None) -> str:
    """Which data proxy `name` read: "none", or the batch's source."""
    return batch.source if PROXIES.get(name).needs_data and batch is not None else "none"


def score(
    name: str,
    model_or_desc: nn.Module | ModelDesc,
    batch: ProxyBatch | tuple[torch.Tensor, torch.Tensor] | None = None,
    *,
    seed: int = 0,
) -> float:
    """The score of proxy `name` (higher is better; -inf where it is not finite).

    Args:
        name: a registered proxy.
        model_or_desc: a description (compiled with its weights initialized from `seed`) or a model (scored with
            the weights it has, on a copy).
        batch: (inputs, targets) for a data-dependent proxy; None draws `proxy_batch` of the digits by `seed`.
        seed: the weights of a description, the batch drawn when none is given, and the proxy's own randomness.
    """
    return score_all([name], model_or_desc, batch, seed=seed)[name]


def score_all(
    names: Iterable[str],
    model_or_desc: nn.Module | ModelDesc,
    batch: ProxyBatch | tuple[torch.Tensor, torch.Tensor] | None = None,
    *,
    seed: int = 0,
    timings: dict[str, float] | None = None,
) -> dict[str, float]:
    """The score of each proxy of `names` (arguments as `score`), one batch drawn for all of them.

    Each proxy gets a model of its own: a description compiled afresh from `seed` (faster than copying a
    compiled one, and the same weights), or a copy of the model given.

    Args:
        timings: where given, each proxy's seconds are added to `timings[name]` (compiling is not counted).
    """
    proxies = {name: PROXIES.get(name) for name in names}  # an unknown name fails before anything is compiled
    if isinstance(batch, tuple):
        batch = ProxyBatch(batch[0], batch[1], f"given batch {len(batch[0])}")
    scores = {}
    for name, proxy in proxies.items():
        if isinstance(model_or_desc, ModelDesc):
            model = init_model(model_or_desc, seed)
        else:
            model = copy.deepcopy(model_or_desc)
        if batch is None and proxy.needs_data:
            batch = proxy_batch(_input_shape(model, None), seed=seed)
        start = time.perf_counter()
        scores[name] = _run(proxy, model, batch, seed)
        if timings is not None:
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - start
    return scores


def _run(proxy: Proxy, model: nn.Module, batch: ProxyBatch | None, seed: int) -> float:
    """One proxy on `model` (a copy it may change) in training mode, inside a forked RNG seeded by `seed`."""
    model.train()
    if isinstance(model, Model):
        model.drop_path_prob(0.0)
    for p in model.parameters():
        p.requires_grad_(True)
        p.grad = None
    device = next(model.parameters()).device
    if batch is not None and proxy.needs_data:
        batch = ProxyBatch(batch.inputs.to(device), batch.targets.to(device), batch.source)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        value = float(proxy.compute(model, batch))
    return value if math.isfinite(value) else NONFINITE


def _input_shape(model: nn.Module, batch: ProxyBatch | None) -> list[int]:
    """[C, H, W] of the model's input: its description's, else the batch's."""
    desc = getattr(model, "desc", None)
    if isinstance(desc, ModelDesc):
        return list(desc.input_shape)
    if batch is None:
        raise DataError("proxy: a model without a description needs a batch to know its input shape")
    return list(batch.inputs.shape[1:])


def _logits(out: torch.Tensor | tuple) -> torch.Tensor:
    """The logits of a forward pass: a Model returns (logits, aux_logits)."""
    return out[0] if isinstance(out, tuple) else out


def _cross_entropy(model: nn.Module, batch: ProxyBatch | None) -> torch.Tensor:
    """The loss of the batch; labels the network has no logit for are one line."""
    if batch is None:
        raise DataError("proxy: this proxy needs a batch (inputs, targets)")
    logits = _logits(model(batch.inputs))
    if int(batch.targets.max()) >= logits.shape[1]:
        raise DataError(f"proxy batch: labels reach {int(batch.targets.max())}, the network has {logits.shape[1]}")
    return F.cross_entropy(logits, batch.targets)


def _layers(model: nn.Module) -> list[nn.Module]:
    """The conv and linear layers, each once."""
    return [m for m in model.modules() if isinstance(m, LAYERS)]


def _summed(values: Iterable[torch.Tensor]) -> float:
    """The sum of per-layer tensors, in float64."""
    with torch.no_grad():
        return float(sum((v.double().sum() for v in values), torch.zeros((), dtype=torch.float64)))


def _weight_grads(model: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(weight, its gradient) of each layer the backward pass reached (an aux tower's layers it does not)."""
    return [(m.weight, m.weight.grad) for m in _layers(model) if m.weight.grad is not None]


@register_proxy("synflow", needs_data=False)
def synflow(model: nn.Module, batch: ProxyBatch | None = None) -> float:
    """Synaptic flow (Tanaka, Kunin, Yamins and Ganguli, "Pruning neural networks without any data by
    iteratively conserving synaptic flow", NeurIPS 2020): sum over the conv and linear weights of |θ ⊙ ∂R/∂θ|,
    R the sum of the output of the linearized network: every parameter replaced by its absolute value, BN layers
    bypassed (so nothing depends on a batch), one all-ones input, in float64 (the products overflow float32).
    """
    _bypass_batch_norm(model)
    model.double().eval()  # eval: no aux tower; without BN nothing else differs
    with torch.no_grad():
        for t in [*model.parameters(), *model.buffers()]:
            if t.is_floating_point():
                t.abs_()
    device = next(model.parameters()).device
    ones = torch.ones(1, *_input_shape(model, batch), dtype=torch.float64, device=device)
    _logits(model(ones)).sum().backward()
    return _summed((w * g).abs() for w, g in _weight_grads(model))


def _bypass_batch_norm(model: nn.Module) -> None:
    """Replace every BN module by an identity (the paper's code runs synflow with `bn=False`)."""
    for parent in list(model.modules()):
        for child_name, child in parent.named_children():
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(parent, child_name, nn.Identity())


@register_proxy("snip")
def snip(model: nn.Module, batch: ProxyBatch | None) -> float:
    """SNIP connection sensitivity (Lee, Ajanthan and Torr, "SNIP: single-shot network pruning based on connection
    sensitivity", ICLR 2019): sum over the conv and linear weights of |∂L/∂c| for a mask c = 1 on each weight,
    which is |θ ⊙ ∂L/∂θ|; L the cross-entropy of the batch in training mode."""
    _cross_entropy(model, batch).backward()
    return _summed((w * g).abs() for w, g in _weight_grads(model))


@register_proxy("grad_norm")
def grad_norm(model: nn.Module, batch: ProxyBatch | None) -> float:
    """Gradient norm (Abdelfattah et al., ICLR 2021, sec. 3): the sum over the conv and linear layers of the
    Euclidean norm of ∂L/∂θ of the layer's weight; L the cross-entropy of the batch in training mode."""
    _cross_entropy(model, batch).backward()
    return _summed(g.double().norm() for _, g in _weight_grads(model))


@register_proxy("grasp")
def grasp(model: nn.Module, batch: ProxyBatch | None) -> float:
    """GraSP (Wang, Zhang and Grosse, "Picking winning tickets before training by preserving gradient flow",
    ICLR 2020): the sum over the conv and linear weights of -θ ⊙ Hg, g = ∂L/∂θ and H the Hessian of L (a
    Hessian-gradient product: the gradient of gᵀ·stop_grad(g)); L the cross-entropy of the batch in training mode.
    The sign is the paper's code's (accuracy correlates with -θ ⊙ Hg)."""
    layers = _layers(model)
    weights = [m.weight for m in layers]
    grads = torch.autograd.grad(_cross_entropy(model, batch), weights, create_graph=True, allow_unused=True)
    used = [(w, g) for w, g in zip(weights, grads) if g is not None]
    z = sum((g.detach() * g).sum() for _, g in used)
    hessian_grads = torch.autograd.grad(z, [w for w, _ in used], allow_unused=True)
    return _summed(-w.detach() * hg for (w, _), hg in zip(used, hessian_grads) if hg is not None)


@register_proxy("fisher")
def fisher(model: nn.Module, batch: ProxyBatch | None) -> float:
    """Fisher channel saliency (Theis, Korshunova, Tejani and Huszár, "Faster gaze prediction with dense networks
    and Fisher pruning", 2018; Turner et al., "BlockSwap", ICLR 2020): for each output channel k of a conv or
    linear layer with activation a and gradient g = ∂L/∂a, Δ_k = ½ mean over the batch of (Σ_spatial a ⊙ g)²;
    each weight scores its channel's Δ_k and the weights' scores are summed (as the paper's code does), so a channel
    counts once per weight it holds. L is the cross-entropy of the batch in training mode."""
    total: list[torch.Tensor] = []

    def saliency(layer: nn.Module) -> Callable:
        def keep_output(_module: nn.Module, _inputs: tuple, out: torch.Tensor) -> None:
            if not out.requires_grad:
                return
            act = out.detach()

            def on_grad(grad: torch.Tensor) -> None:
                g_nk = (act * grad).sum(dim=tuple(range(2, act.ndim))) if act.ndim > 2 else act * grad
                delta = g_nk.double().pow(2).mean(0).mul(0.5)
                total.append(delta.sum() * layer.weight[0].numel())

            out.register_hook(on_grad)

        return keep_output

    handles = [m.register_forward_hook(saliency(m)) for m in _layers(model)]
    try:
        _cross_entropy(model, batch).backward()
    finally:
        for h in handles:
            h.remove()
    return _summed(total)


@register_proxy("jacov")
def jacov(model: nn.Module, batch: ProxyBatch | None) -> float:
    """Jacobian covariance (Mellor, Turner, Storkey and Crowley, "Neural architecture search without training",
    arXiv 2006.04647 v1, 2020): J the gradient of the summed output with respect to each input image (training
    mode), C the correlation matrix of J's rows over the batch, score -Σ_i [log(λ_i + k) + 1/(λ_i + k)] over C's
    eigenvalues λ, k = 1e-5. An image whose J is constant makes C undefined: NaN, which ranks last."""
    if batch is None:
        raise DataError("proxy jacov: needs a batch (inputs, targets)")
    x = batch.inputs.clone().requires_grad_(True)
    (jac,) = torch.autograd.grad(_logits(model(x)).sum(), x)
    corr = torch.corrcoef(jac.reshape(len(x), -1).double())
    if not bool(torch.isfinite(corr).all()):
        return math.nan
    eig = torch.linalg.eigvalsh(corr)
    return float(-(torch.log(eig + JACOV_K) + 1.0 / (eig + JACOV_K)).sum())


class _ReLUCodes(TorchFunctionMode):
    """Collects, for every ReLU a forward pass applies (a module's or a function's), its input's binary code:
    1 where the unit is active, one row per image."""

    RELUS = {torch.relu, torch.relu_, F.relu, F.relu_, torch.Tensor.relu, torch.Tensor.relu_}

    def __init__(self) -> None:
        super().__init__()
        self.codes: list[torch.Tensor] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self.RELUS:
            x = args[0] if args else kwargs["input"]
            self.codes.append((x > 0).flatten(1))  # before the call: an in-place ReLU overwrites its input
        return func(*args, **kwargs)


@register_proxy("naswot")
def naswot(model: nn.Module, batch: ProxyBatch | None) -> float:
    """NASWOT (Mellor, Turner, Storkey and Crowley, "Neural architecture search without training", ICML 2021,
    sec. 3): log|det K| of K_ij = N_A - d_H(c_i, c_j), c_i the binary code of image i over every ReLU unit of
    the network (1 where active), N_A the number of units and d_H the Hamming distance; one forward pass in
    training mode. Per ReLU, K += c cᵀ + (1 - c)(1 - c)ᵀ; a singular K (two images with one code) is -inf."""
    if batch is None:
        raise DataError("proxy naswot: needs a batch (inputs, targets)")
    with torch.no_grad(), _ReLUCodes() as relus:
        model(batch.inputs)
    n = len(batch.inputs)
    kernel = torch.zeros(n, n, dtype=torch.float64, device=batch.inputs.device)
    for code in relus.codes:
        units = code.shape[1]
        # sums of 0/1 products are exact in float32 below 2**24 units
        c = code.to(torch.float32 if units < 2**24 else torch.float64)
        same, active = (c @ c.T).double(), c.sum(1, keepdim=True).double()
        # c cᵀ + (1 - c)(1 - c)ᵀ = 2 c cᵀ - s 1ᵀ - 1 sᵀ + N_A, s the active units of each image
        kernel += 2 * same - active - active.T + units
    sign, logdet = torch.linalg.slogdet(kernel)
    return float(logdet) if float(sign) > 0 else NONFINITE


@register_proxy("params", needs_data=False)
def params(model: nn.Module, batch: ProxyBatch | None = None) -> float:
    """The weight count (the paper's baseline): a Model's `param_count()` (aux towers and architecture parameters
    left out), any other module's parameters."""
    if isinstance(model, Model):
        return float(model.param_count())
    return float(sum(p.numel() for p in model.parameters()))


@register_proxy("flops", needs_data=False)
def flops(model: nn.Module, batch: ProxyBatch | None = None) -> float:
    """FLOPs of one forward pass at batch 1 (the paper's baseline), counted by `descgraph.nn.count_macs` as
    `descgraph show` counts them: 2 per multiply-accumulate of the conv and linear layers."""
    return float(flops_of(count_macs(model, _input_shape(model, batch))))
