"""Weighted and negative prompts ("a | b:0.5 | c:-1") through the command line and the app's endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr
import pytest
import torch
from gradio_client.exceptions import AppError

from app_support import app_presets, named, served  # noqa: F401  (fixtures)
from glass_app import handlers
from glass_app.handlers import ImageUpdate
from glass_core.cli import main
from glass_core.pipeline import Pipeline
from glass_core.prompts import combine
from glass_core.weights import REPO_WEIGHTS

SPEC = "a red seven | on a blue background:0.5 | a cat:-1"
MALFORMED = [("people:-1", "positive weight"), ("a church | :2", "no text"), ("a:1 | a:-1", "cancel")]
# Text a person types that holds a colon and a number, searched as it is written (one prompt, weight 1).
LITERAL = ["a clock showing 10:30", "John 3:16", "ratio 16:9", "12:00:00"]
# Weights that are refused, each with one message naming the part and the allowed range.
REFUSED = {"a:1e400": "'a:1e400'", "a:" + "9" * 400: "'a:9999", "a:nan": "'a:nan'", "a:inf": "'a:inf'",
           "a red seven | a cat:-1000": "'a cat:-1000'"}


class EncodeSpy:
    """Records the embedding every search is given, to compare with the weighted sum it should be."""

    def __init__(self, monkeypatch):
        self.targets: list[tuple[Pipeline, torch.Tensor]] = []
        original = Pipeline.encode_target

        def encode(pipe, target):
            out = original(pipe, target)
            self.targets.append((pipe, out[0]))
            return out

        monkeypatch.setattr(Pipeline, "encode_target", encode)

    def matches_weighted_sum(self) -> bool:
        """The last search aimed at the unit vector along 1·a + 0.5·b − 1·c."""
        pipe, target = self.targets[-1]
        parts = pipe.scorer.encode_texts(["a red seven", "on a blue background", "a cat"])
        return torch.allclose(target, combine(parts, [1.0, 0.5, -1.0]), atol=1e-5)


def test_cli_accepts_weighted_prompts(tmp_path, test_presets, tiny_root, monkeypatch):
    spy = EncodeSpy(monkeypatch)
    out = tmp_path / "runs"
    status = main(["text2image", SPEC, "--preset", "test_biggan", "--generations", "1", "--pop-size", "4",
                   "--weights", str(tiny_root), "--out", str(out)])
    (folder,) = list(out.iterdir())
    card = json.loads((folder / "run.json").read_text())
    assert status == 0 and card["target"] == {"caption": SPEC} and spy.matches_weighted_sum()


@pytest.mark.parametrize("spec, message", MALFORMED)
def test_cli_refuses_a_malformed_spec_in_one_line(tmp_path, test_presets, tiny_root, capsys, spec, message):
    status = main(["text2image", spec, "--preset", "test_biggan", "--generations", "1",
                   "--weights", str(tiny_root), "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("error: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_endpoint_accepts_weighted_prompts_and_refuses_malformed_ones(served, monkeypatch):
    spy = EncodeSpy(monkeypatch)
    client, preset = served.client(), served.presets["text2image"]
    result = named(client.predict(SPEC, preset, 2, 8, 0, False, api_name="/text_to_image"), ImageUpdate)
    card = json.loads(Path(next(f for f in result["files"] if f.endswith(".json"))).read_text())
    assert card["target"] == {"caption": SPEC} and "Generation 2 of 2" in result["progress"]
    assert spy.matches_weighted_sum()
    for spec, message in MALFORMED:
        with pytest.raises(AppError, match=message):
            client.predict(spec, preset, 1, 4, 0, False, api_name="/text_to_image")


def test_cli_searches_times_and_references_as_written(tmp_path, monkeypatch):
    spy = EncodeSpy(monkeypatch)
    for spec in LITERAL:
        status = main(["text2image", spec, "--preset", "mini_gan", "--generations", "1", "--pop-size", "4",
                       "--weights", str(REPO_WEIGHTS), "--out", str(tmp_path / "runs")])
        pipe, target = spy.targets[-1]
        assert status == 0 and torch.allclose(target, pipe.scorer.encode_texts([spec]), atol=1e-5)


@pytest.mark.parametrize("spec, part", REFUSED.items())
def test_cli_refuses_a_bad_weight_in_one_line(tmp_path, capsys, spec, part):
    status = main(["text2image", spec, "--preset", "mini_gan", "--generations", "1", "--pop-size", "4",
                   "--weights", str(REPO_WEIGHTS), "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("error: ") and err.count("\n") == 1
    assert part in err and "-100 to 100" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_app_searches_times_and_references_as_written(app_presets, monkeypatch):
    spy = EncodeSpy(monkeypatch)
    for spec in LITERAL:
        updates = list(handlers.text_to_image(spec, app_presets["text2image"], 1, 4, 0, False))
        pipe, target = spy.targets[-1]
        assert torch.allclose(target, pipe.scorer.encode_texts([spec]), atol=1e-5)
        assert updates[-1].run.card.target == {"caption": spec}


@pytest.mark.parametrize("spec, part", [*REFUSED.items(), ("a red seven:1 | a red seven:-1", "cancel")])
def test_app_refuses_a_bad_weight_with_one_message(app_presets, spec, part):
    with pytest.raises(gr.Error) as info:
        list(handlers.text_to_image(spec, app_presets["text2image"], 1, 4, 0, False))
    assert part in info.value.message and "\n" not in info.value.message
