"""The comparison's bookkeeping: reaching a score, budgets, summaries, prompts the models never saw."""

from __future__ import annotations

import json

import numpy as np

from experiments.compare.report import benchmark_markdown, default_method, summarise, write_page
from experiments.compare.run import Trace, prompts, run
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
    assert "| stylegan2 | polish | 1/2 | 1/2 |" in page


def test_prompts_are_held_out_and_readable():
    captions = prompts(4)
    assert len(set(captions)) == 4 and captions == prompts(4)
    for caption in captions:
        truth = parse_caption(caption)
        assert (truth.digit, truth.fg, truth.bg) in data.heldout_combos()


def test_more_prompts_keep_the_first_ones():
    assert prompts(5)[:3] == prompts(3)
