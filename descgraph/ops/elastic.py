"""Elastic ops: the largest weights of a supernet, run at a child's channels and kernel sizes.

As once-for-all's dynamic ops (Cai et al. 2020, `ofa/.../dynamic_op.py`): a conv keeps its first
output filters over the input's first channels, `weight[:out, :in]`, and a smaller kernel is the
centre crop of the largest; BN and linear layers slice the same way. The input channels come from
the tensor itself, so only output widths, kernels and middle widths are set, by `activate(params)`
with the static op's params of the child. Each elastic op hands back the static description
(`active_desc`) and the sliced weights (`active_state_dict`) of its active setting, with the keys
of the static op (descgraph.ops.mbconv), so a child's weights load into `Model(child_desc)`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from descgraph.desc import OpDesc
from descgraph.desc.elastic import mbconv_params  # the one place a block's widths are computed
from descgraph.ops._registry import register_op
from descgraph.ops.mbconv import ConvBnAct, MBConv, SqueezeExcite, check_mbconv, make_act


def _crop(weight: torch.Tensor, kernel: int) -> torch.Tensor:
    """The centre kernel x kernel window of a square kernel (once-for-all's kernel sharing without transforms)."""
    start = (weight.shape[-1] - kernel) // 2
    return weight if start == 0 else weight[:, :, start : start + kernel, start : start + kernel]


class ElasticConv2d(nn.Conv2d):
    """A square conv run with `active_out` filters (the input's channels when depthwise) and `active_kernel`.

    Args:
        ch_in: largest input channels.
        ch_out: largest output channels.
        kernel: largest kernel size.
        stride: spatial stride.
        depthwise: one filter per channel (ch_in == ch_out).
        bias: whether the conv has a bias.
    """

    def __init__(
        self, ch_in: int, ch_out: int, kernel: int, stride: int = 1, depthwise: bool = False, bias: bool = False
    ) -> None:
        groups = ch_in if depthwise else 1
        super().__init__(ch_in, ch_out, kernel, stride, padding=kernel // 2, groups=groups, bias=bias)
        self.depthwise = depthwise
        self.active_out, self.active_kernel = ch_out, kernel
        self._windows: dict[tuple, tuple] = {}  # (ch_in, out, kernel, weight geometry) -> window, padding, groups

    def sliced(self, ch_in: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Weight and bias at `ch_in` input channels, the active width and kernel (the parameters when full)."""
        ch_out = ch_in if self.depthwise else self.active_out
        weight, bias = self.weight, self.bias
        if ch_out != self.out_channels:
            weight, bias = weight[:ch_out], None if bias is None else bias[:ch_out]
        if not self.depthwise and ch_in != self.in_channels:
            weight = weight[:, :ch_in]
        return _crop(weight, self.active_kernel), bias

    def _window(self, ch_in: int) -> tuple:
        """The weight's and bias's indices at `ch_in` (None: the whole tensor), the padding and the groups."""
        ch_out = ch_in if self.depthwise else self.active_out
        start, k = (self.kernel_size[0] - self.active_kernel) // 2, self.active_kernel
        full_out, full_in = ch_out == self.out_channels, self.depthwise or ch_in == self.in_channels
        weight = None
        if not (full_out and full_in and start == 0):
            w = self.weight
            stride = w.stride()
            size = (ch_out, w.shape[1] if self.depthwise else ch_in, k, k)
            weight = (size, stride, w.storage_offset() + start * (stride[2] + stride[3]))
        bias = None if full_out else slice(0, ch_out)
        return weight, bias, k // 2, ch_in if self.depthwise else 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The active window as one strided view (its geometry cached per setting): a small child's step is
        # mostly per-layer overhead, and slicing axis by axis costs up to four views and backward nodes.
        weight = self.weight
        key = (x.shape[1], self.active_out, self.active_kernel, weight.stride(), weight.storage_offset())
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = self._window(key[0])
        w_index, b_index, padding, groups = window
        if w_index is not None:
            weight = weight.as_strided(*w_index)
        bias = self.bias if b_index is None or self.bias is None else self.bias[b_index]
        return torch.conv2d(x, weight, bias, self.stride, padding, 1, groups)

    def active_state_dict(self, ch_in: int) -> dict[str, torch.Tensor]:
        """`weight` (and `bias`) of the active setting at `ch_in` input channels, as independent tensors."""
        weight, bias = self.sliced(ch_in)
        state = {"weight": weight.detach().clone(memory_format=torch.contiguous_format)}
        if bias is not None:
            state["bias"] = bias.detach().clone()
        return state


class ElasticBatchNorm2d(nn.BatchNorm2d):
    """BN over the input's first channels, its scale, shift and statistics sliced (once-for-all DynamicBatchNorm2d)."""

    _stat_views: tuple | None = None  # (ch, running_mean, running_var, their first ch channels)

    def _running_stats(self, ch: int) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Views of the running statistics' first `ch` channels, kept while the buffers are the same tensors."""
        mean, var, views = self.running_mean, self.running_var, self._stat_views
        if views is None or views[0] != ch or views[1] is not mean or views[2] is not var:
            views = (ch, mean, var, None if mean is None else mean[:ch], None if var is None else var[:ch])
            self._stat_views = views
        return views[3], views[4]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ch = x.shape[1]
        if ch == self.num_features:
            return super().forward(x)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # a cumulative average, as nn.BatchNorm2d does (BN recalibration)
                factor = 1.0 / float(self.num_batches_tracked)
        use_batch = self.training or self.running_mean is None
        if use_batch and x.shape[0] * x.shape[2] * x.shape[3] == 1:
            raise ValueError(f"expected more than 1 value per channel when training, got input of size {list(x.shape)}")
        mean, var = self._running_stats(ch)
        weight = None if self.weight is None else self.weight[:ch]
        bias = None if self.bias is None else self.bias[:ch]
        # torch.batch_norm, not F.batch_norm: the same kernel without its per-call Python checks
        return torch.batch_norm(x, weight, bias, mean, var, use_batch, factor, self.eps, False)

    def active_state_dict(self, ch: int) -> dict[str, torch.Tensor]:
        """The first `ch` channels' scale, shift and statistics, as a static BatchNorm2d(ch) holds them."""
        state = {}
        for name, value in self.state_dict().items():
            state[name] = (value if name == "num_batches_tracked" else value[:ch]).detach().clone()
        return state


class ElasticOp(nn.Module):
    """Base of the registered elastic ops: `activate` a child's static params (None skips the op)."""

    static_name = ""
    supernet_only = True  # a child is extracted as the static op; an elastic op never reaches a final network

    def __init__(self) -> None:
        super().__init__()
        self.active_params: dict[str, Any] | None = None
        self._activated_with: dict[str, Any] | None = None

    @property
    def is_active(self) -> bool:
        return self.active_params is not None

    def activate(self, params: dict[str, Any] | None) -> None:
        """Run as the static op with these params from now on; None makes the op pass its input through.

        Activating with the very dict it was last activated with does nothing (a cached child, again).
        """
        if params is not None and params is self._activated_with:
            return
        if params is not None:
            self._set_active(params)
        self.active_params = None if params is None else dict(params)
        self._activated_with = params

    def active_desc(self) -> OpDesc:
        """The static op of the active setting."""
        if self.active_params is None:
            raise ValueError(f"{type(self).__name__} is skipped in this child and has no static op")
        return OpDesc(name=self.static_name, params=dict(self.active_params))

    def active_state_dict(self) -> dict[str, torch.Tensor]:
        """The sliced weights of the active setting, keyed as the static op's state_dict."""
        raise NotImplementedError

    def _set_active(self, params: dict[str, Any]) -> None:
        raise NotImplementedError


def _prefixed(prefix: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v for k, v in state.items()}


@register_op("elastic_conv_bn_act")
class ElasticConvBnAct(ConvBnAct, ElasticOp):
    """conv_bn_act over the input's channels, with an elastic output width.

    Args: conv_bn_act's, the channels the largest a child may use.
    """

    static_name = "conv_bn_act"

    def make_layers(
        self, ch_in: int, ch_out: int, kernel: int, stride: int, act: str, depthwise: bool, affine: bool
    ) -> tuple[nn.Module, nn.Module, nn.Module]:
        self.fixed = {"kernel": kernel, "stride": stride, "act": act, **({"depthwise": True} if depthwise else {})}
        self.active_params = {"ch_in": ch_in, "ch_out": ch_out, **self.fixed}
        conv = ElasticConv2d(ch_in, ch_out, kernel, stride, depthwise=depthwise)
        return conv, ElasticBatchNorm2d(ch_out, affine=affine), make_act(act)

    def set_width(self, ch_in: int, ch_out: int, kernel: int | None = None) -> None:
        """Run at these widths (and kernel); what `activate` does with a static op's params."""
        kernel = self.fixed["kernel"] if kernel is None else kernel
        largest = (self.conv.out_channels, self.conv.kernel_size[0])
        if ch_out > largest[0] or kernel > largest[1]:
            raise ValueError(f"ch_out {ch_out} or kernel {kernel} exceeds the largest, {largest[0]} and {largest[1]}")
        self.conv.active_out, self.conv.active_kernel = ch_out, kernel
        self.active_params = {"ch_in": ch_in, "ch_out": ch_out, **self.fixed, "kernel": kernel}

    def _set_active(self, params: dict[str, Any]) -> None:
        self.set_width(params["ch_in"], params["ch_out"], params.get("kernel"))

    def active_state_dict(self) -> dict[str, torch.Tensor]:
        ch_in, ch_out = self.active_params["ch_in"], self.active_params["ch_out"]
        return {
            **_prefixed("conv", self.conv.active_state_dict(ch_in)),
            **_prefixed("bn", self.bn.active_state_dict(ch_out)),
        }


class ElasticSqueezeExcite(SqueezeExcite):
    """SqueezeExcite over the input's channels with an elastic squeezed width (once-for-all DynamicSE)."""

    def make_conv(self, ch_in: int, ch_out: int) -> nn.Module:
        return ElasticConv2d(ch_in, ch_out, 1, bias=True)

    def set_width(self, ch: int, ch_se: int) -> None:
        self.reduce.active_out, self.expand.active_out = ch_se, ch

    def active_state_dict(self, ch: int) -> dict[str, torch.Tensor]:
        return {
            **_prefixed("reduce", self.reduce.active_state_dict(ch)),
            **_prefixed("expand", self.expand.active_state_dict(self.reduce.active_out)),
        }


@register_op("elastic_mbconv")
class ElasticMBConv(ElasticOp):
    """An MBConv block at its largest (width, kernel, expansion), run as any smaller `mbconv` or skipped.

    Args:
        ch_in: largest input channels.
        ch_out: largest output channels.
        kernel_sizes: the depthwise kernels a child may use; the weights have the largest.
        expansion_ratios: the expansion ratios a child may use; the weights have the largest.
        stride: stride of the depthwise conv.
        se: whether the block has squeeze-excite.
        act: activation after the expand and depthwise convs.
        has_expand: whether the block has its expand conv (False only when every ratio is 1).
        residual: whether the input is added (blocks after a stage's first; they can be skipped).
        divisor: channel counts are multiples of this.
        affine: whether the BNs learn scale and shift.
    """

    static_name = "mbconv"

    def __init__(
        self,
        ch_in: int,
        ch_out: int,
        kernel_sizes: list[int],
        expansion_ratios: list[int],
        stride: int = 1,
        se: bool = False,
        act: str = "relu",
        has_expand: bool = True,
        residual: bool = False,
        divisor: int = 8,
        affine: bool = True,
    ) -> None:
        super().__init__()
        if not has_expand and list(expansion_ratios) != [1]:
            raise ValueError(f"without an expand conv the expansion ratios must be [1], got {expansion_ratios}")
        fixed = {"divisor": divisor, "has_expand": has_expand, "residual": residual}
        largest = mbconv_params(ch_in, ch_out, max(kernel_sizes), max(expansion_ratios), stride, se, act, **fixed)
        check_mbconv(ch_in, largest["ch_mid"], ch_out, stride, has_expand, residual)
        mid, k = largest["ch_mid"], largest["kernel"]
        self.expand = ElasticConvBnAct(ch_in, mid, 1, act=act, affine=affine) if has_expand else None
        self.depthwise = ElasticConvBnAct(mid, mid, k, stride, act=act, depthwise=True, affine=affine)
        self.se = ElasticSqueezeExcite(mid, largest["ch_se"]) if se else None
        self.project = ElasticConvBnAct(mid, ch_out, 1, act="none", affine=affine)
        self.residual = residual
        self.kernel_sizes, self.largest = list(kernel_sizes), largest
        self.activate(largest)

    def _set_active(self, params: dict[str, Any]) -> None:
        ch_in, mid, ch_out = params["ch_in"], params["ch_mid"], params["ch_out"]
        if params["kernel"] not in self.kernel_sizes or mid > self.largest["ch_mid"] or ch_out > self.largest["ch_out"]:
            raise ValueError(f"setting {params} does not fit the block's largest {self.largest}")
        if self.expand is not None:
            self.expand.set_width(ch_in, mid)
        self.depthwise.set_width(mid, mid, params["kernel"])
        if self.se is not None:
            self.se.set_width(mid, params["ch_se"])
        self.project.set_width(mid, ch_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.active_params is None:  # a skipped block: elastic depth (its residual makes it the identity)
            return x
        return MBConv.forward(self, x)  # the same submodules, by the same names, as the static block

    def active_state_dict(self) -> dict[str, torch.Tensor]:
        state = {}
        if self.expand is not None:
            state.update(_prefixed("expand", self.expand.active_state_dict()))
        state.update(_prefixed("depthwise", self.depthwise.active_state_dict()))
        if self.se is not None:
            state.update(_prefixed("se", self.se.active_state_dict(self.active_params["ch_mid"])))
        state.update(_prefixed("project", self.project.active_state_dict()))
        return state


@register_op("elastic_linear")
class ElasticLinear(ElasticOp):
    """Flatten, then a linear layer over the input's first features (once-for-all DynamicLinear).

    Args:
        ch_in: largest input features.
        ch_out: output features (classes).
    """

    static_name = "linear"

    def __init__(self, ch_in: int, ch_out: int) -> None:
        super().__init__()
        self.linear = nn.Linear(ch_in, ch_out)
        self.active_params = {"ch_in": ch_in, "ch_out": ch_out}

    def _set_active(self, params: dict[str, Any]) -> None:
        if params["ch_in"] > self.linear.in_features or params["ch_out"] != self.linear.out_features:
            raise ValueError(f"setting {params} does not fit {self.linear.in_features} -> {self.linear.out_features}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        ch = x.shape[1]
        weight = self.linear.weight if ch == self.linear.in_features else self.linear.weight[:, :ch]
        return F.linear(x, weight, self.linear.bias)

    def active_state_dict(self) -> dict[str, torch.Tensor]:
        ch = self.active_params["ch_in"]
        return {"weight": self.linear.weight[:, :ch].detach().clone(), "bias": self.linear.bias.detach().clone()}
