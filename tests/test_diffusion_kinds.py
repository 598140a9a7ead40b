"""The diffusion kinds (sd_turbo, sdxl_turbo) loaded offline from tiny pipelines in the real hub layout."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from diffusion_support import TINY_SIZE, diffusion_presets, diffusion_root  # noqa: F401  (fixtures)
from glass_core.errors import BadInputError, MissingWeightsError, UnsafeFileError
from glass_core.generators import get_kind


def _tree(folder: Path) -> dict[str, str]:
    """Every file under `folder` with its SHA-256: what 'left as it was' compares."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _load(root: Path, kind: str = "sd_turbo", **args):
    return get_kind(kind).load(torch.device("cpu"), root, size=TINY_SIZE, **args)


@pytest.mark.parametrize("kind", ["sd_turbo", "sdxl_turbo"])
def test_loads_from_the_hub_cache_offline_and_renders_noise(diffusion_root, kind):
    gen = _load(diffusion_root, kind)
    assert type(gen.pipe).__name__ == ("StableDiffusionPipeline" if kind == "sd_turbo" else "StableDiffusionXLPipeline")
    assert gen.latent.n_real == 4 * 8 * 8 and gen.latent.real_init == "normal"
    noise = np.random.default_rng(0).standard_normal((3, gen.latent.n_var))
    bound = gen.bind("a red apple")
    images = bound.generate(noise)
    assert images.shape == (3, 3, TINY_SIZE, TINY_SIZE) and 0 <= images.min() and images.max() <= 1
    assert not torch.allclose(images[0], images[1])  # the noise is the genome: it changes the picture
    shown = bound.show(noise[:1])
    assert isinstance(shown[0], Image.Image) and shown[0].size == (TINY_SIZE, TINY_SIZE)
    # Deterministic in the genome: the same noise gives the same picture.
    assert torch.allclose(bound.generate(noise[:1]), images[:1], atol=1e-5)


def test_the_prompt_is_encoded_once_per_search(diffusion_presets, diffusion_root, monkeypatch):
    from glass_core.pipeline import Pipeline

    pipe = Pipeline.from_preset("test_sdturbo", weights_root=diffusion_root)
    calls = []  # text encoder forwards: the prompt's tokens each time
    hook = pipe.generator.pipe.text_encoder.register_forward_hook(lambda m, args, out: calls.append(args[0]))
    try:
        records = list(pipe.search("a red apple", generations=3))
        pipe.show(records[-1].population[:2], "a red apple")  # the app's gallery, the same prompt
    finally:
        hook.remove()
    assert len(records) == 3 and records[-1].evaluations == 24
    assert len(calls) == 1 and calls[0].shape[0] == 1  # once per search, not per generation or genome


def test_a_planted_noise_is_found_on_the_tiny_pipeline(diffusion_root):
    """The target is the mini CLIP's embedding of a hidden noise's picture: the search gets close to it."""
    from glass_core.operators import LatentSampling
    from glass_core.presets import Preset
    from glass_core.scorer import load_clip
    from glass_core.search import run_search
    from glass_core.weights import REPO_WEIGHTS

    gen = _load(diffusion_root).bind("a red apple")
    clip = load_clip("mini", torch.device("cpu"), REPO_WEIGHTS)
    sample = LatentSampling(gen.latent).do
    hidden = sample(None, 1, random_state=np.random.default_rng(100)).get("X")
    others = sample(None, 64, random_state=np.random.default_rng(5)).get("X")
    with torch.inference_mode():
        target = clip.encode_images(gen.generate(hidden))
        chance = (clip.encode_images(gen.generate(others)) @ target.T).ravel().numpy()
    preset = Preset(name="planted", task="text2image", generator="sd_turbo", clip="mini", pop_size=16,
                    generations=12, batch_size=16, seed=0)
    records = list(run_search(gen, clip, target, preset))
    # Beyond the best of 64 random noises by a third of the way to the hidden noise's 1.0: the
    # tiny pipeline's pictures are noise to the mini CLIP, which puts them all close together
    # (shipped CLIP: chance 0.943 at the median, 0.981 at best; found 0.988; first generation 0.984).
    best_chance, found = float(chance.max()), records[-1].best_similarity
    assert best_chance < 0.99 and found - best_chance > (1 - best_chance) / 3, (best_chance, found)
    assert records[-1].best_similarity > records[0].best_similarity


