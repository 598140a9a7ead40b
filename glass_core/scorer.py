"""CLIP as a scorer: unit embeddings of images and captions, and their cosine similarity."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from glass_core.compiled import CompiledForward
from glass_core.graphs import GraphedForward, graph_for
from glass_core.errors import MissingWeightsError
from glass_core.generators.base import Location
from glass_core.options import check_options
from glass_core.weights import hub_cached, hub_file


@dataclass(frozen=True)
class ClipSpec:
    """Where a CLIP's weights live and which open_clip architecture they fit."""

    folder: str  # under the weights root: a checkpoint file, or open_clip's local-dir layout
    arch: str | None = None  # open_clip architecture, for bare checkpoints
    hub_repo: str | None = None  # Hugging Face repository with the same checkpoint
    filename: str = "open_clip_model.safetensors"
    embedded: bool = False  # weights ship with the repository (the mini set)


CLIP_MODELS: dict[str, ClipSpec] = {
    # 'ViT-B-32' with pretrained='openai' builds plain GELU and only warns; OpenAI trained
    # with QuickGELU, so the quickgelu architecture is the one that matches the weights.
    "ViT-B-32-quickgelu/openai": ClipSpec(
        folder="clip/ViT-B-32-quickgelu-openai", arch="ViT-B-32-quickgelu",
        hub_repo="timm/vit_base_patch32_clip_224.openai",
    ),
    # The diffusion presets' CLIP: the LAION aesthetic predictor reads its image embeddings (issue 25).
    "ViT-L-14-quickgelu/openai": ClipSpec(
        folder="clip/ViT-L-14-quickgelu-openai", arch="ViT-L-14-quickgelu",
        hub_repo="timm/vit_large_patch14_clip_224.openai",
    ),
    "mini": ClipSpec(folder="mini/clip", embedded=True),
}


class ClipScorer:
    """Embeds images (float tensors in [0, 1]) and captions into CLIP's unit sphere."""

    def __init__(self, model: torch.nn.Module, tokenizer, device: torch.device, *, fast_text: bool = True,
                 compile: bool = False, static: bool = False):
        self.model = model.eval().requires_grad_(False).to(device)
        self.tokenizer = tokenizer
        self.device = device
        cfg = model.visual.preprocess_cfg
        size = cfg["size"]
        self.image_size = size if isinstance(size, int) else int(size[0])
        self.mean = torch.tensor(cfg["mean"], device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(cfg["std"], device=device).view(1, 3, 1, 1)
        self.context_length = int(tokenizer.context_length)
        # Trim the text tower to the captions and embed each caption once per search; False
        # only for the paper-faithful benchmark baseline.
        self._fast_text = fast_text
        self._compile = compile  # image batches through torch.compile (glass_core.compiled)
        self._visual = CompiledForward(self.model.visual)
        # Image batches of one fixed shape (the evaluator pads them) replayed as CUDA graphs; eager off CUDA.
        self._static = static
        self._graphed = GraphedForward(self._visual if compile else self.model.encode_image, graph_for(device))

    @property
    def fast_text(self) -> bool:
        """Whether the text tower is trimmed and each caption embedded once per search."""
        return self._fast_text

    @property
    def compile(self) -> bool:
        """Whether image batches go through torch.compile."""
        return self._compile

    @property
    def static(self) -> bool:
        """Whether image batches replay a captured CUDA graph (fixed shapes; eager off CUDA)."""
        return self._static

    @property
    def speed_options(self) -> dict[str, bool]:
        """The options this scorer was built with (glass_core.options)."""
        return {"fast_text": self._fast_text, "compile": self._compile, "static": self._static}

    def with_options(self, **options: bool) -> ClipScorer:
        """A scorer over the same weights with some speed options changed."""
        check_options(self, options)
        return ClipScorer(self.model, self.tokenizer, self.device, **(self.speed_options | options))

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Differentiable version of CLIP's preprocessing: resize short side, centre crop, normalise."""
        h, w = images.shape[-2:]
        s = self.image_size
        if (h, w) != (s, s):
            scale = s / min(h, w)
            size = (max(s, round(h * scale)), max(s, round(w * scale)))
            images = F.interpolate(images, size=size, mode="bicubic", antialias=True, align_corners=False)
            top, left = (size[0] - s) // 2, (size[1] - s) // 2
            images = images[..., top:top + s, left:left + s]
        return (images.clamp(0, 1) - self.mean) / self.std

    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in [0, 1] -> (N, D) unit vectors."""
        pixels = self.prepare(images.to(self.device, torch.float32))
        # open_clip's encode_image is visual(x), normalised on request; the compiled tower likewise.
        if self._static:
            feats = self._graphed(pixels)
        else:
            feats = self._visual(pixels) if self.compile else self.model.encode_image(pixels)
        return F.normalize(feats.float(), dim=-1)

    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        """Captions -> (N, D) unit vectors; anything past CLIP's context is cut off."""
        tokens = self.tokenizer(texts).to(self.device)
        return F.normalize(self._encode_tokens(tokens).float(), dim=-1)

    def _encode_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """Text features (N, D): trimmed to the captions where the model allows, else open_clip's own."""
        if self.fast_text and _trimmable(self.model):
            return encode_text_trimmed(self.model, tokens)
        return self.model.encode_text(tokens)

    def encode_pil(self, image: Image.Image) -> torch.Tensor:
        """One PIL image -> (1, D) unit vector."""
        arr = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
        tensor = torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0)
        return self.encode_images(tensor)

    def is_truncated(self, text: str) -> bool:
        """True if `text` is longer than CLIP's context (start and end tokens included)."""
        return len(self.tokenizer.encode(text)) + 2 > self.context_length


