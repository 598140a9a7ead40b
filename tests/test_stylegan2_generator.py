"""The 'stylegan2' generator end to end on NVIDIA's tiny fixture networks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from glass_core.errors import MissingWeightsError
from glass_core.generators import Generator, load_generator
from glass_core.nets.stylegan2 import ops
from glass_core.nets.stylegan2.convert import convert
from glass_core.generators.stylegan2 import Z_BOUNDS, load

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "stylegan2"
PT_PKL = FIXTURES / "tiny-pytorch-network.pkl"
TF_PKL = FIXTURES / "tiny-tensorflow-network.pkl"
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def ref() -> dict[str, np.ndarray]:
    return dict(np.load(FIXTURES / "tiny-pytorch-network-reference.npz"))


@pytest.fixture(scope="module")
def gen():
    return load(CPU, Path("/nonexistent"), path=PT_PKL)


def unit(x: np.ndarray) -> torch.Tensor:
    return ((torch.from_numpy(x) + 1) / 2).clamp(0, 1)


@pytest.mark.shared
def test_protocol_latent_and_images(gen, ref):
    assert isinstance(gen, Generator) and gen.modality == "image" and gen.has_discriminator
    lat = gen.latent
    assert (lat.n_real, lat.n_var, lat.real_bounds, lat.real_init) == (32, 32, Z_BOUNDS, "normal")
    out = gen.generate(ref["z"])
    assert out.shape == (8, 3, 32, 32) and out.dtype == torch.float32
    assert 0 <= out.min() and out.max() <= 1
    assert torch.allclose(out, unit(ref["G_ema_img_psi1"]), atol=1e-5)
    pics = gen.show(ref["z"][:3])
    assert len(pics) == 3 and all(isinstance(p, Image.Image) and p.size == (32, 32) for p in pics)


@pytest.mark.shared
def test_truncation_option_and_registry_factory(ref):
    g = load_generator("stylegan2", CPU, Path("/nonexistent"), path=str(TF_PKL), truncation_psi=0.7)
    assert torch.allclose(g.generate(ref["z"]), unit(ref["G_ema_img_psi07"]), atol=1e-5)


@pytest.mark.shared
def test_discriminate_scores_generated_images(gen, ref):
    imgs = gen.generate(ref["z"])
    logits = gen.discriminate(imgs)
    assert logits.shape == (8,) and torch.isfinite(logits).all()
    with torch.no_grad():
        direct = gen.D(imgs * 2 - 1).reshape(-1)
    assert torch.allclose(logits, direct, atol=1e-6)
    # Ragged batches work too: the leftover samples form their own minibatch-stddev group.
    assert gen.discriminate(imgs[:6]).shape == (6,)


@pytest.mark.shared
def test_small_scoring_is_the_skip_architectures_intermediate_rgb(ref):
    g = load(CPU, Path("/nonexistent"), path=PT_PKL, score_resolution=16)
    z = ref["z"][:4]
    small = g.generate(z)
    assert small.shape == (4, 3, 16, 16)
    assert g.show(z)[0].size == (32, 32)  # people still see full resolution
    # full = upsample(RGB at 16) + the 32-px block's ToRGB: the small image is that RGB at 16.
    with torch.no_grad():
        zt = torch.from_numpy(z)
        ws = g.G.mapping(zt)
        f = g.G.synthesis.resample_filter
        rgb16 = g.G.synthesis(ws, stop_at=16)
        x = None
        for res in (4, 8, 16, 32):
            b = getattr(g.G.synthesis, f"b{res}")
            w_idx = {4: 0, 8: 1, 16: 3, 32: 5}[res]
            x, _ = b(x, None, ws[:, w_idx: w_idx + b.num_conv + 1], f, "const")
        top = g.G.synthesis.b32.torgb(x, ws[:, 7])
        full = g.G(zt)
    assert torch.allclose(full, ops.upsample2d(rgb16, f) + top, atol=1e-5)
    assert torch.allclose(small, ((rgb16 + 1) / 2).clamp(0, 1))
    # D sees the small image upsampled with the generator's own filter.
    with torch.no_grad():
        expect = g.D(ops.upsample2d(small * 2 - 1, f)).reshape(-1)
    assert torch.allclose(g.discriminate(small), expect, atol=1e-6)


@pytest.mark.shared
def test_car_like_crop(ref):
    g = load(CPU, Path("/nonexistent"), path=PT_PKL, crop=(0.25, 0.0, 0.75, 1.0))
    full = load(CPU, Path("/nonexistent"), path=PT_PKL).generate(ref["z"][:4])
    out = g.generate(ref["z"][:4])
    assert out.shape == (4, 3, 16, 32) and torch.equal(out, full[:, :, 8:24])
    assert g.show(ref["z"][:1])[0].size == (32, 16)
    canvas = torch.zeros_like(full)  # black outside the band, as the car data set was padded
    canvas[:, :, 8:24] = out
    with torch.no_grad():
        expect = g.D(canvas * 2 - 1).reshape(-1)
    assert torch.allclose(g.discriminate(out), expect, atol=1e-6)
    small = load(CPU, Path("/nonexistent"), path=PT_PKL, crop=(0.25, 0.0, 0.75, 1.0), score_resolution=16)
    assert small.generate(ref["z"][:2]).shape == (2, 3, 8, 16)
    assert small.discriminate(small.generate(ref["z"][:2])).shape == (2,)


@pytest.mark.shared
def test_safetensors_conversion_reloads_identically(tmp_path, gen, ref):
    st = convert(PT_PKL, tmp_path, "tiny")
    meta = json.loads((tmp_path / "tiny.json").read_text())
    assert st == tmp_path / "tiny.safetensors" and meta["generator"]["img_resolution"] == 32
    again = load(CPU, tmp_path, path=st)
    imgs = gen.generate(ref["z"])
    assert torch.equal(again.generate(ref["z"]), imgs)
    assert torch.equal(again.discriminate(imgs), gen.discriminate(imgs))


@pytest.mark.shared
def test_network_lookup_converts_once_then_uses_safetensors(tmp_path, monkeypatch, ref):
    monkeypatch.setenv("GLASS_OFFLINE", "1")
    folder = tmp_path / "stylegan2"
    folder.mkdir()
    link = folder / "stylegan2-car-config-f.pkl"
    link.symlink_to(TF_PKL)  # an official file name, the fixture's contents (not copied)
    first = load(CPU, tmp_path, network="car")
    assert (folder / "car.safetensors").is_file() and (folder / "car.json").is_file()
    link.unlink()  # from now on only the converted file can serve
    second = load(CPU, tmp_path, network="car")
    out = second.generate(ref["z"][:2])
    assert out.shape == (2, 3, 24, 32)  # the car band, rows 64-448 of 512 scaled to 32 px
    assert torch.equal(out, first.generate(ref["z"][:2]))


def test_missing_weights_offline_says_what_and_where(tmp_path, monkeypatch):
    monkeypatch.setenv("GLASS_OFFLINE", "1")
    with pytest.raises(MissingWeightsError) as err:
        load(CPU, tmp_path, network="church")
    msg = str(err.value)
    assert "stylegan2-church-config-f.pkl" in msg and str(tmp_path / "stylegan2") in msg


@pytest.mark.shared
def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="score_resolution"):
        load(CPU, Path("/nonexistent"), path=PT_PKL, score_resolution=12)
    with pytest.raises(ValueError, match="noise_mode"):
        load(CPU, Path("/nonexistent"), path=PT_PKL, noise_mode="loud")
    with pytest.raises(ValueError, match="crop"):
        load(CPU, Path("/nonexistent"), path=PT_PKL, crop=(0.5, 0, 0.4, 1))
    with pytest.raises(ValueError, match="Unknown StyleGAN2 network"):
        load(CPU, Path("/nonexistent"), network="cats")
