"""BigGAN-deep (128/256/512) from pytorch-pretrained-biggan: 128 reals + 1000 class genes."""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from glass_core.compiled import CompiledForward
from glass_core.errors import MissingWeightsError, UnsafeFileError
from glass_core.generators.base import LatentSpace, Location, to_pil
from glass_core.generators.classes import bits_to_class_vector
from glass_core.graphs import GraphedForward, graph_for
from glass_core.options import check_options
from glass_core.downloads import Source, fetch_files, verify

# The library's own download addresses (pytorch_pretrained_biggan.model, PRETRAINED_*_MAP).
_S3 = "https://s3.amazonaws.com/models.huggingface.co/biggan"
MODELS = ("biggan-deep-128", "biggan-deep-256", "biggan-deep-512")

# Copies of the same checkpoints on the Hugging Face hub, tried after S3: {model: repository}.
# osanseviero/BigGAN-deep-128 holds config.json (630 B) and pytorch_model.bin (211 MB, a state
# dict whose only pickle imports are OrderedDict / FloatStorage / _rebuild_tensor_v2), with
# pytorch-pretrained-biggan in its requirements.txt: the library's biggan-deep-128 files
# (https://huggingface.co/osanseviero/BigGAN-deep-128/tree/main, seen through the docs search).
# No hub copy of biggan-deep-256 or -512 was found, so those have S3 only.
HUB_MIRRORS = {"biggan-deep-128": "osanseviero/BigGAN-deep-128"}
_HUB = "https://huggingface.co"


