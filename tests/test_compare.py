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
            "--reference-seeds", "2", "--out", str(tmp_path / "q")]
    assert compare.main(base + ["--methods", "paper GA"]) == 0
    first = json.loads((tmp_path / "q" / "digits.json").read_text())["benchmark"]
    # Two reference seeds, the first two that no contender uses; each one's final and judged picture kept.
    assert first["plan"]["reference_seeds"] == first["reference"][0]["seeds"] == [0, 2]
    assert len(first["reference"][0]["finals"]) == len(first["reference"][0]["judged"]) == 2
    assert "Reference: the median of 2 seeds [0, 2] of the paper's GA (preset `mini_gan`'s population 32" in (
        tmp_path / "q" / "digits.md").read_text()
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
    """`run`, refusing every seed but the contender's (1): a kept record must not rerun its references."""
    def guarded(pipe, caption, budget, seed=None, **overrides):
        assert seed == 1, "the reference was run again"
        return run(pipe, caption, budget, seed=seed, **overrides)
    return guarded


def test_the_reference_is_each_targets_median_over_its_seeds_not_the_first_seeds_nor_the_mean():
    from experiments.compare.benchmarks import references

    finals = {(0, 7): 0.5, (0, 8): 0.9, (0, 9): 0.6, (1, 7): 0.8, (1, 8): 0.1, (1, 9): 0.3}
    calls = []

    def run_seed(i: int, seed: int) -> Trace:
        calls.append((i, seed))
        score = finals[i, seed]
        return Trace(evaluations=[10, 20], best=[score - 0.1, score], shown=[np.zeros(2)] * 2, seconds=1.0)

    refs = references(["a", "b"], (7, 8, 9), run_seed, print)
    assert calls == list(finals)  # every seed, every target
    assert [r["score"] for r in refs] == [0.6, 0.3]  # first seed's: 0.5, 0.8; mean: 0.667, 0.4
    assert refs[0]["seeds"] == [7, 8, 9] and refs[0]["finals"] == [0.5, 0.9, 0.6] and refs[1]["seconds"] == 3.0
    assert refs[0]["curve"][-1] == [20, 0.6]  # the median run's


def test_reference_seeds_stay_apart_from_the_contenders():
    from experiments.compare.benchmarks import Plan, reference_seeds

    assert reference_seeds(3, (1, 2)) == Plan().reference_seeds == (0, 3, 4)
    assert reference_seeds(5, (1, 2), 101) == (101, 102, 103, 104, 105)
    assert reference_seeds(3, (0, 3)) == (1, 2, 4)
    with pytest.raises(ValueError, match="seeds of its own"):
        Plan(seeds=(1, 3), reference_seeds=(0, 3, 4))


def test_the_median_reference_seeds_own_run_ties_the_reference():
    from experiments.compare.benchmarks import Plan, planted
    from experiments.compare.planted import PLANTED, mini_clip
    from experiments.compare.run import PAPER_GA, Method, run_target

    plan = Plan(4, (1,), 1, reference_seeds=(0, 3, 4))
    bench = planted("captions", [Method("paper GA", PAPER_GA)], plan, REPO_WEIGHTS, print)
    assert [run["seed"] for run in bench["methods"][0]["runs"]] == [1] * 4
    problem = PLANTED["captions"]
    generator, scorer = problem.build(), mini_clip(REPO_WEIGHTS)
    targets = problem.make_targets(generator, scorer, 4)
    for ref, target in zip(bench["reference"], targets):
        assert ref["seeds"] == [0, 3, 4] and ref["score"] == float(np.median(ref["finals"]))
        # The exact score: the median seed, run again, ties its own reference (rounded, some would miss).
        seed = ref["seeds"][ref["finals"].index(ref["score"])]
        trace = run_target(generator, scorer, target, problem.preset(), 64, seed=seed, **PAPER_GA)
        assert trace.best[-1] == ref["finals"][ref["seeds"].index(seed)] and trace.reach(ref["score"]) == 64
