"""Data-parallel training under torchrun: the process group, and the named points where ranks communicate.

Every rank runs the same code on its shard of each global batch (`descgraph.data.sharding`). Ranks talk
only here: gradients are averaged where a trainer names it (`average_gradients`), BatchNorm computes its
batch statistics over the global batch (`synced_batchnorm`), running statistics are averaged at each
epoch's end (`average_buffers`), and metrics are summed (`sum_over_ranks`). No DistributedDataParallel:
its reducer sees neither `autograd.grad` (the DARTS architect) nor several backward passes per step.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Iterable, Iterator

import torch
import torch.distributed as dist
from torch import nn

from descgraph import _ranks
from descgraph._ranks import is_main, rank, world_size
from descgraph.errors import DistributedError
from descgraph.train.threads import default_threads

__all__ = [
    "average_buffers",
    "average_gradients",
    "all_reduce_mean",
    "barrier",
    "is_main",
    "launched_by_torchrun",
    "process_group",
    "rank",
    "sum_over_ranks",
    "synced_batchnorm",
    "world_size",
]

DEFAULT_TIMEOUT_S = 120.0


def launched_by_torchrun() -> bool:
    """Whether torchrun (or another launcher setting its variables) started this process among others."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def backend() -> str:
    """nccl on CUDA, gloo on the CPU."""
    return "nccl" if torch.cuda.is_available() else "gloo"


def set_rank_threads() -> int:
    """Give this rank its share of the CPUs this process may use, so the ranks of a machine never oversubscribe it."""
    threads = default_threads(None)  # the share of LOCAL_WORLD_SIZE ranks; each stage then sizes its own
    torch.set_num_threads(threads)
    return threads


@contextlib.contextmanager
def process_group(timeout_s: float = DEFAULT_TIMEOUT_S) -> Iterator[None]:
    """Join torchrun's process group for the block (nothing in a plain run), then leave it.

    A collective that waits longer than `timeout_s` (a rank died or hangs) ends the run with a
    `DistributedError` naming this rank, instead of waiting forever.
    """
    if not launched_by_torchrun() or dist.is_initialized():
        yield
        return
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend(), timeout=datetime.timedelta(seconds=timeout_s))
    _ranks.set_place(dist.get_rank(), dist.get_world_size())
    set_rank_threads()
    try:
        yield
        barrier()  # rank 0 has written everything before any rank leaves
    except dist.DistError as e:
        first = " ".join(str(e).split())[:200]
        raise DistributedError(
            f"rank {rank()} of {world_size()}: a collective failed (a rank died, or none answered "
            f"within {timeout_s:g} s, common.collective_timeout_s): {first}"
        ) from None
    finally:
        _ranks.set_place(0, 1)
        dist.destroy_process_group()


def _is_distributed() -> bool:
    return world_size() > 1 and dist.is_initialized()


def barrier() -> None:
    """Wait until every rank gets here (nothing in a plain run)."""
    if _is_distributed():
        dist.barrier()


def sum_over_ranks(tensor: torch.Tensor) -> torch.Tensor:
    """The element-wise sum of `tensor` over the ranks, in place (the tensor itself in a plain run)."""
    if _is_distributed():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def all_reduce_mean(tensors: Iterable[torch.Tensor]) -> None:
    """Replace each tensor by its mean over the ranks, with one collective for all of them."""
    tensors = list(tensors)
    if not _is_distributed() or not tensors:
        return
    flat = torch.cat([t.reshape(-1) for t in tensors])
    sum_over_ranks(flat).div_(world_size())
    offset = 0
    for t in tensors:
        t.copy_(flat[offset : offset + t.numel()].view_as(t))
        offset += t.numel()


def average_gradients(params: Iterable[torch.Tensor]) -> None:
    """Average the gradients of `params` over the ranks: with mean losses on equal shards (and BatchNorm
    statistics over the global batch) the mean is the gradient of the loss on the global batch."""
    all_reduce_mean(p.grad for p in params if p.grad is not None)


def _bn_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


def average_buffers(model: nn.Module) -> None:
    """Average BatchNorm running statistics over the ranks (at each epoch's end), so every rank holds the same model."""
    stats = [b for m in _bn_layers(model) for b in (m.running_mean, m.running_var) if b is not None]
    with torch.no_grad():
        all_reduce_mean(stats)


class _SumOverRanks(torch.autograd.Function):
    """A sum over the ranks whose backward is the sum over the ranks of the incoming gradients."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        return sum_over_ranks(tensor.clone())

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return sum_over_ranks(grad.clone())


def _global_batch_norm(bn: nn.modules.batchnorm._BatchNorm, x: torch.Tensor) -> torch.Tensor:
    """BatchNorm in training mode with the mean and variance of the global batch (all ranks' shards)."""
    dims = [0] + list(range(2, x.dim()))
    count = torch.tensor([x.numel() / x.shape[1]], dtype=torch.float64, device=x.device)
    local = torch.cat([x.sum(dims, dtype=torch.float64), (x * x).sum(dims, dtype=torch.float64), count])
    total = _SumOverRanks.apply(local)
    c, n = x.shape[1], total[-1]
    mean, var = total[:c] / n, (total[c : 2 * c] / n - (total[:c] / n) ** 2).clamp_min(0)
    _update_running_stats(bn, mean.detach(), var.detach() * n / (n - 1).clamp_min(1))
    shape = [1, c] + [1] * (x.dim() - 2)
    y = (x - mean.to(x.dtype).view(shape)) * torch.rsqrt(var.to(x.dtype).view(shape) + bn.eps)
    if bn.affine:
        y = y * bn.weight.view(shape) + bn.bias.view(shape)
    return y


def _update_running_stats(bn: nn.modules.batchnorm._BatchNorm, mean: torch.Tensor, var: torch.Tensor) -> None:
    """What nn.BatchNorm does to its running statistics in training mode (momentum None: a cumulative mean)."""
    with torch.no_grad():
        bn.num_batches_tracked.add_(1)
        momentum = 1.0 / float(bn.num_batches_tracked) if bn.momentum is None else bn.momentum
        bn.running_mean.mul_(1 - momentum).add_(mean.to(bn.running_mean.dtype), alpha=momentum)
        bn.running_var.mul_(1 - momentum).add_(var.to(bn.running_var.dtype), alpha=momentum)


@contextlib.contextmanager
def synced_batchnorm(model: nn.Module) -> Iterator[None]:
    """Within the block, the model's plain BatchNorm layers normalize training batches by the global batch's
    statistics (one collective each way per layer), as one process does; nothing changes in a plain run.

    Subclasses of BatchNorm with a forward of their own (elastic BN) keep it.
    """
    plain = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
    layers = [m for m in _bn_layers(model) if type(m).forward in {cls.forward for cls in plain}]
    if not _is_distributed():
        yield
        return
    for bn in layers:
        native = bn.forward
        bn.forward = lambda x, bn=bn, native=native: _global_batch_norm(bn, x) if bn.training else native(x)
    try:
        yield
    finally:
        for bn in layers:
            del bn.forward
