"""Diffusion pipelines built from configs with random weights: full size for speed, tiny for tests.

The CLIP tokenizer is built from open_clip's bundled BPE vocabulary (CLIP's own, 49,408 tokens),
so no file has to be downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

Configs = dict[str, dict[str, Any]]


def full_size(pipeline: str) -> Configs:
    """The real repositories' architectures: sd-turbo (SD 2.1) or sdxl-turbo (SDXL)."""
    vae = dict(block_out_channels=(128, 256, 512, 512), layers_per_block=2, latent_channels=4,
               down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4)
    if pipeline == "StableDiffusionPipeline":
        return {
            "unet": dict(sample_size=64, block_out_channels=(320, 640, 1280, 1280), layers_per_block=2,
                         down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                         up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
                         cross_attention_dim=1024, attention_head_dim=(5, 10, 20, 20), use_linear_projection=True),
            "vae": vae | {"scaling_factor": 0.18215},
            "text_encoder": dict(hidden_size=1024, intermediate_size=4096, num_attention_heads=16,
                                 num_hidden_layers=23, projection_dim=512, hidden_act="gelu"),
        }
    return {
        "unet": dict(sample_size=64, block_out_channels=(320, 640, 1280), layers_per_block=2,
                     down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
                     up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
                     transformer_layers_per_block=(1, 2, 10), attention_head_dim=(5, 10, 20),
                     cross_attention_dim=2048, use_linear_projection=True, addition_embed_type="text_time",
                     addition_time_embed_dim=256, projection_class_embeddings_input_dim=2816),
        "vae": vae | {"scaling_factor": 0.13025},
        "text_encoder": dict(hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12,
                             projection_dim=768, hidden_act="quick_gelu"),
        "text_encoder_2": dict(hidden_size=1280, intermediate_size=5120, num_attention_heads=20,
                               num_hidden_layers=32, projection_dim=1280, hidden_act="gelu"),
    }


def tiny(pipeline: str) -> Configs:
    """The same classes a few thousand times smaller, for tests (64 px pictures, 8×8×4 noise)."""
    vae = dict(block_out_channels=(8, 8, 8, 8), layers_per_block=1, latent_channels=4, norm_num_groups=8,
               down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4)
    text = dict(hidden_size=32, intermediate_size=64, num_attention_heads=2, num_hidden_layers=2, projection_dim=32)
    unet = dict(sample_size=8, block_out_channels=(32, 64), layers_per_block=1, norm_num_groups=32,
                down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), attention_head_dim=(2, 4),
                use_linear_projection=True, cross_attention_dim=32)
    if pipeline == "StableDiffusionPipeline":
        return {"unet": unet, "vae": vae, "text_encoder": text}
    return {"unet": unet | dict(cross_attention_dim=64, addition_embed_type="text_time", addition_time_embed_dim=8,
                                projection_class_embeddings_input_dim=8 * 6 + 32),
            "vae": vae, "text_encoder": text, "text_encoder_2": text}


def clip_tokenizer() -> Any:
    """transformers' CLIPTokenizer over CLIP's real vocabulary and merges (from open_clip's BPE file)."""
    import tempfile

    from open_clip.tokenizer import SimpleTokenizer
    from transformers import CLIPTokenizer

    bpe = SimpleTokenizer()
    vocab = dict(bpe.encoder)
    # open_clip names the special tokens differently; the ids (49406, 49407) are CLIP's.
    vocab["<|startoftext|>"] = vocab.pop("<start_of_text>")
    vocab["<|endoftext|>"] = vocab.pop("<end_of_text>")
    merges = [" ".join(pair) for pair, _ in sorted(bpe.bpe_ranks.items(), key=lambda kv: kv[1])]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "vocab.json").write_text(json.dumps(vocab))
        (Path(tmp) / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
        return CLIPTokenizer(str(Path(tmp) / "vocab.json"), str(Path(tmp) / "merges.txt"), model_max_length=77)


def build_pipeline(pipeline: str, configs: Configs) -> Any:
    """A pipeline of class `pipeline` with random weights, sd-turbo's scheduler and CLIP's tokenizer."""
    import diffusers
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    def text(cls, cfg):
        return cls(CLIPTextConfig(vocab_size=49408, max_position_embeddings=77, bos_token_id=49406,
                                  eos_token_id=49407, pad_token_id=49407, **cfg))

    parts: dict[str, Any] = dict(
        unet=diffusers.UNet2DConditionModel(**configs["unet"]), vae=diffusers.AutoencoderKL(**configs["vae"]),
        text_encoder=text(CLIPTextModel, configs["text_encoder"]), tokenizer=clip_tokenizer(),
        # sd-turbo's and sdxl-turbo's scheduler: Euler, "trailing" spacing, so one step starts at t = 999.
        scheduler=diffusers.EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                                   timestep_spacing="trailing", steps_offset=1))
    if pipeline == "StableDiffusionPipeline":
        parts |= dict(safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    else:
        parts |= dict(text_encoder_2=text(CLIPTextModelWithProjection, configs["text_encoder_2"]),
                      tokenizer_2=clip_tokenizer())
    return getattr(diffusers, pipeline)(**parts).to(torch.float32)


def build_tiny(full: bool) -> Any:
    """TAESD's class with random weights: its real size, or a tiny one for tests (both upsample ×8)."""
    from diffusers import AutoencoderTiny

    if full:
        return AutoencoderTiny()
    return AutoencoderTiny(encoder_block_out_channels=(8, 8, 8, 8), decoder_block_out_channels=(8, 8, 8, 8),
                           num_encoder_blocks=(1, 1, 1, 1), num_decoder_blocks=(1, 1, 1, 1))
