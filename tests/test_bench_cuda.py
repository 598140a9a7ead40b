"""The one device run: its modes, its early refusal without CUDA, and the report it writes."""

from __future__ import annotations

import json

import numpy as np
import torch

from experiments.bench import __main__ as bench
from experiments.bench.measure import _timed, choice_agreement, glass_mode
from experiments.bench.report import write
from glass_core.pipeline import Pipeline

CUDA = torch.device("cuda")  # only named: nothing here runs on it


def test_cuda_is_refused_in_one_line_before_anything_runs(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    started = []
    monkeypatch.setattr(bench, "_in_subprocess", lambda *a: started.append(a))
    argv = ["--device", "cuda", "--presets", "all", "--projection", "500", "--out", str(tmp_path / "b")]
    assert bench.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --device cuda") and "no CUDA GPU" in err[0]
    assert not started and not list(tmp_path.iterdir())


def test_on_cuda_the_graph_modes_join_and_on_a_cpu_they_do_not():
    biggan = {"channels_last": True, "compile": False, "static": False}
    stylegan = {"score_resolution": None, "static": False}
    assert [m.name for m in bench.modes_for(biggan, CUDA)] == ["paper", "glass", "glass-compiled", "glass-graphs"]
    assert [m.name for m in bench.modes_for(stylegan, CUDA)] == ["paper", "glass", "glass-256px", "glass-256px-graphs"]
    assert [m.name for m in bench.modes_for(biggan, torch.device("cpu"))] == ["paper", "glass", "glass-compiled"]
    graphs = glass_mode(CUDA, static=True)
    assert graphs.precision == "bf16" and graphs.generator_options()["static"] and graphs.scorer_options()["static"]


def test_peak_gpu_memory_is_counted_from_zero_for_each_run(monkeypatch):
    events = []
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda device: events.append("reset"))
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device: 3 * 2**20)
    figures, peak = _timed(CUDA, lambda: events.append("run") or {"s": 1})
    assert events == ["reset", "run"] and peak == 3.0 and figures == {"s": 1}
    assert _timed(torch.device("cpu"), lambda: {"s": 1}) == ({"s": 1}, None)


def _mode(seconds: float, warm: float, peak: float, **extra) -> dict:
    return {"seconds_per_generation": seconds, "evaluations_per_second": 64 / seconds, "first_warm_up_seconds": warm,
            "share": {"generator": 0.6, "discriminator": 0.0, "clip": 0.3, "operators": 0.1},
            "projected_seconds": warm + 499 * seconds, "peak_gpu_mb": peak, **extra}


def test_the_cuda_report_has_speed_projection_memory_and_what_bf16_changed(tmp_path):
    result = {"preset": "DeepMindBigGAN128", "pop_size": 64, "generations": 3, "repeats": 3,
              "projection_generations": 500, "fastest": "glass-graphs", "peak_rss_mb": 4000.0,
              "modes": {"paper": _mode(0.5, 2.0, 3100),
                        "glass": _mode(0.2, 1.0, 1800, speedup_vs_paper=2.5),
                        "glass-graphs": _mode(0.1, 4.0, 2100, speedup_vs_paper=5.0)},
              "agreement": {"max_abs_difference": 0.004, "spearman": 0.998},
              "choice": {"precision": "bf16", "generations": 5, "same_choice": False, "first_generation_apart": 2,
                         "fp32_choice_similarity": 0.3012, "low_choice_similarity_in_fp32": 0.2999,
                         "similarity_change": -0.0013}}
    failed = {"preset": "StyleGAN2_ffhq_d", "error": "CUDA out of memory"}
    write([result, failed], tmp_path / "bench-cuda", "cuda", "python -m experiments.bench --device cuda")
    md = (tmp_path / "bench-cuda.md").read_text()
    assert "| DeepMindBigGAN128 | glass-graphs | 64 | 0.100 | 640.0 | 5.00× |" in md
    assert "| 2100 |" in md and "| 3100 |" in md  # each mode's own peak GPU memory
    assert "| DeepMindBigGAN128 | 4.2 | glass-graphs | 0.9 | 5.00× |" in md  # 500 generations, in minutes
    assert "same choice no, populations apart from generation 2, similarity 0.3012 → 0.2999 (Δ -0.0013)" in md
    assert "failed: CUDA out of memory" in md
    saved = json.loads((tmp_path / "bench-cuda.json").read_text())
    assert saved["device"] == "cuda" and "gpu" in saved["machine"] and saved["date"]
    assert saved["results"][0]["modes"]["glass-graphs"]["peak_gpu_mb"] == 2100


def test_a_cpu_search_ignores_bf16_so_the_choice_cannot_change(test_presets, tiny_root):
    pipe = Pipeline.from_preset("test_biggan", weights_root=tiny_root)
    choice = choice_agreement(pipe.generator, pipe.scorer, pipe.preset.replace(pop_size=8), "bf16", generations=2)
    assert choice["same_choice"] and choice["first_generation_apart"] is None
    # one genome, twice in one batch: rows of a CPU convolution may differ in the last bits
    assert abs(choice["similarity_change"]) < 1e-6 and np.isfinite(choice["fp32_choice_similarity"])
