"""The benchmark builds what it measures, leaves shared components alone, and records where it ran."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import torch

from experiments.bench import models
from experiments.bench.measure import BASELINE, agreement, benchmark, build, glass_mode
from experiments.bench.report import write
from glass_core.generators import Kind
from glass_core.pipeline import Pipeline
from glass_core.presets import get_preset
from glass_core.weights import REPO_WEIGHTS

CPU = torch.device("cpu")


def test_each_mode_runs_on_its_own_components_and_the_shared_ones_stay_as_they_were(tmp_path):
    preset = get_preset("mini_gpt2", pop_size=8)
    pipe = Pipeline.from_preset(preset, weights_root=REPO_WEIGHTS)
    shared = (pipe.generator.speed_options, pipe.scorer.speed_options)
    days = {datetime.now(timezone.utc).date().isoformat()}
    result = benchmark(pipe.generator, pipe.scorer, pipe.preset, generations=1, repeats=1,
                       modes=[BASELINE, glass_mode(CPU)])
    days.add(datetime.now(timezone.utc).date().isoformat())
    paper, glass = result["modes"]["paper"], result["modes"]["glass"]
    # The paper's sampler passed `past` at every step: its path keeps the cache, without the lean decoder.
    assert paper["speed_options"] == {"generator": {"kv_cache": True, "lean": False, "static": False},
                                      "scorer": {"fast_text": False, "compile": False, "static": False}}
    assert glass["speed_options"] == {"generator": {"kv_cache": True, "lean": True, "static": False},
                                      "scorer": {"fast_text": True, "compile": False, "static": False}}
    # What the app shares is untouched, and is still what the pipeline cache hands out.
    assert (pipe.generator.speed_options, pipe.scorer.speed_options) == shared == (
        {"kv_cache": True, "lean": True, "static": False}, {"fast_text": True, "compile": False, "static": False})
    assert Pipeline.from_preset(preset, weights_root=REPO_WEIGHTS).generator is pipe.generator
    record = write([result], tmp_path / "bench", "cpu", "pytest")
    saved = json.loads((tmp_path / "bench.json").read_text())
    assert saved["machine"]["cores"] == os.cpu_count() and saved["date"][:10] in days
    assert saved["date"] == record["date"] == saved["machine"]["date"]
    table = (tmp_path / "bench.md").read_text()
    assert "| mini_gpt2 | paper | 8 |" in table and "| mini_gpt2 | glass | 8 |" in table


def test_build_gives_new_components_with_the_modes_options(test_presets, tiny_root):
    pipe = Pipeline.from_preset("test_biggan", weights_root=tiny_root)
    gen, clip, preset = build(pipe.generator, pipe.scorer, pipe.preset, BASELINE)
    assert gen is not pipe.generator and gen.model is pipe.generator.model and clip.model is pipe.scorer.model
    assert gen.speed_options == {"channels_last": False, "compile": False, "static": False} and clip.fast_text is False
    assert pipe.generator.speed_options["channels_last"] is True and pipe.scorer.fast_text is True
    assert (preset.precision, preset.batch_size) == ("fp32", pipe.preset.batch_size)
    assert build(pipe.generator, pipe.scorer, pipe.preset, glass_mode(CPU))[2].batch_size == pipe.preset.pop_size


def test_bf16_scores_agree_with_float32(test_presets, tiny_root):
    pipe = Pipeline.from_preset("test_biggan", weights_root=tiny_root)
    agree = agreement(pipe.generator, pipe.scorer, pipe.preset, "bf16")
    assert agree["spearman"] > 0.8 and agree["max_abs_difference"] < 0.05


def test_random_networks_come_from_the_registry_and_only_text_kinds_get_the_tokenizer(monkeypatch):
    asked = []
    monkeypatch.setattr(Kind, "random_weights", lambda kind, device, **args: asked.append((kind.name, args)))
    monkeypatch.setattr(models, "random_clip", lambda device, arch: f"clip {arch}")
    tokenizer = Path("some/gpt2-tokenizer")
    for name in ("GPT2", "DeepMindBigGAN128", "StyleGAN2_car_d"):
        assert models.components(get_preset(name), CPU, REPO_WEIGHTS, tokenizer)[1] == "clip ViT-B-32-quickgelu"
    # The diffusion presets score with ViT-L/14, so that the aesthetic head reads the same embedding.
    assert models.components(get_preset("SDTurbo"), CPU, REPO_WEIGHTS, tokenizer)[1] == "clip ViT-L-14-quickgelu"
    assert asked == [("gpt2", {"model": "gpt2", "max_chars": 50, "tokenizer": tokenizer}),
                     ("biggan", {"model": "biggan-deep-128", "truncation": 1.0}),
                     ("stylegan2", {"network": "car"}), ("sd_turbo", {})]


def test_full_size_biggan_blocks_match_the_library_default_for_128():
    from pytorch_pretrained_biggan import BigGANConfig

    from glass_core.generators.biggan import full_size_layers

    assert full_size_layers(128) == [tuple(layer) for layer in BigGANConfig().layers]
    assert len(full_size_layers(256)) == 12 and len(full_size_layers(512)) == 14
