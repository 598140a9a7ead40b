"""The comparison's bookkeeping: reaching a score, budgets, summaries, prompts the models never saw."""

from __future__ import annotations

import numpy as np

from experiments.compare.report import markdown, summarise
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


def test_markdown_renders_a_record():
    runs = [{"reach": 100, "final_best": 0.5, "seconds": 1.0, "judged": {"400": True}}]
    record = {
        "date": "today", "command": "python -m experiments.compare", "libraries": {"torch": "x"},
        "machine": {"cpu": "cpu", "cores": 2, "torch_threads": 2},
        "settings": {"prompts": ["a"], "seeds": [1], "budget": 400, "target_evaluations": 200,
                     "reference_evaluations": 1000, "checkpoints": [400],
                     "reference": {"pop_size": 32, "generations": 500, "seed": 0}},
        "reference": [{"caption": "a", "score": 0.4, "judged": True}],
        "methods": [{"name": "m", "summary": summarise(runs, 200, (400,))}],
    }
    text = markdown(record)
    assert "| m | 1/1 | 1/1 | 100 |" in text and "| m | 100% |" in text


def test_prompts_are_held_out_and_readable():
    captions = prompts(4)
    assert len(set(captions)) == 4 and captions == prompts(4)
    for caption in captions:
        truth = parse_caption(caption)
        assert (truth.digit, truth.fg, truth.bg) in data.heldout_combos()


def test_more_prompts_keep_the_first_ones():
    assert prompts(5)[:3] == prompts(3)
