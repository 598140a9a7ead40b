"""A batch's metrics: CLIPScore as Hessel et al. define it, FID and IS through torch-fidelity's real loading path."""

from __future__ import annotations

import json
import math
import shutil
import statistics
import time
from pathlib import Path
from unittest import mock

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from glass_core.cli import main
from glass_core.batch.fidelity import INCEPTION_FILE, INCEPTION_URL, fid_and_is
from glass_core.batch.metrics import clip_score
from glass_core.scorer import load_clip
from glass_core.weights import REPO_WEIGHTS
from test_batch import CAPTIONS, EXAMPLES, captions_file, index, picture_folder, run


@pytest.fixture(scope="module")
def mini_clip():
    return load_clip("mini", torch.device("cpu"), REPO_WEIGHTS)


def by_hand(clip, caption: str, picture: Image.Image) -> float:
    """2.5 · max(cos, 0) from open_clip's own encode_text / encode_image (untrimmed), not glass's encoders."""
    with torch.inference_mode():
        text = clip.model.encode_text(clip.tokenizer([caption]))
        pixels = torch.from_numpy(__import__("numpy").asarray(picture.convert("RGB"), dtype="float32") / 255)
        image = clip.model.encode_image(clip.prepare(pixels.permute(2, 0, 1)[None]))
    return 2.5 * max(float(F.cosine_similarity(text, image)), 0.0)


def test_clipscore_of_drawn_pictures_is_the_hand_computation(tmp_path, mini_clip, capsys):
    out = tmp_path / "out"
    assert run(captions_file(tmp_path, CAPTIONS[:3]), out, "--metrics") == 0
    metrics = json.loads((out / "metrics.json").read_text())
    expected = [by_hand(mini_clip, r["target"]["caption"], Image.open(out / r["files"][0])) for r in index(out)]
    assert [p["clip_score"] for p in metrics["per_target"]] == pytest.approx(expected, abs=1e-5)
    assert metrics["mean"] == pytest.approx(statistics.fmean(expected), abs=1e-5)
    assert metrics["median"] == pytest.approx(statistics.median(expected), abs=1e-5)
    assert metrics["n"] == 3 and metrics["clip"] == "mini" and min(expected) > 0
    printed = capsys.readouterr().out
    assert f"mean {metrics['mean']:.4f}" in printed and printed.count("CLIPScore") == 4
    assert f"{metrics['mean']:.4f}" in (out / "report.html").read_text()


def test_the_metrics_command_scores_found_captions_against_their_pictures(tmp_path, mini_clip):
    pictures = picture_folder(tmp_path, ("red-7-on-blue.png", "white-4-on-magenta.png"))
    out = tmp_path / "out"
    assert run(pictures, out, preset="mini_gpt2") == 0
    assert main(["metrics", str(out), "--device", "cpu", "--weights", str(REPO_WEIGHTS)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    expected = [by_hand(mini_clip, r["caption"], Image.open(r["target"]["image"])) for r in index(out)]
    assert [p["clip_score"] for p in metrics["per_target"]] == pytest.approx(expected, abs=1e-5)


def test_a_negative_cosine_scores_zero():
    class Fixed:  # a scorer whose caption and picture point in opposite-ish directions
        def encode_texts(self, texts):
            return torch.tensor([[0.6, 0.8]])

        def encode_pil(self, image):
            return torch.tensor([[0.0, -1.0]]) if image == "away" else torch.tensor([[0.8, 0.6]])

    assert clip_score(Fixed(), "c", "toward") == pytest.approx((2.5 * 0.96, 0.96))
    assert clip_score(Fixed(), "c", "away") == (0.0, pytest.approx(-0.8))


def test_metrics_of_a_folder_with_no_batch_is_one_line(tmp_path, capsys):
    assert main(["metrics", str(tmp_path), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no finished targets" in err and len(err.strip().splitlines()) == 1


# ---- FID and IS: torch-fidelity's Inception, random weights in the file and place it reads ----

def save_random_inception(path: Path, seed: int) -> None:
    """InceptionV3 as torch-fidelity builds it, random values, saved as its release file is (a state dict)."""
    import torch_fidelity.feature_extractor_inceptionv3 as fe

    torch.manual_seed(seed)
    with mock.patch.object(fe, "load_state_dict_from_url", lambda *a, **k: None), \
            mock.patch.object(fe.FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None):
        model = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"])
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)


@pytest.fixture(scope="module")
def inception_files(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("inception")
    files = [folder / f"{seed}.pth" for seed in (0, 1)]
    for seed, path in enumerate(files):
        save_random_inception(path, seed)
    return files


@pytest.fixture
def torch_home(tmp_path, monkeypatch) -> Path:
    """An empty $TORCH_HOME: torch.hub's checkpoints folder is <it>/hub/checkpoints."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    return tmp_path / "torch-home"


@pytest.fixture
def reference(tmp_path) -> Path:
    folder = tmp_path / "reference"
    folder.mkdir()
    for picture in EXAMPLES.glob("*.png"):
        shutil.copy(picture, folder / picture.name)
    return folder


def test_our_url_is_torch_fidelitys():
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

    assert INCEPTION_URL == URL_INCEPTION_V3 and INCEPTION_FILE == "weights-inception-2015-12-05-6726825d.pth"


def test_fid_and_is_read_the_weights_where_torch_hub_keeps_them(tmp_path, torch_home, reference, inception_files):
    checkpoint = torch_home / "hub" / "checkpoints" / INCEPTION_FILE
    assert torch.hub.get_dir() == str(torch_home / "hub")
    checkpoint.parent.mkdir(parents=True)
    shutil.copy(inception_files[0], checkpoint)
    out = tmp_path / "out"
    assert run(captions_file(tmp_path, CAPTIONS), out, "--reference", str(reference)) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["inception_weights"] == str(checkpoint)
    assert metrics["fid_images"] == 4 and metrics["fid_reference_images"] == 4 and metrics["n"] == 4
    assert math.isfinite(metrics["fid"]) and metrics["fid"] >= 0 and metrics["inception_score"] >= 1 - 1e-6
    # Other values in the same file give other numbers: the file in hub's cache is what ran.
    shutil.copy(inception_files[1], checkpoint)
    again = fid_and_is([out / r["files"][0] for r in index(out)], reference, "cpu", tmp_path / "no-weights")
    assert again["fid"] != pytest.approx(metrics["fid"])


def test_missing_inception_weights_offline_are_one_line_at_once(tmp_path, torch_home, reference, capsys):
    out = tmp_path / "out"
    start = time.perf_counter()
    status = main(["batch", str(captions_file(tmp_path, CAPTIONS[:1])), "--preset", "mini_gan", "--out", str(out),
                   "--reference", str(reference), "--weights", str(REPO_WEIGHTS)])
    assert time.perf_counter() - start < 1
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("error: Missing weights: Inception-v3") and INCEPTION_FILE in err
    assert "offline" in err and len(err.strip().splitlines()) == 1 and not out.exists()
