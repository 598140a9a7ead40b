"""The config-f StyleGAN2 generator: mapping network, skip-architecture synthesis, truncation.

Parameter names match NVIDIA's stylegan2-ada-pytorch state dicts (`mapping.fc0.weight`,
`synthesis.b64.conv0.affine.bias`, ...) so that a converted file maps one to one. Every shape
comes from a `GeneratorConfig`, which `layout.py` derives from the weights themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, get_args

import torch
from torch import nn

from glass_core.nets.stylegan2 import ops

NoiseMode = Literal["const", "random", "none"]  # stored buffers (reproducible) | fresh | no noise
NOISE_MODES: tuple[str, ...] = get_args(NoiseMode)


@dataclass
class GeneratorConfig:
    """Every number needed to build a generator; all derived from a weights file."""

    z_dim: int
    w_dim: int
    img_resolution: int
    img_channels: int
    channels: dict[int, int]  # resolution -> feature maps of the block at that resolution
    mapping_layers: int = 8
    mapping_features: int | None = None  # hidden width of the mapping MLP (None = w_dim)
    lr_multiplier: float = 0.01
    conv_clamp: float | None = None
    resample_filter: list[list[float]] = field(default_factory=lambda: ops.setup_filter([1, 3, 3, 1]).tolist())

    @property
    def block_resolutions(self) -> list[int]:
        """4, 8, ..., img_resolution."""
        return [2 ** i for i in range(2, int(math.log2(self.img_resolution)) + 1)]

    @property
    def num_ws(self) -> int:
        """Number of per-layer w vectors: one per conv plus the last ToRGB."""
        return 1 + 2 * (len(self.block_resolutions) - 1) + 1


class FullyConnected(nn.Module):
    """Dense layer with equalised learning rate (runtime weight scaling by lr_mul / sqrt(fan_in))."""

    def __init__(self, in_features: int, out_features: int, activation: str = "linear",
                 lr_multiplier: float = 1.0, bias_init: float = 0.0):
        super().__init__()
        self.activation = activation
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init)))
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x @ W^T * gain, plus bias, then the activation."""
        x = x.matmul((self.weight * self.weight_gain).t())
        return ops.bias_act(x, self.bias * self.bias_gain, act=self.activation)


