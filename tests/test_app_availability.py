"""Weight status per preset (present / downloadable / missing offline) and what the tabs open on."""

from __future__ import annotations

import shutil

import pytest

from glass_app import choices
from glass_core.availability import preset_status
from glass_core.presets import PRESETS


@pytest.fixture
def online(monkeypatch):
    """No offline flag, as on a machine with network access (nothing is downloaded by these tests)."""
    for name in ("HF_HUB_OFFLINE", "GLASS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)


def test_present_missing_and_downloadable(test_presets, tiny_root, online, monkeypatch):
    assert preset_status(test_presets["test_biggan"], tiny_root) == "present"
    assert preset_status(PRESETS["DeepMindBigGAN256"], tiny_root) == "downloadable"
    monkeypatch.setenv("GLASS_OFFLINE", "1")
    assert preset_status(PRESETS["DeepMindBigGAN256"], tiny_root) == "missing"


@pytest.mark.shared  # the tiny GPT-2 reads GPT-2's tokenizer from ../shared
def test_gpt2_present_but_the_papers_clip_missing(test_presets, tiny_gpt2_root, online, monkeypatch):
    assert preset_status(test_presets["test_gpt2"], tiny_gpt2_root) == "present"
    monkeypatch.setenv("GLASS_OFFLINE", "1")
    # GPT-2 is here, but the paper's CLIP is not: the preset as a whole is missing.
    assert preset_status(PRESETS["GPT2"], tiny_gpt2_root) == "missing"


def test_the_mini_set_is_never_downloadable(tmp_path, online):
    for name in ("mini_gan", "mini_gan_d", "mini_gpt2"):
        assert preset_status(PRESETS[name], tmp_path) == "missing"
    (tmp_path / "mini" / "clip").mkdir(parents=True)
    (tmp_path / "mini" / "clip" / "open_clip_config.json").write_text("{}")
    (tmp_path / "mini" / "gan").mkdir(parents=True)
    (tmp_path / "mini" / "gan" / "model.safetensors").write_bytes(b"x")
    assert preset_status(PRESETS["mini_gan"], tmp_path) == "missing"  # its config.json is needed too
    (tmp_path / "mini" / "gan" / "config.json").write_text("{}")
    assert preset_status(PRESETS["mini_gan"], tmp_path) == "present"


def test_hub_cache_and_stylegan2_files_count_as_present(test_presets, tiny_root, tmp_path):
    shutil.copytree(tiny_root / "biggan", tmp_path / "biggan")  # the tiny CLIP only in the hub cache
    assert preset_status(test_presets["test_biggan"], tmp_path) == "present"
    car = PRESETS["StyleGAN2_car_d"].replace(clip="tiny")
    assert preset_status(car, tmp_path) == "missing"
    (tmp_path / "stylegan2").mkdir()
    (tmp_path / "stylegan2" / "stylegan2-car-config-f.pkl").write_bytes(b"x")
    assert preset_status(car, tmp_path) == "present"


def test_dropdown_labels_say_the_status(test_presets, tiny_root, monkeypatch):
    monkeypatch.setenv("GLASS_WEIGHTS", str(tiny_root))
    labels = dict((name, label) for label, name in choices.choices("text2image"))
    assert labels["test_biggan"] == "test_biggan — weights present"
    assert labels["DeepMindBigGAN256"] == "DeepMindBigGAN256 — missing offline"
    assert "GPT2" not in labels and "GPT2" in dict((n, lab) for lab, n in choices.choices("image2text"))


def test_tabs_open_on_the_mini_set_when_paper_weights_are_absent(tmp_path, monkeypatch):
    monkeypatch.setenv("GLASS_WEIGHTS", str(tmp_path))
    start = choices.opening("text2image")
    assert start.name == "mini_gan_d" and "embedded mini set" in start.note
    assert choices.opening("image2text").name == "mini_gpt2"


def test_tabs_open_on_a_paper_preset_whose_weights_are_here(test_presets, tiny_root, monkeypatch):
    monkeypatch.setenv("GLASS_WEIGHTS", str(tiny_root))
    assert choices.opening("text2image") == choices.Opening("test_biggan", "")


def test_preset_change_sets_the_widgets(test_presets, tiny_root, monkeypatch):
    monkeypatch.setenv("GLASS_WEIGHTS", str(tiny_root))
    gens, pop, use_d, note = choices.preset_widgets("StyleGAN2_ffhq_d")
    assert gens["value"] == 500 and pop["value"] == 16
    assert use_d["visible"] is True and use_d["value"] is True and "NSGA2" in note
    assert choices.preset_widgets("test_biggan")[2]["visible"] is False