def _trimmable(model: torch.nn.Module) -> bool:
    """Whether `model` is open_clip's CLIP with a causal text tower pooled at the end token."""
    return (getattr(model, "attn_mask", None) is not None and hasattr(model, "transformer")
            and getattr(model, "text_pool_type", None) in ("argmax", "eos"))


def encode_text_trimmed(model: torch.nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """open_clip's CLIP.encode_text (unnormalised), run only as far as the longest caption.

    The text tower is causal and pools at the end token, so the padding after the longest
    caption changes nothing and costs most of the work: captions are ~15 of 77 tokens.
    Differentiable, so the mini CLIP's training uses it too.
    """
    from open_clip.transformer import text_global_pool  # open_clip's own pooling, as encode_text

    n = int((tokens != 0).sum(1).max())  # open_clip pads with 0
    tokens = tokens[:, :n]
    cast = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast) + model.positional_embedding[:n].to(cast)
    x = model.ln_final(model.transformer(x, attn_mask=model.attn_mask[:n, :n]))
    x = text_global_pool(x, tokens, model.text_pool_type, eos_token_id=getattr(model, "text_eos_id", None))
    proj = model.text_projection
    if proj is None:
        return x
    return proj(x) if isinstance(proj, torch.nn.Linear) else x @ proj


def locate_clip(name: str, weights_root: Path) -> Location:
    """Where `load_clip` would find the weights, without loading them."""
    spec = CLIP_MODELS.get(name)
    if spec is None:
        return Location(False, False, Path(weights_root) / "clip")
    folder = Path(weights_root) / spec.folder
    has_source = spec.arch is not None and spec.hub_repo is not None
    on_disk = (folder / "open_clip_config.json").is_file() or (
        has_source and ((folder / spec.filename).is_file() or hub_cached(spec.hub_repo, spec.filename)))
    return Location(on_disk, has_source, folder)


def load_clip(name: str, device: torch.device, weights_root: Path, compile: bool = False) -> ClipScorer:
    """Load the CLIP registered as `name`, refusing to run on random weights.

    Missing weights are reported before open_clip is imported or the network is tried (offline,
    or with the hub unreachable, at once).
    """
    if name not in CLIP_MODELS:
        raise ValueError(f"Unknown CLIP {name!r}; known: {', '.join(CLIP_MODELS)}")
    spec = CLIP_MODELS[name]
    folder = Path(weights_root) / spec.folder
    ckpt = None
    if not (folder / "open_clip_config.json").is_file():
        if spec.arch is None or spec.hub_repo is None:
            raise MissingWeightsError(f"CLIP '{name}'", f"Expected open_clip_config.json and weights in {folder}.")
        ckpt = folder / spec.filename
        if not ckpt.is_file():
            ckpt = hub_file(spec.hub_repo, spec.filename, f"CLIP '{name}'", folder)
    import open_clip  # heavy: only when a model is actually needed

    if ckpt is None:
        ident = f"local-dir:{folder}"
        model = open_clip.create_model(ident, require_pretrained=True, device=device)
        return ClipScorer(model, open_clip.get_tokenizer(ident), device, compile=compile)
    model = open_clip.create_model(spec.arch, pretrained=str(ckpt), require_pretrained=True, device=device)
    return ClipScorer(model, open_clip.get_tokenizer(spec.arch), device, compile=compile)


def random_clip(device: torch.device, arch: str = "ViT-B-32-quickgelu", seed: int = 0) -> ClipScorer:
    """A full-size CLIP with random weights and the real preprocessing, for speed measurements."""
    import open_clip

    torch.manual_seed(seed)
    model = open_clip.create_model(arch, device=device)
    return ClipScorer(model, open_clip.get_tokenizer(arch), device)
