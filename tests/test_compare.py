"""The comparison's bookkeeping: reaching a score, budgets, summaries, prompts the models never saw."""

from __future__ import annotations

import json

import numpy as np
import pytest

from experiments.compare.report import benchmark_markdown, default_method, summarise, write_page
from experiments.compare.run import CALIBRATION, Trace, prompts, run
from glass_core.pipeline import Pipeline
from glass_core.weights import REPO_WEIGHTS
from training.mini import data
from training.mini.judge import parse_caption


def test_trace_reach_and_budget_lookup():
    t = Trace(evaluations=[32, 68, 104], best=[0.1, 0.3, 0.3], shown=[np.zeros(2)] * 3)
    assert t.reach(0.3) == 68 and t.reach(0.2) == 68 and t.reach(0.31) is None
    assert t.at(100) == 1 and t.at(104) == 2 and t.at(10) is None


def test_a_run_stops_at_the_first_generation_that_spends_its_budget():
    pipe = Pipeline.from_preset("mini_gan", weights_root=REPO_WEIGHTS)  # 32 evaluations a generation
    trace = run(pipe, prompts(1)[0], budget=100, seed=1)
    assert trace.evaluations == [32, 64, 96, 128] and len(trace.best) == len(trace.shown) == 4
    assert trace.best == sorted(trace.best)  # the best so far never falls


def test_summary_counts_reaches_and_success():
    runs = [{"reach": 500, "final_best": 0.5, "seconds": 1.0, "judged": {"400": False, "800": True}},
            {"reach": None, "final_best": 0.3, "seconds": 2.0, "judged": {"400": True, "800": None}}]
    s = summarise(runs, target=600, checkpoints=(400, 800))
    assert s["reached_reference"] == 1 and s["reached_within_target"] == 1
    assert s["median_evaluations_to_reference"] is None  # half the runs never got there
    assert s["success_rate"] == {"400": 0.5, "800": 1.0}


def _record(methods: list[dict]) -> dict:
    return {"date": "today", "command": "python -m experiments.compare", "libraries": {"torch": "x"},
            "machine": {"cpu": "cpu", "cores": 2, "torch_threads": 1},
            "benchmark": {"name": "stylegan2", "about": "planted", "preset": "StyleGAN2_ffhq_nod", "pop_size": 16,
                          "plan": {"targets": 1, "seeds": [1], "generations": 500}, "reference_evaluations": 32000,
                          "target_evaluations": 6400, "reference": [{"score": 0.99}], "methods": methods}}


def test_page_marks_the_presets_default_and_lists_per_run_figures(tmp_path):
    runs = [{"reach": 1000, "final_best": 0.995, "short_by": 0.0, "seconds": 1.0},
            {"reach": None, "final_best": 0.98, "short_by": 0.01, "seconds": 1.0}]
    methods = [{"name": name, "preset": "mini_gan", "overrides": ov, "budget": 6400,
                "summary": summarise(runs, 6400, (400,)), "runs": runs}
               for name, ov in (("paper GA", {"optimizer": "ga", "operators": "paper"}),
                                ("polish", {"optimizer": "polish", "operators": "gentle"}))]
    record = _record(methods)
    assert default_method(record["benchmark"]) == "polish"  # StyleGAN2_ffhq_nod's optimizer and operators now
    text = benchmark_markdown(record)
    assert "| **polish** (glass default) | 1/2 | > 6400 |" in text and "- polish: 1000 –" in text
    (tmp_path / "q").mkdir()
    (tmp_path / "q" / "stylegan2.json").write_text(json.dumps(record))
    page = write_page(tmp_path / "q").read_text()
    assert "| stylegan2 | polish | 1/2 | 1/2 | – | – |" in page