def test_missing_weights_offline_name_what_to_fetch_at_once(tmp_path):
    root = tmp_path / "weights"
    root.mkdir()
    start = time.perf_counter()
    with pytest.raises(MissingWeightsError) as err:
        _load(root, repo="glass-tests/no-such-pipeline")
    assert time.perf_counter() - start < 1.0
    message = str(err.value)
    assert "glass-tests/no-such-pipeline" in message and "offline" in message
    assert "huggingface-cli download glass-tests/no-such-pipeline" in message and "madebyollin/taesd" in message
    assert list(root.iterdir()) == []  # nothing written


def test_a_repository_of_another_pipeline_class_is_refused(diffusion_root, tmp_path):
    folder = tmp_path / "flux"
    folder.mkdir()
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "FluxPipeline"}))
    before = _tree(folder)
    with pytest.raises(BadInputError, match="holds a FluxPipeline; glass runs only StableDiffusionPipeline"):
        _load(diffusion_root, repo=str(folder))
    assert _tree(folder) == before


def test_a_damaged_weights_file_gets_one_clear_message_and_stays_as_it_was(diffusion_root, tmp_path):
    from glass_core.weights import hub_cached_path

    folder = tmp_path / "sd-turbo"
    shutil.copytree(hub_cached_path("stabilityai/sd-turbo", "model_index.json").parent, folder)
    unet = folder / "unet" / "diffusion_pytorch_model.safetensors"
    unet.write_bytes(unet.read_bytes()[:1000])  # a download cut short
    before = _tree(folder)
    with pytest.raises(BadInputError, match="could not be read: it is damaged or incomplete"):
        _load(tmp_path)  # weights/sd-turbo/ is read before the cache
    assert _tree(folder) == before


def test_the_aesthetic_head_reads_the_published_layout_and_refuses_code(diffusion_root, tmp_path):
    from glass_core.aesthetic import FILENAME, FOLDER, load_aesthetic

    head = load_aesthetic(diffusion_root)
    state = torch.load(diffusion_root / FOLDER / FILENAME, weights_only=True)
    x = torch.nn.functional.normalize(torch.randn(4, 128), dim=-1)
    expected = x
    for i in (0, 2, 4, 6, 7):  # the published MLP: Linear layers with dropout between, no activation
        expected = expected @ state[f"layers.{i}.weight"].T + state[f"layers.{i}.bias"]
    assert torch.allclose(head(x), expected.ravel(), atol=1e-5)

    class Payload:
        def __reduce__(self):
            return (print, ("ran code",))

    bad = tmp_path / FOLDER / FILENAME
    bad.parent.mkdir(parents=True)
    torch.save({"layers.0.weight": Payload()}, bad)
    with pytest.raises(UnsafeFileError):
        load_aesthetic(tmp_path)


def test_aesthetic_preset_runs_nsga2_with_the_aesthetic_score_on_the_front(diffusion_presets, diffusion_root):
    from glass_core.generators.base import second_objective
    from glass_core.pipeline import Pipeline

    pipe = Pipeline.from_preset("test_sdturbo_aesthetic", weights_root=diffusion_root)
    assert second_objective(pipe.generator).label == "aesthetic score"
    assert get_kind("sd_turbo").second.label == "aesthetic score"
    records = list(pipe.search("a red apple", generations=2))
    last = records[-1]
    assert last.front and all(np.isfinite(p.realism) for p in last.front)
    with torch.inference_mode():  # the second objective is the head over the search's own embedding
        emb = pipe.scorer.encode_images(pipe.generator.bind("a red apple").generate(last.genome[None]))
        assert pipe.generator.aesthetic(emb).item() == pytest.approx(last.realism, abs=1e-4)
    # Raised as it is, not hinged: the front's members trade similarity against a higher score.
    sims = [p.similarity for p in last.front]
    scores = [p.realism for p in last.front]
    assert len(last.front) == 1 or np.corrcoef(sims, scores)[0, 1] < 0


def test_the_command_line_draws_with_sdturbo_from_the_hub_cache(diffusion_root, tmp_path, monkeypatch, capsys):
    """`python -m glass_core text2image "a red apple" --preset SDTurbo`, on the tiny pipeline in the offline cache."""
    from conftest import TINY_CLIP_ARCH, TINY_CLIP_REPO
    from glass_core.cli import main
    from glass_core.scorer import CLIP_MODELS, ClipSpec

    # ViT-L/14 is too large to fake: the tiny CLIP stands in under its name, the preset is SDTurbo's own.
    monkeypatch.setitem(CLIP_MODELS, "ViT-L-14-quickgelu/openai",
                        ClipSpec(folder="clip/tiny", arch=TINY_CLIP_ARCH, hub_repo=TINY_CLIP_REPO))
    out = tmp_path / "runs"
    assert main(["text2image", "a red apple", "--preset", "SDTurbo", "--generations", "1", "--pop-size", "2",
                 "--weights", str(diffusion_root), "--out", str(out)]) == 0
    (folder,) = list(out.iterdir())
    card = json.loads((folder / "run.json").read_text())
    with Image.open(folder / "result.png") as picture:
        assert picture.size == (512, 512)  # shown through the full VAE at the preset's size
    assert card["preset"]["name"] == "SDTurbo" and card["target"] == {"caption": "a red apple"}
    assert len(card["result"]["genome"]) == 4 * 64 * 64


