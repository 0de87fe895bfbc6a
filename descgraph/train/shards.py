"""Micro-batches: each global batch cut into `common.shards` equal parts, each run forward and backward alone.

A step's result depends on the number of shards S, never on the number of ranks W (W divides S): rank r
runs the contiguous block of S/W micro-batches that its shard of the global batch holds, one after the
other, and then the ranks add up what they hold, at one named point per pass over a batch.

- BatchNorm normalizes by the micro-batch's own statistics ("ghost batch norm", as plain DDP does).
- A micro-batch's loss is its mean loss times 1/S (exact for S a power of two); each micro-batch's
  gradient is kept apart and added to the earlier ones in micro-batch order, then summed over the ranks.
- Random draws in the forward pass (drop path) are made for the whole global batch from the same
  generator state, and each micro-batch keeps its rows (`descgraph._ranks.rows_of_global`).
- Every micro-batch starts from the same BatchNorm running statistics; the pass ends with their mean
  over the S micro-batches (summed over the ranks in the gradients' collective), and
  `num_batches_tracked` counts passes.

For S = 2, one process and 2 ranks add the same two numbers, so their results are bitwise equal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import torch
from torch import nn

from descgraph import _ranks
from descgraph.errors import ConfError, DataError
from descgraph.train import distributed

MicroBatch = tuple[torch.Tensor, torch.Tensor, float]
MicroBatches = Callable[..., Iterator[MicroBatch]]


def resolve_shards(shards: int) -> int:
    """`common.shards`, 0 meaning the world size (1 in one process)."""
    return shards or _ranks.world_size()


def check_shards(shards: int, world: int, batches: dict[str, int]) -> None:
    """The ranks take equal blocks of the shards, and every global batch splits into the shards.

    Args:
        shards: `common.shards` (0: the world size).
        world: the number of ranks.
        batches: each training batch's size by its conf key.

    Raises:
        ConfError: `world` does not divide the shards.
        DataError: one line naming the key of a batch that does not split into the shards.
    """
    count = shards or world
    if count % world:
        raise ConfError(f"common.shards: {count} shards do not split into {world} equal blocks (one per rank)")
    for key, batch in batches.items():
        if batch % count:
            raise DataError(
                f"{key}: the global batch of {batch} does not split into {count} equal shards (common.shards)"
            )


def _bn_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [
        m
        for m in model.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats and m.running_mean is not None
    ]


class Sharder:
    """Splits a rank's shard of each global batch into its micro-batches and sums what they give.

    Args:
        model: the model whose BatchNorm running statistics follow the rules above.
        shards: S, the micro-batches of each global batch (0: the world size).
    """

    def __init__(self, model: nn.Module, shards: int = 0) -> None:
        self.model, self.shards = model, resolve_shards(shards)
        check_shards(self.shards, _ranks.world_size(), {})
        self.layers = _bn_layers(model)  # looked up once, not on every pass

    def __call__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        params: Sequence[torch.Tensor] = (),
    ) -> Iterator[MicroBatch]:
        """This rank's micro-batches of a global batch's shard `x`, `y`, each with its loss scale 1/S.

        After the last one, the `.grad` of `params` (each micro-batch's own, added in order) and the
        BatchNorm running statistics are summed over the ranks in one collective: they are then those
        of the whole global batch.
        """
        if self.shards == 1:  # one process, one micro-batch: plain training, nothing to add up
            yield x, y, 1.0
            return
        local = self.shards // _ranks.world_size()
        if len(x) % local:
            raise DataError(f"a batch of {len(x)} does not split into {local} equal micro-batches (common.shards)")
        first = _ranks.rank() * local
        layers = self.layers
        start = [_stats(bn) for bn in layers] if local > 1 else None
        rng = _rng_state(x.device)
        totals: list[torch.Tensor] | None = None
        for i, (xb, yb) in enumerate(zip(x.chunk(local), y.chunk(local))):
            earlier = None
            if i:
                _restore(layers, start)
                _set_rng_state(x.device, rng)
                earlier = _take_grads(params)
            with _ranks.micro_batch(first + i, self.shards):
                yield xb, yb, 1.0 / self.shards
            _add_grads(params, earlier)
            totals = _add_stats(totals, layers, copy=local > 1)
        self._reduce([p.grad for p in params if p.grad is not None], layers, totals or [])

    def _reduce(
        self,
        grads: list[torch.Tensor],
        layers: list[nn.modules.batchnorm._BatchNorm],
        totals: list[torch.Tensor],
    ) -> None:
        """Sum over the ranks in one collective; the running statistics become the mean of the S micro-batches'."""
        distributed.all_reduce_sum([*grads, *totals])
        with torch.no_grad():
            for bn, (mean, var) in zip(layers, zip(totals[::2], totals[1::2])):
                bn.running_mean.copy_(mean.div_(self.shards))
                bn.running_var.copy_(var.div_(self.shards))


def whole_batches(x: torch.Tensor, y: torch.Tensor, params: Sequence[torch.Tensor] = ()) -> Iterator[MicroBatch]:
    """One process, one micro-batch: the batch itself with scale 1 (what a caller without a trainer uses)."""
    yield x, y, 1.0


def _stats(bn: nn.modules.batchnorm._BatchNorm) -> tuple[torch.Tensor, ...]:
    return tuple(b.detach().clone() for b in (bn.running_mean, bn.running_var, bn.num_batches_tracked))


def _restore(layers: list[nn.modules.batchnorm._BatchNorm], start: list[tuple[torch.Tensor, ...]] | None) -> None:
    with torch.no_grad():
        for bn, (mean, var, tracked) in zip(layers, start or []):
            bn.running_mean.copy_(mean)
            bn.running_var.copy_(var)
            bn.num_batches_tracked.copy_(tracked)


def _add_stats(
    totals: list[torch.Tensor] | None, layers: list[nn.modules.batchnorm._BatchNorm], copy: bool
) -> list[torch.Tensor]:
    """Running means and variances, added to the earlier micro-batches' (the buffers themselves for one)."""
    now = [b.detach() for bn in layers for b in (bn.running_mean, bn.running_var)]
    if totals is None:
        return [b.clone() for b in now] if copy else now
    return [t.add_(b) for t, b in zip(totals, now)]


def _take_grads(params: Sequence[torch.Tensor]) -> list[torch.Tensor | None]:
    """The gradients so far, taken away, so that the next micro-batch's gradient is computed alone."""
    earlier = [p.grad for p in params]
    for p in params:
        p.grad = None
    return earlier


def _add_grads(params: Sequence[torch.Tensor], earlier: list[torch.Tensor | None] | None) -> None:
    """The earlier micro-batches' gradients plus this one's."""
    for p, g in zip(params, earlier or []):
        if g is not None:
            p.grad = g if p.grad is None else g.add_(p.grad)


def _rng_state(device: torch.device) -> torch.Tensor:
    return torch.cuda.get_rng_state(device) if device.type == "cuda" else torch.get_rng_state()


def _set_rng_state(device: torch.device, state: torch.Tensor) -> None:
    if device.type == "cuda":
        torch.cuda.set_rng_state(state, device)
    else:
        torch.set_rng_state(state)