def test_the_noise_benchmark_marks_the_diffusion_default_and_names_its_own_reference(tmp_path):
    runs = [{"reach": 100, "final_best": 0.99, "short_by": 0.0, "seconds": 1.0}]
    methods = [{"name": name, "preset": "planted_noise", "overrides": ov, "budget": budget,
                "summary": summarise(runs, 400, (400,)), "runs": runs}
               for name, ov, budget in (("best-of-N", {"optimizer": "random", "operators": "noise"}, 400),
                                        ("GA, noise", {"optimizer": "ga", "operators": "noise"}, 400),
                                        ("best-of-N, all N", {"optimizer": "random", "operators": "noise"}, 1600))]
    record = _record(methods)
    # No preset of that name: the default is the genome kind's (presets.DEFAULT_SEARCH["diffusion"]).
    record["benchmark"] |= {"name": "noise", "preset": "planted_noise", "search": "diffusion", "share": "a quarter",
                            "reference_about": "the median of best-of-N", "floor": "best-of-N",
                            "calibration": "best-of-N, all N", "target_evaluations": 400}
    text = benchmark_markdown(record)
    assert "Reference: the median of best-of-N." in text and "| method | reached within a quarter |" in text
    assert "| **GA, noise** (glass default) | 1/1 |" in text
    (tmp_path / "q").mkdir()
    (tmp_path / "q" / "noise.json").write_text(json.dumps(record))
    page = write_page(tmp_path / "q").read_text()
    assert "| noise | GA, noise | 1/1 | – | 1/1 | 1/1 |" in page and "within a quarter of its evaluations" in page


def test_prompts_are_held_out_and_readable():
    captions = prompts(4)
    assert len(set(captions)) == 4 and captions == prompts(4)
    for caption in captions:
        truth = parse_caption(caption)
        assert (truth.digit, truth.fg, truth.bg) in data.heldout_combos()


def test_more_prompts_keep_the_first_ones():
    assert prompts(5)[:3] == prompts(3)


def test_keep_remeasures_one_method_against_the_kept_references(tmp_path, monkeypatch):
    from experiments.compare import __main__ as compare, benchmarks

    # --threads 0 leaves torch's thread count alone: later tests' traces depend on it.
    base = ["--benchmarks", "digits", "--targets", "1", "--seeds", "1", "--generations", "5", "--threads", "0",
            "--out", str(tmp_path / "q")]
    assert compare.main(base + ["--methods", "paper GA"]) == 0
    first = json.loads((tmp_path / "q" / "digits.json").read_text())["benchmark"]
    monkeypatch.setattr(benchmarks, "run", _no_reference_runs(benchmarks.run))
    assert compare.main(base + ["--keep", "--methods", "random search", CALIBRATION]) == 0
    second = json.loads((tmp_path / "q" / "digits.json").read_text())["benchmark"]
    assert second["reference"] == first["reference"]
    assert [m["name"] for m in second["methods"]] == ["paper GA", "random search",
                                                      "paper GA, other seeds, full 500 generations"]
    assert second["methods"][0]["runs"] == first["methods"][0]["runs"]
    assert [m["budget"] for m in second["methods"]] == [32, 32, 160]  # a fifth, a fifth, the reference's all
    page = benchmark_markdown({**_record([]), "benchmark": second})
    assert "| paper GA, other seeds, full 500 generations | " in page and "/1 within 160) |" in page
    assert "Kept (`--keep`) from the record of " in page and page.count("`): paper GA.\n") == 1  # that one only
    with pytest.raises(SystemExit, match="--keep: .* ran"):
        compare.main([*base, "--generations", "6", "--keep"])  # the last --generations wins


def _no_reference_runs(run):
    """`run`, refusing seed 0 (the reference's): a kept record must not rerun its references."""
    def guarded(pipe, caption, budget, seed=None, **overrides):
        assert seed != 0, "the reference was run again"
        return run(pipe, caption, budget, seed=seed, **overrides)
    return guarded


def test_a_run_that_ties_the_reference_reaches_it():
    from experiments.compare.benchmarks import Plan, planted
    from experiments.compare.run import PAPER_GA, Method

    # One generation each from the reference's own seed: the same captions, the same best score
    # (two of these four scores would round up by more than reach's 1e-6 tolerance).
    bench = planted("captions", [Method("paper GA", PAPER_GA)], Plan(4, (0,), 1), REPO_WEIGHTS, print)
    assert [run["reach"] for run in bench["methods"][0]["runs"]] == [64] * 4
