"""The command line runs both tasks, writes a reproducible run card, and explains failures."""

from __future__ import annotations

import json

import numpy as np

from conftest import random_image
from glass_core.cli import main


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


def test_image_to_text_prints_a_caption(tmp_path, test_presets, tiny_root, capsys):
    photo = tmp_path / "photo.png"
    random_image(2).save(photo)
    res = run_cli(tmp_path, tiny_root, "image2text", str(photo), "--preset", "test_gpt2", "--generations", "2")
    caption = (res["folder"] / "caption.txt").read_text().strip()
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
    from glass_core.cli import _overrides, _parser

    args = _parser().parse_args(["text2image", "a dog", "--compile"])
    assert _overrides(args)["compile"] is True
    assert "compile" not in _overrides(_parser().parse_args(["text2image", "a dog"]))
