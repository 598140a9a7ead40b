"""Captioning at the preset's budget: each search judged by its caption, and when its caption settled."""

from __future__ import annotations

import json

from experiments import caption_budget
from training.mini.judge import parse_caption


def test_settled_is_the_first_generation_of_the_last_captions_run():
    assert caption_budget._settled(["a", "b", "b"]) == 2
    assert caption_budget._settled(["a", "a", "a"]) == 1 and caption_budget._settled(["b", "a"]) == 2


def test_a_record_judges_every_run_by_its_caption(tmp_path):
    out = tmp_path / "budget"
    assert caption_budget.main(["--targets", "2", "--seeds", "1", "--generations", "3", "--methods", "paper GA",
                                "polish, gentle operators", "--threads", "0", "--out", str(out)]) == 0
    result = json.loads(out.with_suffix(".json").read_text())["result"]
    assert (result["evaluations"], result["optimizer"], result["operators"]) == (192, "ga", "paper")
    truth = caption_budget.held_out_pictures(2, caption_budget.TARGET_SEED)
    for method in result["methods"]:
        assert [(r["target"], r["seed"]) for r in method["runs"]] == [(0, 1), (1, 1)]
        for r in method["runs"]:
            verdict = parse_caption(r["caption"])
            i = r["target"]
            assert r["right"] == ((verdict.digit, verdict.fg, verdict.bg) == (truth["digit"][i], truth["fg"][i],
                                                                               truth["bg"][i]))
            assert 1 <= r["settled"] <= 3
        assert method["right"] == sum(r["right"] for r in method["runs"])
    page = out.with_suffix(".md").read_text()
    assert "| **paper GA** (default) | " in page and "| polish, gentle operators | " in page and "population 64 × 3 generations = 192 evaluations" in page
