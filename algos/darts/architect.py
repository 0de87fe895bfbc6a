"""DARTS architecture gradients: the second-order unrolled approximation (first order is
`descgraph.train.ArchTrainer.arch_step`, the one step every bilevel trainer shares).

DARTS sec. 2.3, eq. 6-8: with w' = w - xi * grad_w L_train(w, a), the architecture gradient is
grad_a L_val(w', a) - xi * grad2_{a,w} L_train(w, a) . grad_w' L_val(w', a), and the Hessian-vector
product is a central finite difference at w +- eps * grad_w' L_val with eps = 0.01 / ||grad_w' L_val||.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.func import functional_call

from descgraph.nn import split_parameters

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Average = Callable[[Sequence[torch.Tensor]], None]


def _no_average(tensors: Sequence[torch.Tensor]) -> None:
    """One process: a shard is the whole batch."""


def _loss(
    model: nn.Module, params: dict[str, torch.Tensor], loss_fn: Loss, x: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    logits = functional_call(model, params, (x,))
    return loss_fn(logits[0] if isinstance(logits, tuple) else logits, y)


def unrolled_weights(
    weights: dict[str, nn.Parameter],
    grads: list[torch.Tensor],
    xi: float,
    momentum: list[torch.Tensor] | None,
    weight_decay: float,
) -> dict[str, torch.Tensor]:
    """w' = w - xi * (momentum + grad + weight_decay * w): one virtual SGD step, as DARTS takes it."""
    out = {}
    for (name, w), g, m in zip(weights.items(), grads, momentum or [None] * len(grads)):
        step = g + weight_decay * w.detach()
        if m is not None:
            step = step + m
        out[name] = (w.detach() - xi * step).requires_grad_(True)
    return out


def second_order_grads(
    model: nn.Module,
    loss_fn: Loss,
    batch_train: tuple[torch.Tensor, torch.Tensor],
    batch_val: tuple[torch.Tensor, torch.Tensor],
    xi: float,
    momentum: list[torch.Tensor] | None = None,
    weight_decay: float = 0.0,
    average: Average = _no_average,
) -> list[torch.Tensor]:
    """The DARTS second-order architecture gradient, one tensor per architecture parameter.

    On data-parallel ranks, `average` (a mean over the ranks, in place) makes the virtual step's weight
    gradient and `d_w` those of the global batch; the result, a gradient on this rank's shards, is then
    averaged like any architecture gradient and equals the one-process gradient on the global batch.
    """
    weights, alphas = split_parameters(model)
    a_list = list(alphas.values())
    grads_w = torch.autograd.grad(_loss(model, {**weights, **alphas}, loss_fn, *batch_train), list(weights.values()))
    average(grads_w)
    w_prime = unrolled_weights(weights, list(grads_w), xi, momentum, weight_decay)
    val_loss = _loss(model, {**w_prime, **alphas}, loss_fn, *batch_val)
    grads = torch.autograd.grad(val_loss, a_list + list(w_prime.values()))
    d_alpha, d_w = grads[: len(a_list)], grads[len(a_list) :]
    average(d_w)
    hvp = _hessian_vector_product(model, loss_fn, weights, alphas, d_w, batch_train)
    return [da - xi * h for da, h in zip(d_alpha, hvp)]


def _hessian_vector_product(
    model: nn.Module,
    loss_fn: Loss,
    weights: dict[str, nn.Parameter],
    alphas: dict[str, nn.Parameter],
    vector: tuple[torch.Tensor, ...],
    batch_train: tuple[torch.Tensor, torch.Tensor],
) -> list[torch.Tensor]:
    """grad2_{a,w} L_train . v by central differences in w (DARTS eq. 8)."""
    norm = torch.sqrt(sum((v.detach() ** 2).sum() for v in vector))
    eps = 0.01 / norm.clamp_min(1e-12)
    a_list = list(alphas.values())

    def grad_at(sign: float) -> tuple[torch.Tensor, ...]:
        shifted = {n: w.detach() + sign * eps * v for (n, w), v in zip(weights.items(), vector)}
        return torch.autograd.grad(_loss(model, {**shifted, **alphas}, loss_fn, *batch_train), a_list)

    plus, minus = grad_at(1.0), grad_at(-1.0)
    return [(p - m) / (2 * eps) for p, m in zip(plus, minus)]
