"""One-step diffusion (SD-Turbo, SDXL-Turbo) as a generator: the genome is the initial latent noise.

The caption is both CLIP's target and the pipeline's prompt: `bind(caption)` encodes it once per
search. Scoring decodes through the tiny autoencoder (TAESD); what is shown goes through the full
VAE, as StyleGAN2 renders small for scoring and large for showing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image

from glass_core.aesthetic import AestheticHead, load_aesthetic
from glass_core.errors import BadInputError, MissingWeightsError
from glass_core.generators.base import AESTHETIC, LatentSpace, Location, genome_batches, to_pil
from glass_core.options import check_options
from glass_core.weights import hub_cached, hub_cached_path, hub_source

ScoreDecoder = Literal["tiny", "full"]
NOISE_BOUNDS = (-6.0, 6.0)  # wide enough never to clip a standard normal sample (P(|x| > 6) ~ 2e-9)


@dataclass(frozen=True)
class DiffusionModel:
    """Where one pipeline and its tiny autoencoder live, and how it is run."""

    repo: str  # Hugging Face repository of the pipeline
    folder: str  # the same layout under the weights root
    pipeline: str  # the diffusers class its model_index.json must name
    tiny_repo: str  # the tiny autoencoder (TAESD) for this pipeline's latents
    tiny_folder: str
    size: int = 512
    steps: int = 1
    guidance: float = 0.0


MODELS: dict[str, DiffusionModel] = {
    "sd_turbo": DiffusionModel("stabilityai/sd-turbo", "sd-turbo", "StableDiffusionPipeline",
                               "madebyollin/taesd", "taesd"),
    "sdxl_turbo": DiffusionModel("stabilityai/sdxl-turbo", "sdxl-turbo", "StableDiffusionXLPipeline",
                                 "madebyollin/taesdxl", "taesdxl"),
}
SUPPORTED = ("StableDiffusionPipeline", "StableDiffusionXLPipeline")
INDEX = "model_index.json"
LATENT_CACHE = 256  # denoised latents kept per bound generator: 16 MB at 512 px
TINY_CONFIG = "config.json"


class DiffusionGenerator:
    """Genome = initial noise (4 × size/8 × size/8 reals) -> one denoising step -> image in [0, 1]."""

    modality = "image"

    def __init__(self, pipe: Any, tiny: Any, device: torch.device, size: int = 512, steps: int = 1,
                 guidance: float = 0.0, *, score_decoder: ScoreDecoder = "tiny", batch_size: int = 8,
                 aesthetic: AestheticHead | None = None, condition: str = "", embeds: dict | None = None):
        if score_decoder not in ("tiny", "full"):
            raise ValueError(f"score_decoder must be 'tiny' or 'full', got {score_decoder!r}")
        self.pipe, self.tiny, self.device = pipe, tiny, device
        self.size, self.steps, self.guidance = size, steps, guidance
        self._score_decoder, self.batch_size = score_decoder, batch_size
        self.aesthetic, self.condition = aesthetic, condition
        self.has_discriminator = aesthetic is not None
        self.second_objective = AESTHETIC
        self._embeds = embeds
        # Denoised latents of recently scored genomes: showing one of them needs no second UNet pass.
        self._latents: dict[bytes, torch.Tensor] = {}
        side = size // pipe.vae_scale_factor
        self.latent_shape = (pipe.unet.config.in_channels, side, side)
        self.latent = LatentSpace(n_real=int(np.prod(self.latent_shape)), real_bounds=NOISE_BOUNDS,
                                  real_init="normal")

    @property
    def speed_options(self) -> dict[str, Any]:
        """The options this generator was built with (glass_core.options)."""
        return {"score_decoder": self._score_decoder, "batch_size": self.batch_size}

    def with_options(self, **options: Any) -> DiffusionGenerator:
        """A generator over the same pipeline with some speed options changed."""
        check_options(self, options)
        return self._copy(**(self.speed_options | options))

    def _copy(self, **changes: Any) -> DiffusionGenerator:
        args = dict(score_decoder=self._score_decoder, batch_size=self.batch_size, aesthetic=self.aesthetic,
                    condition=self.condition, embeds=self._embeds) | changes
        return DiffusionGenerator(self.pipe, self.tiny, self.device, self.size, self.steps, self.guidance, **args)

    @torch.inference_mode()
    def bind(self, condition: str) -> DiffusionGenerator:
        """This generator with `condition` as the pipeline's prompt, encoded once (not per generation)."""
        return self._copy(condition=condition, embeds=self._encode(condition))

    def _encode(self, prompt: str) -> dict[str, torch.Tensor]:
        """The prompt's embeddings as the pipeline's call takes them (SDXL adds pooled ones)."""
        out = self.pipe.encode_prompt(prompt=prompt, device=self.device, num_images_per_prompt=1,
                                      do_classifier_free_guidance=False)
        if len(out) == 4:  # StableDiffusionXLPipeline: (embeds, negative, pooled, negative pooled)
            return {"prompt_embeds": out[0], "pooled_prompt_embeds": out[2]}
        return {"prompt_embeds": out[0]}

    @torch.inference_mode()
    def denoise(self, genomes: np.ndarray) -> torch.Tensor:
        """The pipeline's denoised latents (N, 4, h, w) for noise genomes, in batches."""
        if self._embeds is None:  # never bound: the empty prompt, encoded once
            self._embeds = self._encode(self.condition)
        outs = []
        for batch in genome_batches(np.atleast_2d(genomes), self.batch_size):
            noise = torch.as_tensor(batch[:, self.latent.reals], dtype=torch.float32)
            noise = noise.reshape(len(batch), *self.latent_shape).to(self.device, self.pipe.unet.dtype)
            embeds = {k: v.expand(len(batch), *v.shape[1:]) for k, v in self._embeds.items()}
            outs.append(self.pipe(**embeds, latents=noise, num_inference_steps=self.steps,
                                  guidance_scale=self.guidance, height=self.size, width=self.size,
                                  output_type="latent").images)
        return torch.cat(outs)

    @torch.inference_mode()
    def decode(self, latents: torch.Tensor, decoder: ScoreDecoder) -> torch.Tensor:
        """Latents -> images in [0, 1] through TAESD ("tiny") or the pipeline's own VAE ("full")."""
        if decoder == "tiny":  # TAESD reads the latents as the UNet leaves them (its scaling factor is 1)
            images = self.tiny.decode(latents.to(self.tiny.dtype)).sample
        else:
            vae = self.pipe.vae
            images = vae.decode(latents.to(vae.dtype) / vae.config.scaling_factor).sample
        return (images.float() / 2 + 0.5).clamp(0, 1)

    def generate(self, genomes: np.ndarray) -> torch.Tensor:
        """What CLIP scores: (N, 3, size, size) in [0, 1], decoded by `score_decoder`."""
        latents = self.denoise(genomes)
        if len(self._latents) + len(genomes) > LATENT_CACHE:
            self._latents.clear()
        self._latents.update((g.tobytes(), lat) for g, lat in zip(np.atleast_2d(genomes), latents))
        return self.decode(latents, self._score_decoder)

    def show(self, genomes: np.ndarray) -> list[Image.Image]:
        """What a person sees: the full VAE's pictures (from the scored latents when they are at hand)."""
        genomes = np.atleast_2d(genomes)
        kept = [self._latents.get(g.tobytes()) for g in genomes]
        latents = torch.stack(kept) if all(k is not None for k in kept) else self.denoise(genomes)
        return to_pil(self.decode(latents, "full"))

    @torch.inference_mode()
    def discriminate(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Aesthetic scores (N,) of unit CLIP image embeddings (the search's own, not recomputed)."""
        if self.aesthetic is None:
            raise ValueError("This generator was loaded without the aesthetic predictor (aesthetic=True)")
        return self.aesthetic(embeddings)


# ---- finding and loading the weights ----

def _what(model: str) -> str:
    return f"diffusion pipeline '{model}'"


def _fetch_hint(spec: DiffusionModel, weights_root: Path) -> str:
    return (f"Looked in {weights_root / spec.folder} and the Hugging Face cache for {spec.repo} (model_index.json"
            f" with unet/, vae/, text_encoder/, tokenizer/, scheduler/) and in {weights_root / spec.tiny_folder}"
            f" and the cache for {spec.tiny_repo} (config.json, diffusion_pytorch_model.safetensors). Fetch them"
            f" with `huggingface-cli download {spec.repo}` and `huggingface-cli download {spec.tiny_repo}`"
            f" (or save them there in the hub's layout), or run once online without HF_HUB_OFFLINE=1 /"
            " GLASS_OFFLINE=1")


def _source(folder: Path, repo: str, marker: str, what: str, hint: str) -> tuple[str, bool]:
    """Where from_pretrained reads: the weights folder, the hub cache, or (online) the hub."""
    if (folder / marker).is_file():
        return str(folder), True
    return hub_source(repo, marker, what, hint)


def _pipeline_class(source: str, local: bool, repo: str) -> str:
    """The class named by model_index.json, refused unless glass supports it."""
    index = Path(source) / INDEX if Path(source).is_dir() else hub_cached_path(repo, INDEX)
    if index is None:  # online and not cached: the class is checked once diffusers has fetched it
        return ""
    try:
        name = json.loads(index.read_text())["_class_name"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise BadInputError(f"{index} is damaged or not a diffusers model_index.json ({err}).") from err
    if name not in SUPPORTED:
        raise BadInputError(f"{source} holds a {name}; glass runs only {' or '.join(SUPPORTED)} (sd-turbo,"
                            " sdxl-turbo and pipelines of the same classes).")
    return name


def _from_pretrained(cls: Any, source: str, local: bool, what: str, **kw: Any) -> Any:
    """diffusers' from_pretrained; a damaged or partial file becomes one clear message."""
    try:
        return cls.from_pretrained(source, local_files_only=local, **kw)
    except MissingWeightsError:
        raise
    except Exception as err:  # safetensors, JSON, shape and missing-file errors all mean "unreadable"
        raise BadInputError(f"The {what} at {source} could not be read: it is damaged or incomplete"
                            f" ({type(err).__name__}: {str(err)[:200]}). Fetch it again.") from err


def _quiet(pipe: Any) -> Any:
    pipe.set_progress_bar_config(disable=True)
    return pipe


def load(device: torch.device, weights_root: Path, model: str = "sd_turbo", repo: str | None = None,
         score_decoder: ScoreDecoder = "tiny", batch_size: int = 8, aesthetic: bool = False,
         dtype: str = "fp32", size: int | None = None) -> DiffusionGenerator:
    """Registry factory for kinds 'sd_turbo' / 'sdxl_turbo': weights/<name>/ first, then the hub cache."""
    import diffusers

    if model not in MODELS:
        raise BadInputError(f"Unknown diffusion model {model!r}; known: {', '.join(MODELS)}")
    spec = MODELS[model]
    if repo is not None:  # another repository (or folder) of a supported class
        spec = DiffusionModel(repo, repo, spec.pipeline, spec.tiny_repo, spec.tiny_folder, spec.size)
    hint = _fetch_hint(spec, weights_root)
    source, local = _source(weights_root / spec.folder, spec.repo, INDEX, _what(model), hint)
    tiny_source, tiny_local = _source(weights_root / spec.tiny_folder, spec.tiny_repo, TINY_CONFIG,
                                      f"tiny autoencoder for '{model}'", hint)
    head = load_aesthetic(weights_root) if aesthetic else None
    name = _pipeline_class(source, local, spec.repo) or spec.pipeline
    torch_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(dtype, torch.float32)
    pipe = _from_pretrained(getattr(diffusers, name), source, local, _what(model), dtype=torch_dtype)
    if type(pipe).__name__ not in SUPPORTED:
        raise BadInputError(f"{spec.repo} holds a {type(pipe).__name__}; glass runs only {' or '.join(SUPPORTED)}.")
    tiny = _from_pretrained(diffusers.AutoencoderTiny, tiny_source, tiny_local, "tiny autoencoder",
                            dtype=torch_dtype)
    return DiffusionGenerator(_quiet(pipe).to(device), tiny.to(device).eval(), device, size or spec.size, spec.steps,
                              spec.guidance, score_decoder=score_decoder, batch_size=batch_size,
                              aesthetic=None if head is None else head.to(device))


def locate(weights_root: Path, model: str = "sd_turbo", aesthetic: bool = False, **_: Any) -> Location:
    """Where `load` would find the pipeline and TAESD (and the aesthetic head), without loading them."""
    from glass_core.aesthetic import locate_aesthetic

    spec = MODELS.get(model)
    if spec is None:
        return Location(False, False, weights_root / "diffusion")
    parts = [(weights_root / spec.folder / INDEX).is_file() or hub_cached(spec.repo, INDEX),
             (weights_root / spec.tiny_folder / TINY_CONFIG).is_file() or hub_cached(spec.tiny_repo, TINY_CONFIG)]
    if aesthetic:
        parts.append(locate_aesthetic(weights_root).on_disk)
    return Location(all(parts), True, weights_root / spec.folder)


def random_weights(device: torch.device, model: str = "sd_turbo", aesthetic: bool = False,
                   **options: Any) -> DiffusionGenerator:
    """The full-size pipeline and TAESD with random weights, for speed measurements."""
    from glass_core.generators.diffusion_build import build_pipeline, build_tiny, full_size

    from glass_core.aesthetic import random_aesthetic

    torch.manual_seed(0)
    spec = MODELS[model]
    pipe = _quiet(build_pipeline(spec.pipeline, full_size(spec.pipeline)))
    head = random_aesthetic().to(device) if aesthetic else None
    return DiffusionGenerator(pipe.to(device), build_tiny(full=True).to(device).eval(), device, spec.size,
                              spec.steps, spec.guidance, aesthetic=head, **options)