def test_the_command_line_names_what_to_fetch_for_sdxlturbo(tmp_path, monkeypatch, capsys):
    from glass_core.cli import main
    from glass_core.generators import diffusion

    monkeypatch.setitem(diffusion.MODELS, "sdxl_turbo",
                        diffusion.DiffusionModel("glass-tests/absent-sdxl", "sdxl-turbo", "StableDiffusionXLPipeline",
                                                 "glass-tests/absent-taesdxl", "taesdxl"))

    status = main(["text2image", "a red apple", "--preset", "SDXLTurbo", "--weights", str(tmp_path),
                   "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "huggingface-cli download glass-tests/absent-sdxl" in err


def test_the_preset_list_says_whether_the_diffusion_weights_are_here(diffusion_presets, diffusion_root, tmp_path):
    from glass_core.availability import preset_status
    from glass_core.presets import PRESETS

    assert preset_status(PRESETS["test_sdturbo"], diffusion_root) == "present"
    assert preset_status(PRESETS["test_sdturbo_aesthetic"], diffusion_root) == "present"
    # The aesthetic head is part of the aesthetic preset's weights: without it, missing offline.
    (tmp_path / "mini").mkdir()
    (tmp_path / "mini" / "clip").symlink_to(diffusion_root / "mini" / "clip")
    assert preset_status(PRESETS["test_sdturbo"], tmp_path) == "present"  # the pipeline from the hub cache
    assert preset_status(PRESETS["test_sdturbo_aesthetic"], tmp_path) == "missing"
    assert preset_status(PRESETS["SDXLTurbo"], tmp_path) == "missing"  # ViT-L/14 is not in the offline cache


def test_batch_and_zerogpu_chunks_draw_each_caption_with_its_own_prompt(diffusion_presets, diffusion_root, tmp_path):
    """A captions file through the batch command; a chunked search (ZeroGPU's calls) keeps the prompt bound."""
    from glass_core.chunks import chunked_search, plain_runner
    from glass_core.cli import main
    from glass_core.pipeline import Pipeline

    captions = tmp_path / "captions.txt"
    captions.write_text("a red apple\n\na blue car\n")
    out = tmp_path / "out"
    assert main(["batch", str(captions), "--preset", "test_sdturbo", "--out", str(out), "--device", "cpu",
                 "--weights", str(diffusion_root), "--generations", "1", "--pop-size", "4"]) == 0
    rows = [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]
    assert [r["target"] for r in rows] == [{"caption": "a red apple"}, {"caption": "a blue car"}]
    assert {r["status"] for r in rows} == {"ok"}

    pipe = Pipeline.from_preset("test_sdturbo", weights_root=diffusion_root)
    records = list(chunked_search(plain_runner(pipe.search, "a red apple", pop_size=4), generations=3,
                                  budget_s=0.01, seed=0))
    assert [r.generation for r in records] == [1, 2, 3]
    # What each chunk showed is the prompt-bound picture of its genome, not an unconditioned one.
    again = pipe.show(records[-1].genome, "a red apple")[0]
    assert np.array_equal(np.asarray(again), np.asarray(records[-1].output))
    assert not np.array_equal(np.asarray(pipe.show(records[-1].genome)[0]), np.asarray(again))


def test_showing_a_scored_genome_reuses_its_latents(diffusion_root):
    """The shown individual was just scored: its picture needs the full VAE, not a second UNet pass."""
    gen = _load(diffusion_root).bind("a red apple")
    noise = np.random.default_rng(3).standard_normal((4, gen.latent.n_var))
    calls = []
    hook = gen.pipe.unet.register_forward_hook(lambda m, args, out: calls.append(len(args[0])))
    try:
        gen.generate(noise)
        shown = gen.show(noise[2:3])[0]
        fresh = _load(diffusion_root).bind("a red apple").show(noise[2:3])[0]  # drawn from scratch
    finally:
        hook.remove()
    assert calls == [4]  # the scoring pass only; the fresh generator is another pipeline
    assert np.abs(np.asarray(shown, dtype=int) - np.asarray(fresh, dtype=int)).max() <= 1
