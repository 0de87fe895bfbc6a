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
from descgraph.train.shards import MicroBatches, whole_batches

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Batch = tuple[torch.Tensor, torch.Tensor]


def _loss(
    model: nn.Module, params: dict[str, torch.Tensor], loss_fn: Loss, x: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    logits = functional_call(model, params, (x,))
    return loss_fn(logits[0] if isinstance(logits, tuple) else logits, y)


def _leaves(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Detached tensors (sharing storage) that gather their own gradients."""
    return {n: t.detach().requires_grad_(True) for n, t in tensors.items()}


def _summed_grads(
    micro_batches: MicroBatches, batch: Batch, losses: Callable[[torch.Tensor, torch.Tensor], Sequence[torch.Tensor]],
    leaves: Sequence[torch.Tensor],
) -> list[torch.Tensor]:  # fmt: skip
    """The gradients in `leaves` of the global batch's `losses` (each backward into its own leaves): each
    micro-batch's scaled losses, summed over the micro-batches and the ranks."""
    for x, y, scale in micro_batches(*batch, params=leaves):
        torch.autograd.backward([loss * scale for loss in losses(x, y)], inputs=list(leaves))
    return [leaf.grad for leaf in leaves]


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
    batch_train: Batch,
    batch_val: Batch,
    xi: float,
    momentum: list[torch.Tensor] | None = None,
    weight_decay: float = 0.0,
    micro_batches: MicroBatches = whole_batches,
) -> list[torch.Tensor]:
    """The DARTS second-order architecture gradient on the global batch, one tensor per architecture parameter.

    Each gradient it takes (the weight gradient before the virtual step, `d_alpha` and `d_w` at w', the
    Hessian-vector product's two gradients) is a sum of micro-batch contributions, summed over the
    data-parallel ranks by `micro_batches` (a trainer's `micro_batches`), so every rank returns the
    gradient of the global batch and the result depends on the shards, not on the ranks.
    """
    weights, alphas = split_parameters(model)
    fixed = {n: a.detach() for n, a in alphas.items()}
    w_leaves = _leaves(weights)
    grads_w = _summed_grads(
        micro_batches, batch_train, lambda x, y: [_loss(model, {**w_leaves, **fixed}, loss_fn, x, y)],
        list(w_leaves.values()),
    )  # fmt: skip
    w_prime = unrolled_weights(weights, grads_w, xi, momentum, weight_decay)
    a_leaves = _leaves(alphas)
    grads = _summed_grads(
        micro_batches, batch_val, lambda x, y: [_loss(model, {**w_prime, **a_leaves}, loss_fn, x, y)],
        [*a_leaves.values(), *w_prime.values()],
    )  # fmt: skip
    d_alpha, d_w = grads[: len(alphas)], grads[len(alphas) :]
    hvp = _hessian_vector_product(model, loss_fn, weights, alphas, d_w, batch_train, micro_batches)
    return [da - xi * h for da, h in zip(d_alpha, hvp)]


def _hessian_vector_product(
    model: nn.Module,
    loss_fn: Loss,
    weights: dict[str, nn.Parameter],
    alphas: dict[str, nn.Parameter],
    vector: list[torch.Tensor],
    batch_train: Batch,
    micro_batches: MicroBatches,
) -> list[torch.Tensor]:
    """grad2_{a,w} L_train . v by central differences in w (DARTS eq. 8): the gradients at w + eps v and
    w - eps v, each summed over the micro-batches and ranks, in one pass."""
    norm = torch.sqrt(sum((v.detach() ** 2).sum() for v in vector))
    eps = 0.01 / norm.clamp_min(1e-12)
    plus, minus = _leaves(alphas), _leaves(alphas)
    points = [
        {**{n: w.detach() + sign * eps * v for (n, w), v in zip(weights.items(), vector)}, **a}
        for sign, a in ((1.0, plus), (-1.0, minus))
    ]

    def losses(x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
        return [_loss(model, params, loss_fn, x, y) for params in points]

    grads = _summed_grads(micro_batches, batch_train, losses, [*plus.values(), *minus.values()])
    n = len(alphas)
    return [(p - m) / (2 * eps) for p, m in zip(grads[:n], grads[n:])]
