"""The dialogue/fluency measurement runs end to end (on the tiny models) and writes both reports."""

from __future__ import annotations

import json

from experiments import dialogue as md
from glass_core.conversation import Turn
from glass_core.presets import PRESETS
from glass_core.prompts import WeightedPrompt


def test_raw_phrasing_joins_question_and_answer_and_leaves_yes_no_alone():
    assert md.raw_prompt(Turn("what colour is the digit?", "red"), 0.5) == WeightedPrompt("what colour is the digit red", 0.5)
    assert md.raw_prompt(Turn("is there a cat?", "no"), 0.5) == WeightedPrompt("a cat", -0.5)


def test_the_measurement_writes_json_and_markdown(test_presets, tiny_root, monkeypatch, tmp_path):
    fluent = PRESETS["test_gpt2"].replace(name="test_gpt2_fluent", use_discriminator=True,
                                          generator_args={**PRESETS["test_gpt2"].generator_args, "fluency": True})
    monkeypatch.setitem(PRESETS, fluent.name, fluent)
    stem = tmp_path / "report"
    result = md.main(["--t2i", "test_biggan", "--i2t", "test_gpt2", "--i2t-fluent", "test_gpt2_fluent",
                      "--generations", "1", "--cases", "1", "--seeds", "1", "--pictures", "2",
                      "--weights", str(tiny_root), "--out", str(stem), "--threads", "1"])
    saved = json.loads(stem.with_suffix(".json").read_text())
    assert len(saved["dialogue"]) == 1 and len(saved["captions"]) == 2 and saved["machine"]["date"]
    run = result["dialogue"][0]
    assert set(run["arms"]) == set(md.ARMS) and all(len(stages) == 2 for stages in run["arms"].values())
    assert list(saved["caption_summary"]) == ["test_gpt2", "test_gpt2_fluent",
                                              "test_gpt2_fluent, front's most similar caption"]
    report = stem.with_suffix(".md").read_text()
    assert "## Text → image" in report and "## Image → text" in report and "torch" in report