class BigGANGenerator:
    """Genome [z (128 reals in [-2, 2]) | 1000 class bits] -> image in [0, 1]."""

    modality = "image"
    has_discriminator = False  # DeepMind never released BigGAN's discriminator

    def __init__(self, model: torch.nn.Module, device: torch.device, truncation: float = 1.0, *,
                 channels_last: bool = True, compile: bool = False, static: bool = False):
        self.model = model.eval().requires_grad_(False).to(device)
        self._channels_last = channels_last
        self._compile = compile  # population batches through torch.compile (glass_core.compiled)
        self._compiled = CompiledForward(self.model)
        # Fixed-shape population batches (the evaluator pads them) replayed as CUDA graphs; eager off CUDA.
        self._static = static
        self._graphed = GraphedForward(self._compiled if compile else self.model, graph_for(device))
        self.device = device
        self.truncation = truncation
        cfg = model.config
        self.latent = LatentSpace(
            n_real=cfg.z_dim, real_bounds=(-2.0, 2.0), real_init="truncnorm",
            n_bits=cfg.num_classes, bit_init_prob=5 / 1000,
        )
        self._memory_format()

    @property
    def channels_last(self) -> bool:
        """Whether convolutions run on channels-last tensors (same numbers, faster on CPU)."""
        return self._channels_last

    @property
    def compile(self) -> bool:
        """Whether population batches go through torch.compile."""
        return self._compile

    @property
    def static(self) -> bool:
        """Whether population batches have one fixed shape and, on CUDA, replay a captured graph."""
        return self._static

    @property
    def speed_options(self) -> dict[str, bool]:
        """The options this generator was built with (glass_core.options)."""
        return {"channels_last": self._channels_last, "compile": self._compile, "static": self._static}

    def with_options(self, **options: bool) -> BigGANGenerator:
        """A generator over the same network with some speed options changed."""
        check_options(self, options)
        return BigGANGenerator(self.model, self.device, self.truncation, **(self.speed_options | options))

    def _memory_format(self) -> None:
        """Put the shared network's weights in this generator's layout, if another left them otherwise.

        Channels-last gives the same numbers with faster convolutions on CPU (the 'glass' row of
        benchmarks/bench-cpu.md). Two generators over one network (a benchmark's paper and glass
        paths) take turns; a converted network is marked, so this is a no-op on every other call.
        """
        fmt = torch.channels_last if self._channels_last else torch.contiguous_format
        if getattr(self.model, "_glass_memory_format", None) != fmt:
            self.model.to(memory_format=fmt)
            self.model._glass_memory_format = fmt

    def _inputs(self, genomes: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.as_tensor(genomes[:, self.latent.reals], dtype=torch.float32, device=self.device)
        classes = bits_to_class_vector(genomes[:, self.latent.bits], empty="uniform")
        return z * self.truncation, torch.as_tensor(classes, device=self.device)

    @torch.inference_mode()
    def generate(self, genomes: np.ndarray) -> torch.Tensor:
        """(N, 3, S, S) images in [0, 1]."""
        self._memory_format()
        z, classes = self._inputs(genomes)
        net = self._graphed if self._static else self._compiled if self._compile else self.model
        return (net(z, classes, self.truncation).float() + 1) / 2

    def generate_differentiable(self, reals: torch.Tensor, genomes: np.ndarray) -> torch.Tensor:
        """As `generate`, but differentiable in `reals` (N, 128); the class genes come from `genomes`."""
        classes = torch.as_tensor(bits_to_class_vector(genomes[:, self.latent.bits], empty="uniform"),
                                  device=self.device)
        return (self.model(reals * self.truncation, classes, self.truncation).float() + 1) / 2

    def show(self, genomes: np.ndarray):
        """Full-resolution PIL images."""
        return to_pil(self.generate(genomes))

    def top_classes(self, genome: np.ndarray, k: int = 5) -> list[int]:
        """Indices of the ImageNet classes switched on in a genome (at most k)."""
        return [int(i) for i in np.flatnonzero(genome[self.latent.bits] > 0.5)[:k]]


def _state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Weights from safetensors, or from the library's .bin read as tensors only."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file
        return load_file(str(path))
    # weights_only refuses anything in the pickle but tensors and plain containers.
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise UnsafeFileError(f"Refused {path}: it holds more than tensors"
                              f" (it could run code when loaded). {str(err).splitlines()[0]}") from err


def build(config: Path, weights: Path) -> torch.nn.Module:
    """A BigGAN from its config.json and weights file, every key checked."""
    from pytorch_pretrained_biggan import BigGAN, BigGANConfig

    model = BigGAN(BigGANConfig.from_json_file(str(config)))
    # The library itself loads with strict=False and would silently keep random weights.
    missing, unexpected = model.load_state_dict(_state_dict(weights), strict=False)
    if missing or unexpected:
        raise MissingWeightsError(
            f"a complete BigGAN in {weights}",
            f"The checkpoint does not fit its config: {len(missing)} missing keys"
            f" (e.g. {missing[:2]}), {len(unexpected)} unexpected (e.g. {unexpected[:2]}).",
        )
    return model


def _library_cache(url: str) -> Path | None:
    """A file pytorch-pretrained-biggan downloaded earlier (named sha256(url)[.sha256(etag)])."""
    cache = Path(os.environ.get("PYTORCH_PRETRAINED_BIGGAN_CACHE", Path.home() / ".pytorch_pretrained_biggan"))
    stem = hashlib.sha256(url.encode()).hexdigest()
    hits = sorted(p for p in cache.glob(stem + "*") if not p.name.endswith(".json"))  # .json: metadata
    return hits[0] if hits else None


def find_local(model_name: str, weights_root: Path) -> tuple[Path, Path] | None:
    """(config, weights) already on disk: weights/biggan/<name>/, or the library's own cache."""
    if model_name not in MODELS:
        raise ValueError(f"Unknown BigGAN {model_name!r}; known: {', '.join(MODELS)}")
    folder = weights_root / "biggan" / model_name
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (folder / "config.json").is_file() and (folder / name).is_file():
            return folder / "config.json", folder / name
    cached = [_library_cache(u) for u in _urls(model_name)]
    return (cached[0], cached[1]) if cached[0] and cached[1] else None


def _urls(model_name: str) -> tuple[str, str]:
    return f"{_S3}/{model_name}-config.json", f"{_S3}/{model_name}-pytorch_model.bin"


def sources(model_name: str) -> list[Source]:
    """Where `model_name` can be downloaded, in the order tried: S3, then a hub copy if there is one."""
    found = [Source("pytorch-pretrained-biggan's S3", _urls(model_name))]
    if (repo := HUB_MIRRORS.get(model_name)) is not None:
        base = f"{_HUB}/{repo}/resolve/main"
        found.append(Source(f"Hugging Face hub {repo}", (f"{base}/config.json", f"{base}/pytorch_model.bin")))
    return found


def fetch(model_name: str, weights_root: Path) -> tuple[Path, Path]:
    """(config, weights) of `model_name`: on disk, else downloaded into weights/biggan/<name>/.

    A download is checked and recorded (glass_core.downloads.fetch_files), and a downloaded file
    is checked against that record on every later load.
    """
    what = f"BigGAN {model_name}"
    local = find_local(model_name, weights_root)
    if local is not None:
        for file in local:
            verify(file, what)
        return local
    folder = weights_root / "biggan" / model_name
    config, weights = fetch_files(sources(model_name), [folder / "config.json", folder / "pytorch_model.bin"], what)
    return config, weights


def load(device: torch.device, weights_root: Path, model: str = "biggan-deep-256",
         truncation: float = 1.0, channels_last: bool = True, compile: bool = False,
         static: bool = False) -> BigGANGenerator:
    """Registry factory for kind 'biggan'."""
    return BigGANGenerator(build(*fetch(model, weights_root)), device, truncation,
                           channels_last=channels_last, compile=compile, static=static)


def locate(weights_root: Path, model: str = "biggan-deep-256", **_: Any) -> Location:
    """Where `load` would find the weights (the loader's own lookup), without loading them."""
    if model not in MODELS:
        return Location(False, False, weights_root / "biggan")
    local = find_local(model, weights_root)
    return Location(local is not None, True, local[1] if local else weights_root / "biggan" / model)


# BigGAN-deep generator blocks (upsample?, in, out channel multipliers): two blocks per
# resolution, attention at 64x64 (Brock et al. 2019, BigGAN-deep architecture tables). These
# give 50.4M / 55.9M / 56.2M parameters and 22.6 / 77.7 / 151.5 GFLOP per image, matching the
# published sizes of biggan-deep-128/256/512.
_STAGES = [(16, 16), (16, 8), (8, 8), (8, 4), (4, 2), (2, 1), (1, 1)]
_SIZE_STAGES = {128: [0, 1, 3, 4, 5], 256: [0, 1, 2, 3, 4, 5], 512: [0, 1, 2, 3, 4, 5, 6]}


def full_size_layers(size: int) -> list[tuple[bool, int, int]]:
    """The block list of BigGAN-deep at `size`."""
    layers = []
    for stage in _SIZE_STAGES[size]:
        cin, cout = _STAGES[stage]
        layers += [(False, cin, cin), (True, cin, cout)]
    return layers


def random_weights(device: torch.device, model: str = "biggan-deep-256", truncation: float = 1.0,
                   **options: Any) -> BigGANGenerator:
    """BigGAN-deep at full size with random weights: speed does not depend on the weight values."""
    from pytorch_pretrained_biggan import BigGAN, BigGANConfig

    size = int(model.rsplit("-", 1)[1])
    torch.manual_seed(0)
    net = BigGAN(BigGANConfig(output_dim=size, layers=full_size_layers(size), attention_layer_position=8))
    calibrate_batch_norms(net)
    return BigGANGenerator(net, device, truncation, **options)


@torch.no_grad()
def calibrate_batch_norms(model: torch.nn.Module, n: int = 4) -> None:
    """Give a random BigGAN's fixed batch-norm statistics the values its activations really have.

    BigGAN normalises with stored statistics; left at mean 0 and variance 1 in a random network,
    activations grow block by block until they overflow to NaN. One pass with each layer's
    statistics set from its own input, in order, keeps every layer at unit scale, as trained
    weights do, so the timed arithmetic is on ordinary numbers.
    """
    from pytorch_pretrained_biggan.model import BigGANBatchNorm

    def measure(norm: torch.nn.Module, args: tuple) -> None:
        x = args[0]
        norm.running_means.copy_(x.mean(dim=(0, 2, 3)).expand_as(norm.running_means))
        norm.running_vars.copy_(x.var(dim=(0, 2, 3)).expand_as(norm.running_vars))

    hooks = [m.register_forward_pre_hook(measure) for m in model.modules() if isinstance(m, BigGANBatchNorm)]
    z = torch.randn(n, model.config.z_dim).clamp(-2, 2)
    classes = torch.zeros(n, model.config.num_classes)
    classes[:, 0] = 1
    try:
        model.eval()(z, classes, 1.0)
    finally:
        for hook in hooks:
            hook.remove()
