"""Weighted and negative prompts ("a | b:0.5 | c:-1") through the command line and the app's endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from gradio_client.exceptions import AppError

from app_support import app_presets, named, served  # noqa: F401  (fixtures)
from glass_app.handlers import ImageUpdate
from glass_core.cli import main
from glass_core.pipeline import Pipeline
from glass_core.prompts import combine

SPEC = "a red seven | on a blue background:0.5 | a cat:-1"
MALFORMED = [("people:-1", "positive weight"), ("a church | :2", "no text"), ("a:1 | a:-1", "cancel")]


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
