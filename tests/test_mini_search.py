"""Searches on the committed mini set find what was asked, judged independently of the mini CLIP.

Targets are held out from every mini model's training: held-out caption templates naming held-out
(digit, colour, colour) combinations, and held-out handwriting in held-out combinations.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from PIL import Image

from experiments import evaluate
from experiments.common import free_captions, heldout_captions, heldout_pictures
from training.mini.judge import Judge, parse_caption
from glass_core.pipeline import Pipeline
from glass_core.presets import DEFAULT_PRESET
from glass_core.weights import REPO_WEIGHTS


@pytest.fixture(scope="module")
def judge() -> Judge:
    return Judge()


@pytest.mark.parametrize("preset", ["mini_gan", "mini_gan_d"])
def test_text_to_image_draws_the_held_out_caption(preset, judge):
    pipe = Pipeline.from_preset(preset, device="cpu", weights_root=REPO_WEIGHTS)
    hits = []
    for i, (caption, truth) in enumerate(heldout_captions(4, evaluate.SEED, varied=True)):
        *_, last = pipe.search(caption, seed=i)
        verdict = judge.judge_image(last.output)
        hits.append((verdict.digit, verdict.fg, verdict.bg) == truth)
    assert sum(hits) >= 3, hits


def test_short_forms_give_the_first_colour_to_the_digit(judge):
    """"red 3 blue", "3, red on blue", "red 3 in front of blue": word order alone names the digit's colour."""
    pipe = Pipeline.from_preset("mini_gan_d", device="cpu", weights_root=REPO_WEIGHTS)
    found = []
    for i, (caption, truth) in enumerate(free_captions(16, evaluate.SEED + 5, family="short")):
        *_, last = pipe.search(caption, seed=i)
        verdict = judge.judge_image(last.output)
        found.append((caption, (verdict.fg, verdict.bg) == truth[1:]))
    assert sum(ok for _, ok in found) >= 15, found


def test_image_to_text_names_the_held_out_digit():
    pipe = Pipeline.from_preset("mini_gpt2", device="cpu", weights_root=REPO_WEIGHTS)
    verdicts = []
    for i, (picture, truth) in enumerate(heldout_pictures(3, evaluate.SEED + 1)):
        *_, last = pipe.search(picture, seed=i)
        assert last.output.startswith("the picture of")
        verdicts.append(parse_caption(last.output).digit == truth[0])
    assert sum(verdicts) >= 2, verdicts


def test_a_search_starts_worse_than_it_ends(judge):
    """The first generation's best is a random latent; thirty generations later it is the caption."""
    pipe = Pipeline.from_preset("mini_gan", device="cpu", weights_root=REPO_WEIGHTS)
    records = list(pipe.search("a green four on a black background", seed=3))
    assert records[-1].similarity > records[0].similarity + 0.05
    assert judge.judge_image(records[-1].output).digit == 4


def test_default_presets_are_the_mini_set_and_run_offline(tmp_path, judge):
    """The README's first command on a fresh clone: no weights flag, no network."""
    assert DEFAULT_PRESET == {"text2image": "mini_gan_d", "image2text": "mini_gpt2"}
    out = tmp_path / "runs"
    cmd = [sys.executable, "-m", "glass_core", "text2image", "a green four on a black background",
               "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          cwd=REPO_WEIGHTS.parent,
                          env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_WEIGHTS.parent)})
    assert done.returncode == 0, done.stderr[-2000:]
    (folder,) = list(out.iterdir())
    card = json.loads((folder / "run.json").read_text())
    assert card["preset"]["name"] == "mini_gan_d"
    verdict = judge.judge_image(Image.open(folder / "result.png"))
    assert (verdict.digit, verdict.fg, verdict.bg) == (4, "green", "black")


def test_evaluation_command_writes_its_report(tmp_path):
    evaluate.main(["--prompts", "1", "--pictures", "1", "--generations", "3", "--out", str(tmp_path / "report")])
    saved = json.loads((tmp_path / "report.json").read_text())
    assert set(saved["presets"]) == {"mini_gan", "mini_gan_d", "mini_gpt2"}
    assert saved["judge"]["digit"] > 0.9 and saved["machine"]["cores"]
    sets = {name: set(p["sets"]) for name, p in saved["presets"].items()}
    text_sets = {"templates", "free wording (dev)", "free wording", "short forms"}
    assert sets == {"mini_gan": text_sets, "mini_gan_d": text_sets, "mini_gpt2": {"templates", "drawn apart"}}
    assert saved["presets"]["mini_gpt2"]["sets"]["drawn apart"]["clip_ceiling"]["n"] == 1
    report = (tmp_path / "report.md").read_text()
    assert "| mini_gan | free wording | ga | 32 × 3 | 1 |" in report and "Machine:" in report