class MappingNetwork(nn.Module):
    """z -> w: normalise z, then an MLP of `mapping_layers` leaky-ReLU layers; tracks w_avg."""

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        self.num_layers, self.num_ws = cfg.mapping_layers, cfg.num_ws
        hidden = cfg.mapping_features or cfg.w_dim
        feats = [cfg.z_dim] + [hidden] * (cfg.mapping_layers - 1) + [cfg.w_dim]
        for i in range(cfg.mapping_layers):
            setattr(self, f"fc{i}", FullyConnected(feats[i], feats[i + 1], "lrelu", cfg.lr_multiplier))
        self.register_buffer("w_avg", torch.zeros(cfg.w_dim))

    def forward(self, z: torch.Tensor, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None) -> torch.Tensor:
        """(N, z_dim) -> (N, num_ws, w_dim), truncated towards w_avg when psi != 1."""
        x = ops.normalize_2nd_moment(z.float())
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        x = x.unsqueeze(1).repeat(1, self.num_ws, 1)
        if truncation_psi != 1:
            cut = self.num_ws if truncation_cutoff is None else truncation_cutoff
            x[:, :cut] = self.w_avg.lerp(x[:, :cut], truncation_psi)
        return x


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv (optionally 2x up) with demodulation, noise input, bias and lrelu."""

    def __init__(self, in_ch: int, out_ch: int, w_dim: int, resolution: int, up: int,
                 conv_clamp: float | None):
        super().__init__()
        self.up, self.resolution, self.conv_clamp = up, resolution, conv_clamp
        self.affine = FullyConnected(w_dim, in_ch, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, 3, 3))
        self.bias = nn.Parameter(torch.zeros(out_ch))
        self.register_buffer("noise_const", torch.randn(resolution, resolution))
        self.noise_strength = nn.Parameter(torch.zeros([]))

    def forward(self, x: torch.Tensor, w: torch.Tensor, f: torch.Tensor, noise_mode: NoiseMode) -> torch.Tensor:
        """Style from w, convolve, add scaled noise, bias, activation, clamp."""
        styles = self.affine(w)
        # The reference correlates at 1x and truly convolves when upsampling; kept for exactness.
        x = ops.modulated_conv2d(x, self.weight, styles, up=self.up, padding=1, resample_filter=f,
                                 flip_weight=(self.up == 1))
        add = self.bias.reshape(1, -1, 1, 1)
        if noise_mode == "random":
            shape = (x.shape[0], 1, self.resolution, self.resolution)
            add = add + torch.randn(shape, device=x.device) * self.noise_strength
        elif noise_mode == "const":
            add = add + self.noise_const * self.noise_strength
        # One fused pass for demodulate + noise + bias; the activation gain is folded in
        # beforehand because lrelu(g * v) = g * lrelu(v) for g > 0 (saves two full passes).
        gain = ops.LRELU_GAIN
        d = ops.demodulation(self.weight, styles) * gain
        x = torch.addcmul(add * gain, x, d.reshape(d.shape[0], -1, 1, 1))
        if torch.is_grad_enabled():  # gradient steps (glass_core.gradient): in place would break backward
            x = torch.nn.functional.leaky_relu(x, ops.LRELU_SLOPE)
            return x.clamp(-self.conv_clamp, self.conv_clamp) if self.conv_clamp is not None else x
        x = torch.nn.functional.leaky_relu_(x, ops.LRELU_SLOPE)
        return x.clamp_(-self.conv_clamp, self.conv_clamp) if self.conv_clamp is not None else x


class ToRGB(nn.Module):
    """Modulated 1x1 conv to RGB without demodulation."""

    def __init__(self, in_ch: int, out_ch: int, w_dim: int, conv_clamp: float | None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnected(w_dim, in_ch, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, 1, 1))
        self.bias = nn.Parameter(torch.zeros(out_ch))
        self.weight_gain = 1 / math.sqrt(in_ch)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """RGB contribution of this block."""
        styles = self.affine(w) * self.weight_gain
        x = ops.modulated_conv2d(x, self.weight, styles)
        return ops.bias_act(x, self.bias, clamp=self.conv_clamp)


class SynthesisBlock(nn.Module):
    """One resolution of the skip architecture: (const | up-conv), conv, ToRGB added to the image."""

    def __init__(self, cfg: GeneratorConfig, res: int):
        super().__init__()
        self.res = res
        out_ch = cfg.channels[res]
        if res == 4:
            self.const = nn.Parameter(torch.randn(out_ch, 4, 4))
        else:
            self.conv0 = SynthesisLayer(cfg.channels[res // 2], out_ch, cfg.w_dim, res, 2, cfg.conv_clamp)
        self.conv1 = SynthesisLayer(out_ch, out_ch, cfg.w_dim, res, 1, cfg.conv_clamp)
        self.torgb = ToRGB(out_ch, cfg.img_channels, cfg.w_dim, cfg.conv_clamp)
        self.num_conv = 1 if res == 4 else 2

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, ws: torch.Tensor,
                f: torch.Tensor, noise_mode: NoiseMode) -> tuple[torch.Tensor, torch.Tensor]:
        """Features and running RGB image at this resolution."""
        if self.res == 4:
            x = self.const.unsqueeze(0).repeat(ws.shape[0], 1, 1, 1)
            x = self.conv1(x, ws[:, 0], f, noise_mode)
        else:
            x = self.conv0(x, ws[:, 0], f, noise_mode)
            x = self.conv1(x, ws[:, 1], f, noise_mode)
        y = self.torgb(x, ws[:, self.num_conv])
        img = y if img is None else ops.upsample2d(img, f) + y
        return x, img


class SynthesisNetwork(nn.Module):
    """ws -> image; can stop early and return the skip architecture's RGB at a lower resolution."""

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        self.block_resolutions = cfg.block_resolutions
        for res in self.block_resolutions:
            setattr(self, f"b{res}", SynthesisBlock(cfg, res))
        self.register_buffer("resample_filter", torch.tensor(cfg.resample_filter), persistent=False)

    def forward(self, ws: torch.Tensor, noise_mode: NoiseMode = "const",
                stop_at: int | None = None) -> torch.Tensor:
        """Image in the network's [-1, 1] range at full resolution, or at `stop_at` if given."""
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        if stop_at is not None and stop_at not in self.block_resolutions:
            raise ValueError(f"stop_at must be one of {self.block_resolutions}, got {stop_at}")
        x = img = None
        w_idx = 0
        for res in self.block_resolutions:
            block = getattr(self, f"b{res}")
            # Consecutive blocks share a w: a block's ToRGB uses the next block's first w.
            x, img = block(x, img, ws[:, w_idx: w_idx + block.num_conv + 1], self.resample_filter, noise_mode)
            w_idx += block.num_conv
            if res == stop_at:
                break
        return img


class Generator(nn.Module):
    """Mapping + synthesis, with truncation and the noise mode of the reference G(z, c)."""

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        self.cfg = cfg
        self.mapping = MappingNetwork(cfg)
        self.synthesis = SynthesisNetwork(cfg)

    def forward(self, z: torch.Tensor, truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
                noise_mode: NoiseMode = "const", stop_at: int | None = None) -> torch.Tensor:
        """(N, z_dim) latents to (N, C, H, W) images in about [-1, 1], not clipped."""
        ws = self.mapping(z, truncation_psi, truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode, stop_at=stop_at)
