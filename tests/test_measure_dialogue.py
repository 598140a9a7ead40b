"""The dialogue/fluency measurement on the embedded mini set: what it writes is what the judge reads."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from experiments import dialogue as md
from experiments.common import heldout_pictures
from glass_core.conversation import Turn
from glass_core.pipeline import Pipeline
from glass_core.prompts import WeightedPrompt
from glass_core.weights import REPO_WEIGHTS
from training.mini.judge import parse_caption


def test_raw_phrasing_joins_question_and_answer_and_leaves_yes_no_alone():
    assert md.raw_prompt(Turn("what colour is the digit?", "red"), 0.5) == WeightedPrompt("what colour is the digit red", 0.5)
    assert md.raw_prompt(Turn("is there a cat?", "no"), 0.5) == WeightedPrompt("a cat", -0.5)


def test_a_caption_is_judged_right_only_when_digit_and_both_colours_match():
    right = md._caption_verdict("the picture of a red seven on a blue background", (7, "red", "blue"))
    swapped = md._caption_verdict("the picture of a blue seven on a red background", (7, "red", "blue"))
    assert right == {"digit": True, "fg": True, "bg": True, "all": True}
    assert swapped == {"digit": True, "fg": False, "bg": False, "all": False}


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> tuple[dict, dict]:
    """One colour case and two pictures, 10 generations a stage: (returned record, saved JSON)."""
    stem = tmp_path_factory.mktemp("dialogue") / "report"
    record = md.main(["--generations", "10", "--cases", "1", "--seeds", "1", "--pictures", "2",
                      "--weights", str(REPO_WEIGHTS), "--out", str(stem), "--threads", "1"])
    saved = json.loads(stem.with_suffix(".json").read_text())
    report = stem.with_suffix(".md").read_text()
    assert "## Text → image" in report and "## Image → text" in report and record["command"] in report
    return record, saved


def test_the_full_caption_is_drawn_and_judged_right_and_every_verdict_matches_what_was_seen(measured):
    _, saved = measured
    (run,) = saved["dialogue"]
    digit, fg, bg = run["case"]
    full = run["full caption from the start"]
    # Known right: thirty generations on "a red seven on a blue background" draw exactly that.
    assert full["seen"] == [digit, fg, bg] and full["fg"] and full["bg"] and full["digit"]
    assert full["clip_full_caption"] > run["start"]["clip_full_caption"]
    stages = [run["start"], full, *(s for stages in run["arms"].values() for s in stages)]
    assert set(run["arms"]) == set(md.ARMS) and len(stages) == 2 + 2 * len(md.ARMS)
    for stage in stages:
        assert [stage["digit"], stage["fg"], stage["bg"]] == [a == b for a, b in zip(stage["seen"], run["case"])]
    # One run: each summary row is that run's stage.
    assert saved["dialogue_summary"]["start (colourless caption)"]["bg"] == float(run["start"]["bg"])


def test_each_caption_is_the_one_scored_and_is_judged_by_reading_it(measured):
    _, saved = measured
    pictures = heldout_pictures(2, md.PICTURE_SEED, draw="choice")
    scorer = Pipeline.from_preset("mini_gpt2", weights_root=REPO_WEIGHTS).scorer
    assert [case["truth"] for case in saved["captions"]] == [list(truth) for _, truth in pictures]
    for case, (picture, truth) in zip(saved["captions"], pictures):
        for name in ("mini_gpt2", "mini_gpt2_fluent"):
            entry = case[name]
            seen = parse_caption(entry["caption"])
            assert [entry["digit"], entry["fg"], entry["bg"]] == [seen.digit == truth[0], seen.fg == truth[1],
                                                                  seen.bg == truth[2]]
            with torch.inference_mode():
                cosine = float(scorer.encode_pil(picture) @ scorer.encode_texts([entry["caption"]]).T)
            assert cosine == pytest.approx(entry["similarity"], abs=1e-4)
        assert "front" in case["mini_gpt2_fluent"] and "front" not in case["mini_gpt2"]
    for name in ("mini_gpt2", "mini_gpt2_fluent"):
        assert saved["caption_summary"][name]["all"] == pytest.approx(
            np.mean([c[name]["all"] for c in saved["captions"]]), abs=1e-3)
