"""The search as a timelapse: bounded frames and size, the last generation always kept; in the CLI, batch and page."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app_support import app_presets  # noqa: F401  (fixture)
from glass_app import handlers
from glass_core.cli import main
from glass_core.pipeline import Pipeline
from glass_core.records import GenerationRecord
from glass_core.timelapse import FRAME_MS, LAST_MS, Timelapse, fit, suffix
from glass_core.weights import REPO_WEIGHTS


def record(generation: int, output, generations: int = 1000) -> GenerationRecord:
    """A record carrying only what a timelapse reads."""
    zero = np.zeros(1)
    return GenerationRecord(generation, generations, output, 0.0, None, zero, 0.0, 0.0, zero[None], zero, None,
                            None, generation, 0.0)


def coded(generation: int, size: tuple[int, int] = (16, 12)) -> Image.Image:
    """A picture whose red channel says which generation drew it."""
    return Image.new("RGB", size, (generation % 256, generation // 256, 0))


def frames_of(path: Path) -> list[Image.Image]:
    """The animation's frames, in order (the encoder merges equal neighbours: see generations_in)."""
    with Image.open(path) as animation:
        assert animation.format in ("WEBP", "GIF") and animation.is_animated
        out = []
        for i in range(animation.n_frames):
            animation.seek(i)
            out.append(animation.convert("RGB"))
        return out


def generations_in(path: Path) -> int:
    """How many generations the animation shows, read from its frames' durations: an unchanged best
    makes equal frames, which WebP and GIF encoders merge into one longer frame."""
    with Image.open(path) as animation:
        total = 0
        for i in range(animation.n_frames):
            animation.seek(i)
            animation.load()  # WebP reads a frame's duration when it decodes it
            total += animation.info["duration"]
    return (total - LAST_MS) // FRAME_MS + 1


@pytest.mark.parametrize("generations", [1, 7, 59, 60, 61, 333, 1000])
def test_frames_are_bounded_even_and_end_on_the_last_generation(generations):
    lapse = Timelapse(max_frames=60)
    for gen in range(1, generations + 1):
        lapse.add(record(gen, coded(gen)))
    kept = [gen for gen, _ in lapse.sequence()]
    assert len(kept) == min(generations, 60) or (generations > 60 and 30 <= len(kept) <= 60)
    assert kept[0] == 1 and kept[-1] == generations
    steps = set(np.diff(kept[:-1]).tolist())
    assert len(steps) <= 1, steps  # evenly spread (the last frame may come sooner after the one before)


def test_frames_fit_the_size_bound_and_small_pictures_are_enlarged_by_whole_pixels():
    assert fit(Image.new("RGB", (1024, 512)), 256).size == (256, 128)
    small = fit(coded(3, (32, 32)), 256)
    assert small.size == (256, 256) and set(small.getdata()) == {(3, 0, 0)}  # nearest: no blur


def test_an_unchanged_best_is_fitted_once():
    lapse, best = Timelapse(), coded(1)
    lapse.add(record(1, best))
    first = lapse.last[1]
    lapse.add(record(2, best))  # the search hands back the same object when the best did not change
    assert lapse.last[1] is first and lapse.last[0] == 2


def test_the_file_plays_the_kept_frames_in_order(tmp_path):
    lapse = Timelapse(max_frames=8, max_side=64)
    for gen in range(1, 21):
        lapse.add(record(gen, coded(gen * 10)))
    path = lapse.save(tmp_path / "run-timelapse")
    assert path.name == f"run-timelapse{suffix()}"
    shown = [frame.getpixel((0, 0))[0] for frame in frames_of(path)]
    wanted = [gen * 10 for gen, _ in lapse.sequence()]
    assert len(shown) == len(wanted) <= 8 and all(abs(a - b) <= 8 for a, b in zip(shown, wanted))  # lossy WebP
    assert max(frames_of(path)[0].size) <= 64


def test_captions_make_no_timelapse():
    lapse = Timelapse()
    lapse.add(record(1, "the picture of a dog"))
    assert lapse.encode() is None and lapse.save(Path("unused")) is None


def test_the_command_line_writes_the_timelapse_beside_the_result(tmp_path):
    assert main(["text2image", "a red 3 on a blue background", "--preset", "mini_gan", "--generations", "5",
                 "--pop-size", "8", "--device", "cpu", "--weights", str(REPO_WEIGHTS), "--out", str(tmp_path)]) == 0
    (folder,) = tmp_path.iterdir()
    (animation,) = folder.glob("*timelapse*")
    frames = frames_of(animation)
    assert generations_in(animation) == 5 and max(frames[0].size) <= 256
    last = np.asarray(Image.open(folder / "result.png").convert("RGB").resize(frames[-1].size, Image.NEAREST), float)
    assert np.abs(np.asarray(frames[-1], float) - last).mean() < 8  # the last frame is the result


def test_batch_writes_timelapses_only_when_asked(tmp_path):
    captions = tmp_path / "captions.txt"
    captions.write_text("a red 3 on a blue background\na green four on a black background\n")
    common = ["batch", str(captions), "--preset", "mini_gan", "--device", "cpu", "--weights", str(REPO_WEIGHTS),
              "--generations", "3", "--pop-size", "8"]
    assert main([*common, "--out", str(tmp_path / "plain")]) == 0
    assert not list((tmp_path / "plain").glob("*timelapse*"))
    assert main([*common, "--out", str(tmp_path / "lapse"), "--timelapse"]) == 0
    rows = [json.loads(line) for line in (tmp_path / "lapse" / "index.jsonl").read_text().splitlines()]
    for row in rows:
        assert "timelapse" in row["timelapse"] and generations_in(tmp_path / "lapse" / row["timelapse"]) == 3
        assert len(row["files"]) == 2  # result and run card, as before
    assert not list((tmp_path / "lapse").glob(".tmp-*"))


def test_the_page_offers_the_timelapse_with_the_result(app_presets):
    *_, last = handlers.text_to_image("a red 3 on a blue background", app_presets["text2image"], 4, 8, 0, False)
    (animation,) = [f for f in last.files if "timelapse" in Path(f).name]
    assert generations_in(Path(animation)) == 4
    picture = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.png"))[0]
    *_, caption_run = handlers.image_to_text(str(picture), app_presets["image2text"], 2, 4, 0)
    assert not [f for f in caption_run.files if "timelapse" in f]
    history = caption_run.run.card.to_dict()["history"]  # for captions, the run card's history is the timelapse
    assert [row["caption"] for row in history][-1] == caption_run.caption and len(history) == 2
