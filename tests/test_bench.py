"""Benchmark smoke test on the tiny models: it measures both paths and writes its record."""

from __future__ import annotations

import json

import torch

from experiments.bench.measure import BASELINE, agreement, benchmark, glass_mode
from experiments.bench.models import biggan_layers
from experiments.bench.report import write
from glass_core.pipeline import Pipeline


def test_benchmark_writes_json_and_markdown_with_the_machine(test_presets, tiny_root, tmp_path):
    pipe = Pipeline.from_preset("test_gpt2", weights_root=tiny_root)
    modes = [BASELINE, glass_mode(torch.device("cpu"))]
    result = benchmark(pipe.generator, pipe.scorer, pipe.preset, generations=1, repeats=1, modes=modes)
    assert pipe.generator.kv_cache is True  # glass's mode ran last and left the cache on
    assert result["modes"]["glass"]["speedup_vs_paper"] > 0
    assert result["modes"]["paper"]["settings"]["kv_cache"] is False
    record = write([result], tmp_path / "bench", "cpu", "pytest")
    saved = json.loads((tmp_path / "bench.json").read_text())
    assert saved["machine"]["cores"] >= 1 and saved["date"] == record["date"]
    table = (tmp_path / "bench.md").read_text()
    assert "| test_gpt2 | paper | 12 |" in table and "| test_gpt2 | glass | 12 |" in table


def test_bf16_scores_agree_with_float32(test_presets, tiny_root):
    pipe = Pipeline.from_preset("test_biggan", weights_root=tiny_root)
    agree = agreement(pipe.generator, pipe.scorer, pipe.preset, "bf16")
    assert agree["spearman"] > 0.8 and agree["max_abs_difference"] < 0.05


def test_full_size_biggan_blocks_match_the_library_default_for_128():
    from pytorch_pretrained_biggan import BigGANConfig

    assert biggan_layers(128) == [tuple(layer) for layer in BigGANConfig().layers]
    assert len(biggan_layers(256)) == 12 and len(biggan_layers(512)) == 14
