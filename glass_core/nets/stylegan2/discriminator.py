"""The config-f StyleGAN2 discriminator: resnet blocks, minibatch-stddev, dense epilogue.

Parameter names match NVIDIA's stylegan2-ada-pytorch (`b64.conv1.weight`, `b4.fc.bias`, ...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from glass_core.nets.stylegan2 import ops
from glass_core.nets.stylegan2.networks import FullyConnected


@dataclass
class DiscriminatorConfig:
    """Every number needed to build a discriminator; all derived from a weights file."""

    img_resolution: int
    img_channels: int
    channels: dict[int, int]  # resolution -> feature maps entering the block at that resolution
    mbstd_group_size: int | None = 4
    mbstd_num_channels: int = 1
    conv_clamp: float | None = None
    resample_filter: list[list[float]] = field(default_factory=lambda: ops.setup_filter([1, 3, 3, 1]).tolist())

    @property
    def block_resolutions(self) -> list[int]:
        """img_resolution, ..., 8 (the 4x4 stage is the epilogue)."""
        return [2 ** i for i in range(int(math.log2(self.img_resolution)), 2, -1)]


class Conv2dLayer(nn.Module):
    """Equalised-lr convolution with optional 2x FIR downsampling, bias, activation and clamp."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, bias: bool = True, activation: str = "lrelu",
                 down: int = 1, conv_clamp: float | None = None):
        super().__init__()
        self.activation, self.down, self.conv_clamp = activation, down, conv_clamp
        self.padding = kernel // 2
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_ch)) if bias else None
        self.weight_gain = 1 / math.sqrt(in_ch * kernel * kernel)

    def forward(self, x: torch.Tensor, f: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        """Convolve (and downsample), then bias, activation times gain, clamp times gain."""
        x = ops.conv2d_resample(x, self.weight * self.weight_gain, f, down=self.down, padding=self.padding)
        act_gain = (ops.LRELU_GAIN if self.activation == "lrelu" else 1.0) * gain
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return ops.bias_act(x, self.bias, act=self.activation, gain=act_gain, clamp=clamp)


class DiscriminatorBlock(nn.Module):
    """Residual block: two 3x3 convs (the second downsamples) plus a 1x1 downsampling skip."""

    def __init__(self, cfg: DiscriminatorConfig, res: int):
        super().__init__()
        self.first = res == cfg.img_resolution
        tmp, out = cfg.channels[res], cfg.channels[res // 2]
        if self.first:
            self.fromrgb = Conv2dLayer(cfg.img_channels, tmp, 1, conv_clamp=cfg.conv_clamp)
        self.conv0 = Conv2dLayer(tmp, tmp, 3, conv_clamp=cfg.conv_clamp)
        self.conv1 = Conv2dLayer(tmp, out, 3, down=2, conv_clamp=cfg.conv_clamp)
        self.skip = Conv2dLayer(tmp, out, 1, bias=False, activation="linear", down=2)

    def forward(self, x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        """Features at half the resolution; both paths scaled by sqrt(1/2) to keep the variance."""
        if self.first:
            x = self.fromrgb(x, f)
        y = self.skip(x, f, gain=math.sqrt(0.5))
        x = self.conv1(self.conv0(x, f), f, gain=math.sqrt(0.5))
        return y + x


class MinibatchStd(nn.Module):
    """Appends the mean standard deviation across a group of samples as extra feature maps."""

    def __init__(self, group_size: int | None, num_channels: int):
        super().__init__()
        self.group_size, self.num_channels = group_size, num_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[N, C, H, W] -> [N, C + F, H, W]."""
        n = x.shape[0]
        g = min(self.group_size, n) if self.group_size is not None else n
        if n % g:
            # The reference requires N divisible by the group size; rather than fail on a
            # ragged population, the leftover samples form one smaller group of their own.
            cut = n - n % g
            return torch.cat([self._stats(x[:cut], g), self._stats(x[cut:], n - cut)])
        return self._stats(x, g)

    def _stats(self, x: torch.Tensor, g: int) -> torch.Tensor:
        """Group statistic with sample i in group i mod (N / g), as in the reference."""
        n, c, h, w = x.shape
        f = self.num_channels
        y = x.reshape(g, -1, f, c // f, h, w)
        y = (y - y.mean(dim=0)).square().mean(dim=0)
        y = (y + 1e-8).sqrt().mean(dim=[2, 3, 4])
        y = y.reshape(-1, f, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)


class Epilogue(nn.Module):
    """4x4 stage: minibatch-stddev, 3x3 conv, dense, dense to one logit."""

    def __init__(self, cfg: DiscriminatorConfig):
        super().__init__()
        ch = cfg.channels[4]
        self.mbstd = MinibatchStd(cfg.mbstd_group_size, cfg.mbstd_num_channels)
        self.conv = Conv2dLayer(ch + cfg.mbstd_num_channels, ch, 3, conv_clamp=cfg.conv_clamp)
        self.fc = FullyConnected(ch * 16, ch, activation="lrelu")
        self.out = FullyConnected(ch, 1)

    def forward(self, x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        """[N, C, 4, 4] -> [N, 1] logits."""
        if self.mbstd.num_channels > 0:
            x = self.mbstd(x)
        x = self.conv(x, f)
        return self.out(self.fc(x.flatten(1)))


class Discriminator(nn.Module):
    """Image in [-1, 1] -> realism logit (higher = more real)."""

    def __init__(self, cfg: DiscriminatorConfig):
        super().__init__()
        self.cfg = cfg
        for res in cfg.block_resolutions:
            setattr(self, f"b{res}", DiscriminatorBlock(cfg, res))
        self.b4 = Epilogue(cfg)
        self.register_buffer("resample_filter", torch.tensor(cfg.resample_filter), persistent=False)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        """(N, C, R, R) at the training resolution -> (N, 1)."""
        x = img.float()
        for res in self.cfg.block_resolutions:
            x = getattr(self, f"b{res}")(x, self.resample_filter)
        return self.b4(x, self.resample_filter)
