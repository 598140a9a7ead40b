"""The command line runs both tasks, writes a reproducible run card, and explains failures."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from conftest import random_image
from glass_core.cli import main
from glass_core.presets import PRESETS
from glass_core.records import GenerationRecord
from glass_core.runcard import RunCard, save


def run_cli(tmp_path, tiny_root, *args) -> dict:
    out = tmp_path / "runs"
    assert main([*args, "--weights", str(tiny_root), "--out", str(out)]) == 0
    (folder,) = list(out.iterdir())
    return {"folder": folder, "card": json.loads((folder / "run.json").read_text())}


def test_text_to_image_writes_image_and_run_card(tmp_path, test_presets, tiny_root):
    res = run_cli(tmp_path, tiny_root, "text2image", "a dog in the woods", "--preset", "test_biggan",
                  "--generations", "3", "--seed", "5")
    card = res["card"]
    assert (res["folder"] / "result.png").is_file()
    assert card["result"]["file"] == card["result"]["image"] == "result.png"
    assert card["target"] == {"caption": "a dog in the woods"}
    assert card["seed"] == 5 and card["preset"]["generations"] == 3 and card["preset"]["name"] == "test_biggan"
    assert [h["generation"] for h in card["history"]] == [1, 2, 3]
    assert len(card["result"]["genome"]) == 128 + 1000
    assert {"torch", "pymoo", "open_clip_torch", "transformers"} <= set(card["libraries"])


def test_run_card_reproduces_the_run(tmp_path, test_presets, tiny_root):
    args = ["text2image", "a red car", "--preset", "test_biggan", "--generations", "2", "--seed", "9"]
    first = run_cli(tmp_path / "a", tiny_root, *args)["card"]
    again = run_cli(tmp_path / "b", tiny_root, *args)["card"]
    assert first["result"]["genome"] == again["result"]["genome"]
    assert [h["best_similarity"] for h in first["history"]] == [h["best_similarity"] for h in again["history"]]


@pytest.mark.shared  # the tiny GPT-2 reads GPT-2's tokenizer from ../shared
def test_image_to_text_prints_a_caption(tmp_path, test_presets, tiny_gpt2_root, tiny_root, capsys):
    photo = tmp_path / "photo.png"
    random_image(2).save(photo)
    res = run_cli(tmp_path, tiny_root, "image2text", str(photo), "--preset", "test_gpt2", "--generations", "2")
    caption = (res["folder"] / "caption.txt").read_text().strip()
    assert res["card"]["result"]["caption"] == caption and res["card"]["result"]["file"] == "caption.txt"
    assert caption.startswith("the picture of") and caption in capsys.readouterr().out
    assert len(res["card"]["target"]["image_sha256"]) == 64
    assert np.array_equal(res["card"]["result"]["genome"], np.rint(res["card"]["result"]["genome"]))


def test_missing_weights_is_one_clear_line(tmp_path, capsys):
    status = main(["text2image", "a dog", "--preset", "DeepMindBigGAN256", "--weights", str(tmp_path),
                   "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("error: Missing weights: BigGAN biggan-deep-256")
    assert "Traceback" not in err


def test_unreadable_image_is_one_clear_line(tmp_path, test_presets, tiny_root, capsys):
    bad = tmp_path / "notes.jpg"
    bad.write_text("this is not a picture")
    status = main(["image2text", str(bad), "--preset", "test_gpt2", "--weights", str(tiny_root)])
    assert status == 2 and "not an image" in capsys.readouterr().err


def test_compile_flag_sets_the_preset_field():
    from glass_core.cli import _parser
    from glass_core.cli_args import search_overrides as _overrides

    args = _parser().parse_args(["text2image", "a dog", "--compile"])
    assert _overrides(args)["compile"] is True
    assert "compile" not in _overrides(_parser().parse_args(["text2image", "a dog"]))


def record(output) -> GenerationRecord:
    """A made-up last generation whose best individual is `output`."""
    genome = np.arange(4, dtype=np.float32)
    return GenerationRecord(2, 5, output, 0.25, None, genome, 0.25, 0.2, genome[None], np.array([0.25]),
                            None, None, 16, 1.5)


@pytest.mark.parametrize("output, names", [
    (Image.new("RGB", (8, 8), "red"), ["result.png", "run.json"]),
    ("a red seven", ["caption.txt", "run.json"]),
    (None, ["run.json"]),  # stopped before the first generation: the card alone
])
def test_save_writes_the_result_then_the_run_card(tmp_path, output, names):
    card = RunCard(PRESETS["mini_gan"], {"caption": "a red seven"}, device="cpu")
    if output is not None:
        card.add(record(output))
    paths = save(card, tmp_path / "new")
    assert [p.name for p in paths] == names and all(p.parent == tmp_path / "new" and p.is_file() for p in paths)
    data = json.loads(paths[-1].read_text())
    assert data["history"] == card.to_dict()["history"]
    assert data["result"].get("file") == (names[0] if output is not None else None)
    if isinstance(output, str):
        assert paths[0].read_text() == "a red seven\n" and data["result"]["caption"] == "a red seven"
    elif output is not None:
        assert Image.open(paths[0]).getpixel((0, 0)) == (255, 0, 0) and data["result"]["image"] == "result.png"


def test_save_with_a_stem_names_both_files_after_it(tmp_path):
    card = RunCard(PRESETS["mini_gan"], {"caption": "a red seven"}, device="cpu")
    card.add(record(Image.new("RGB", (8, 8), "red")))
    png, card_file = save(card, tmp_path, stem="glass-mini_gan-seed0-gen2")
    assert (png.name, card_file.name) == ("glass-mini_gan-seed0-gen2.png", "glass-mini_gan-seed0-gen2.json")
    assert json.loads(card_file.read_text())["result"]["file"] == png.name


def test_the_run_card_says_which_operator_set_ran(tmp_path, test_presets, tiny_root):
    args = ["text2image", "a dog", "--preset", "test_biggan", "--generations", "2"]
    glass = run_cli(tmp_path / "a", tiny_root, *args)["card"]
    paper = run_cli(tmp_path / "b", tiny_root, *args, "--operators", "paper")["card"]
    assert glass["operators"] == "glass" and paper["operators"] == "paper"
    assert paper["preset"]["operators"]["pm_gene_prob"] == 0.5  # the whole set is recorded, not just its name
    assert paper["result"]["genome"] != glass["result"]["genome"]  # and it is what ran


def test_a_missing_image_file_is_one_clear_line(tmp_path, capsys):
    status = main(["image2text", str(tmp_path / "missing.jpg"), "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("error: ") and "missing.jpg" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("cuda, expected", [(True, "cuda"), (False, "cpu")])
def test_device_defaults_to_cuda_when_there_is_one(monkeypatch, tmp_path, capsys, cuda, expected):
    import torch

    from glass_core.errors import GlassError
    from glass_core.pipeline import Pipeline

    seen = {}

    def from_preset(preset, device=None, **kwargs):
        seen["device"] = device
        raise GlassError("stopped here by the test")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(Pipeline, "from_preset", staticmethod(from_preset))
    assert main(["text2image", "a dog", "--out", str(tmp_path / "runs")]) == 2
    assert seen["device"] == expected
    assert main(["text2image", "a dog", "--device", "cpu", "--out", str(tmp_path / "runs")]) == 2
    assert seen["device"] == "cpu"
