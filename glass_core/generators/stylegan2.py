"""StyleGAN2 config-f behind the project's Generator protocol (kind 'stylegan2').

Genome: z, `z_dim` reals drawn from a standard normal as in the paper. The bounds
(-10, 10) are the paper code's (`xl=-10, xu=10` in its StyleGAN2 configs); since the
mapping network first rescales z to unit root-mean-square, only z's direction matters and
the bounds merely keep mutation from drifting without limit.

Truncation defaults to psi = 1.0 (none), as in the paper's code, which calls G(z) plainly;
psi < 1 trades diversity for typicality and can be set per preset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from glass_core.compiled import MIN_COMPILED_BATCH
from glass_core.generators.base import LatentSpace, Location, genome_batches, pad_rows, to_pil
from glass_core.graphs import GraphedForward, graph_for
from glass_core.nets.stylegan2 import ops
from glass_core.nets.stylegan2.convert import Networks, convert, load_file, to_device
from glass_core.nets.stylegan2.networks import NOISE_MODES
from glass_core.options import check_options
from glass_core.downloads import url_file, verify

Crop = tuple[float, float, float, float]  # (top, left, bottom, right) as fractions of the side
Z_BOUNDS = (-10.0, 10.0)
_NGC = "https://api.ngc.nvidia.com/v2/models/nvidia/research/stylegan2/versions/1/files"
_CDN = "https://nvlabs-fi-cdn.nvidia.com/stylegan2/networks"
# The older mirror of the same files in StyleGAN2's own pretrained_networks.py (gdrive_urls:
# 'gdrive:networks/stylegan2-<name>-config-f.pkl' -> this address); tried last.
_CLOUDFRONT = "http://d36zk2xti64re0.cloudfront.net/stylegan2/networks"


@dataclass(frozen=True)
class NetworkInfo:
    """An official network: accepted file names, where to download it, and what part to show."""

    files: tuple[str, ...]  # any of these in weights/stylegan2/ is used, first found wins
    url: str  # download address; the file is saved under its own name
    crop: Crop | None = None
    mirrors: tuple[str, ...] = ()  # tried in order after `url`, each saved under its own name

    @property
    def urls(self) -> tuple[str, ...]:
        """Every download address, in the order tried."""
        return (self.url, *self.mirrors)


NETWORKS: dict[str, NetworkInfo] = {
    # The 2021 PyTorch re-release (stylegan3 README) is on NVIDIA's NGC; the TF original also works.
    # The TF original is also at the CDN (the "pretrained FFHQ model", 373 MB, linked from READMEs
    # that use StyleGAN2) and at the older cloudfront mirror.
    "ffhq": NetworkInfo(("stylegan2-ffhq-config-f.pkl", "stylegan2-ffhq-1024x1024.pkl"),
                        f"{_NGC}/stylegan2-ffhq-1024x1024.pkl",
                        mirrors=(f"{_CDN}/stylegan2-ffhq-config-f.pkl", f"{_CLOUDFRONT}/stylegan2-ffhq-config-f.pkl")),
    # LSUN car was trained on 512x384 photos centred on a black 512x512 canvas (rows 64-448,
    # StyleGAN2 dataset_tool.py create_lsun_wide), so only that band is shown and scored.
    "car": NetworkInfo(("stylegan2-car-config-f.pkl",), f"{_CDN}/stylegan2-car-config-f.pkl",
                       crop=(64 / 512, 0.0, 448 / 512, 1.0), mirrors=(f"{_CLOUDFRONT}/stylegan2-car-config-f.pkl",)),
    "church": NetworkInfo(("stylegan2-church-config-f.pkl",), f"{_CDN}/stylegan2-church-config-f.pkl",
                          mirrors=(f"{_CLOUDFRONT}/stylegan2-church-config-f.pkl",)),
}


class StyleGAN2Generator:
    """Genome = z -> image in [0, 1], optionally rendered small for scoring; D logits on request."""

    modality = "image"
    has_discriminator = True

    def __init__(self, nets: Networks, device: torch.device, truncation_psi: float = 1.0,
                 truncation_cutoff: int | None = None, noise_mode: str = "const",
                 score_resolution: int | None = None, crop: Crop | None = None, max_batch: int = 8,
                 static: bool = False):
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        nets = to_device(nets, device)
        self.nets, self.G, self.D, self.device = nets, nets.G, nets.D, device
        self.resolution = nets.G.cfg.img_resolution
        self.psi, self.cutoff, self.noise_mode = float(truncation_psi), truncation_cutoff, noise_mode
        self._score_resolution = _check_score_resolution(score_resolution, self.G.synthesis.block_resolutions)
        self.crop = _check_crop(crop)
        self.max_batch = max_batch
        # Population chunks padded to max_batch rows and, on CUDA, replayed as captured graphs.
        self._static = static
        self._graphed = GraphedForward(self.G, graph_for(device))
        self.latent = LatentSpace(n_real=nets.G.cfg.z_dim, real_bounds=Z_BOUNDS, real_init="normal")

    @property
    def score_resolution(self) -> int | None:
        """The resolution CLIP scores at (None: full); the picture shown is always full size."""
        return self._score_resolution

    @property
    def static(self) -> bool:
        """Whether population chunks have one fixed shape and, on CUDA, replay a captured graph."""
        return self._static

    @property
    def speed_options(self) -> dict[str, int | bool | None]:
        """The options this generator was built with (glass_core.options)."""
        return {"score_resolution": self._score_resolution, "static": self._static}

    def with_options(self, **options: int | bool | None) -> StyleGAN2Generator:
        """A generator over the same networks with some speed options changed."""
        check_options(self, options)
        res = options.get("score_resolution", self._score_resolution)
        return StyleGAN2Generator(self.nets, self.device, self.psi, self.cutoff, self.noise_mode, res, self.crop,
                                  self.max_batch, static=options.get("static", self._static))

    @torch.inference_mode()
    def render(self, genomes: np.ndarray, resolution: int | None = None) -> torch.Tensor:
        """Uncropped images in the network's [-1, 1] range, at `resolution` (default: full)."""
        stop = None if resolution in (None, self.resolution) else resolution
        genomes = np.atleast_2d(genomes)
        fixed = self._static and len(genomes) >= MIN_COMPILED_BATCH  # the picture shown stays eager
        outs = []
        for batch in genome_batches(genomes, self.max_batch):
            rows = pad_rows(batch, self.max_batch) if fixed else batch
            z = torch.as_tensor(rows[:, self.latent.reals], dtype=torch.float32, device=self.device)
            net = self._graphed if fixed else self.G
            outs.append(net(z, self.psi, self.cutoff, self.noise_mode, stop)[:len(batch)])
        return torch.cat(outs)

    def generate(self, genomes: np.ndarray) -> torch.Tensor:
        """What CLIP scores: (N, 3, H, W) in [0, 1], at `score_resolution` when set, cropped."""
        return self._crop(to_unit(self.render(genomes, self.score_resolution)))

    def generate_differentiable(self, reals: torch.Tensor, genomes: np.ndarray) -> torch.Tensor:
        """As `generate`, but differentiable in `reals` (N, z_dim): the gradient steps of glass_core.gradient."""
        stop = None if self.score_resolution in (None, self.resolution) else self.score_resolution
        images = self.G(reals.float(), self.psi, self.cutoff, self.noise_mode, stop)
        return self._crop(to_unit(images))

    def show(self, genomes: np.ndarray) -> list[Image.Image]:
        """What a person sees: full-resolution images, cropped like the scored ones."""
        return to_pil(self._crop(to_unit(self.render(genomes))))

    @torch.inference_mode()
    def discriminate(self, images: torch.Tensor) -> torch.Tensor:
        """Realism logits (N,) for images from `generate`, any of its sizes.

        A cropped image goes back onto the black canvas the network was trained with; an image
        smaller than D's input is upsampled with the generator's own [1,3,3,1] filter, which is
        how the skip architecture carries its low-resolution RGB upward. D then judges the image
        without its finest details, and still costs a full-resolution pass.
        """
        x = images.to(self.device, torch.float32) * 2 - 1
        if self.crop is not None:
            x = _uncrop(x, self.crop)
        x = ops.upsample_to(x, self.D.cfg.img_resolution, self.G.synthesis.resample_filter)
        logits = [self.D(chunk) for chunk in x.split(self._d_batch(len(x)))]
        return torch.cat(logits).reshape(-1)

    def _d_batch(self, n: int) -> int:
        """Chunk size for D: a multiple of its minibatch-stddev group so groups stay whole."""
        g = self.D.cfg.mbstd_group_size or n
        return max(g, (self.max_batch // g) * g) if n > self.max_batch else n

    def _crop(self, images: torch.Tensor) -> torch.Tensor:
        """The configured band of each image."""
        if self.crop is None:
            return images
        top, left, bottom, right = _crop_pixels(self.crop, images.shape[-1])
        return images[:, :, top:bottom, left:right]


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """Network range [-1, 1] to [0, 1], clipped."""
    return ((images.float() + 1) / 2).clamp(0, 1)


def _crop_pixels(crop: Crop, side: int) -> tuple[int, int, int, int]:
    """Fractions to whole pixels of a square image with the given side."""
    top, left, bottom, right = (int(round(c * side)) for c in crop)
    return top, left, bottom, right


def _uncrop(x: torch.Tensor, crop: Crop) -> torch.Tensor:
    """Paste cropped images into a black (-1) square canvas at their original place."""
    _, left, _, right = crop
    side = int(round(x.shape[-1] / (right - left)))
    canvas = torch.full((x.shape[0], x.shape[1], side, side), -1.0, device=x.device)
    pt, pl, pb, pr = _crop_pixels(crop, side)
    canvas[:, :, pt:pb, pl:pr] = x
    return canvas


def _check_score_resolution(res: int | None, allowed: Sequence[int]) -> int | None:
    """None (score at full size) or one of the synthesis block resolutions."""
    if res is None or res == allowed[-1]:
        return None
    if res not in allowed:
        raise ValueError(f"score_resolution must be one of {list(allowed)} or None, got {res}")
    return int(res)


def _check_crop(crop: Sequence[float] | None) -> Crop | None:
    """(top, left, bottom, right) fractions with 0 <= top < bottom <= 1 and likewise for columns."""
    if crop is None:
        return None
    top, left, bottom, right = (float(c) for c in crop)
    if not (0 <= top < bottom <= 1 and 0 <= left < right <= 1):
        raise ValueError(f"crop must be (top, left, bottom, right) fractions of the image, got {crop}")
    return top, left, bottom, right


def resolve_weights(weights_root: Path, network: str) -> Path:
    """weights/stylegan2/<network>.safetensors, else convert a pickle found there or downloaded."""
    if network not in NETWORKS:
        raise ValueError(f"Unknown StyleGAN2 network {network!r}; known: {', '.join(NETWORKS)}")
    info, folder = NETWORKS[network], Path(weights_root) / "stylegan2"
    converted = folder / f"{network}.safetensors"
    if converted.is_file() and converted.with_suffix(".json").is_file():
        return converted
    what = f"StyleGAN2 {network} ({' or '.join(info.files)})"
    for name in info.files:
        if (folder / name).is_file():
            verify(folder / name, what)  # against the SHA-256 recorded when glass downloaded it
            return convert(folder / name, folder, network)
    pickle = url_file(info.urls, folder / info.url.rsplit("/", 1)[1], what)
    return convert(pickle, folder, network)


_DEFAULT: Any = "network"


def load(device: torch.device, weights_root: Path, network: str = "ffhq", path: str | Path | None = None,
         truncation_psi: float = 1.0, truncation_cutoff: int | None = None, noise_mode: str = "const",
         score_resolution: int | None = None, crop: Sequence[float] | None = _DEFAULT,
         max_batch: int = 8, static: bool = False) -> StyleGAN2Generator:
    """Registry factory for kind 'stylegan2'.

    `path` (a pickle or converted safetensors) overrides the network lookup; `crop` defaults to
    the network's own band (the car's) and to none for an explicit `path`.
    """
    if crop is _DEFAULT:
        crop = None if path is not None else NETWORKS.get(network, NetworkInfo((), "")).crop
    file = Path(path) if path is not None else resolve_weights(Path(weights_root), network)
    nets = load_file(file)
    return StyleGAN2Generator(nets, torch.device(device), truncation_psi, truncation_cutoff, noise_mode,
                              score_resolution, crop, max_batch, static=static)


def locate(weights_root: Path, network: str = "ffhq", path: str | Path | None = None, **_: Any) -> Location:
    """Where `load` would find the network (converted file or an official pickle), without loading it."""
    if path is not None:  # an explicit file has no download source
        return Location(Path(path).is_file(), False, Path(path))
    folder = Path(weights_root) / "stylegan2"
    info = NETWORKS.get(network)
    if info is None:
        return Location(False, False, folder)
    converted = folder / f"{network}.safetensors"
    if converted.is_file() and converted.with_suffix(".json").is_file():
        return Location(True, True, converted)
    found = [folder / f for f in info.files if (folder / f).is_file()]
    return Location(bool(found), True, found[0] if found else folder / info.files[0])


# The official config-f networks: FFHQ at 1024, LSUN car at 512 (a 512x384 band), church at 256.
FULL_RESOLUTION = {"ffhq": 1024, "car": 512, "church": 256}


def random_weights(device: torch.device, network: str = "ffhq", **options: Any) -> StyleGAN2Generator:
    """Config-f G and D at the network's full size with random weights, for speed measurements."""
    from glass_core.nets.stylegan2.discriminator import Discriminator, DiscriminatorConfig
    from glass_core.nets.stylegan2.networks import Generator, GeneratorConfig

    res = FULL_RESOLUTION[network]
    channels = {2 ** i: min(32768 // 2 ** i, 512) for i in range(2, res.bit_length())}  # config-f widths
    torch.manual_seed(0)
    g = Generator(GeneratorConfig(z_dim=512, w_dim=512, img_resolution=res, img_channels=3, channels=channels))
    d = Discriminator(DiscriminatorConfig(img_resolution=res, img_channels=3, channels=channels))
    return StyleGAN2Generator(Networks(g, d, "random"), device, crop=NETWORKS[network].crop, **options)
