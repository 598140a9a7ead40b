"""The six StyleGAN2 presets run end to end on tiny networks saved under the official file names."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import SHARED
from glass_core.cli import main
from glass_core.pipeline import Pipeline
from glass_core.presets import PRESETS

pytestmark = pytest.mark.shared  # NVIDIA's fixture networks, from ../shared

FIXTURES = SHARED / "fixtures" / "stylegan2"
OFFICIAL = {  # official name -> the fixture in the same format
    "stylegan2-ffhq-1024x1024.pkl": "tiny-pytorch-network.pkl",
    "stylegan2-car-config-f.pkl": "tiny-tensorflow-network.pkl",
    "stylegan2-church-config-f.pkl": "tiny-tensorflow-network.pkl",
}


@pytest.fixture(scope="module")
def sg_root(tiny_root, tmp_path_factory):
    root = tmp_path_factory.mktemp("sg-weights")
    shutil.copytree(tiny_root / "clip", root / "clip")
    (root / "stylegan2").mkdir()
    for official, fixture in OFFICIAL.items():
        shutil.copy(FIXTURES / fixture, root / "stylegan2" / official)
    return root


@pytest.mark.parametrize("name", [f"StyleGAN2_{n}_{d}" for n in ("ffhq", "car", "church") for d in ("d", "nod")])
def test_preset_streams_and_improves(name, sg_root):
    preset = PRESETS[name].replace(clip="tiny", generations=3, pop_size=8)
    records = list(Pipeline.from_preset(preset, weights_root=sg_root).search("a smiling face", seed=0))
    last = records[-1]
    assert last.best_similarity >= records[0].best_similarity and last.evaluations >= 8 * 3
    assert (last.front is not None) == name.endswith("_d")
    width, height = last.output.size
    assert (width, height) == ((32, 24) if "car" in name else (32, 32))  # the car shows its band only
    if last.front:
        assert last.realism is not None and len(last.front) >= 1
    assert (sg_root / "stylegan2" / f"{name.split('_')[1]}.safetensors").is_file()  # converted once


def test_command_line_two_objective_run_keeps_the_front(sg_root, tmp_path, monkeypatch):
    monkeypatch.setitem(PRESETS, "StyleGAN2_ffhq_d", PRESETS["StyleGAN2_ffhq_d"].replace(clip="tiny", pop_size=8))
    assert main(["text2image", "a face", "--preset", "StyleGAN2_ffhq_d", "--generations", "2",
                 "--weights", str(sg_root), "--out", str(tmp_path)]) == 0
    (folder,) = list(tmp_path.iterdir())
    card = json.loads((folder / "run.json").read_text())
    assert card["result"]["front"] and all(len(p["genome"]) == 32 for p in card["result"]["front"])
    assert card["operators"] == "gentle"  # the paper presets now search with glass's measured default
    assert "realism" in card["history"][-1]
