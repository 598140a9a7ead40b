"""Our StyleGAN2 networks, read from NVIDIA's two pickle formats, reproduce NVIDIA's own numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from glass_core.nets.stylegan2 import layout, ops
from glass_core.nets.stylegan2.convert import read_pickle
from glass_core.nets.stylegan2.discriminator import Conv2dLayer, Discriminator, DiscriminatorConfig
from glass_core.nets.stylegan2.networks import Generator, GeneratorConfig, SynthesisLayer

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "stylegan2"
FORMATS = ("pytorch", "tensorflow")
TOL = 1e-4


def rel_err(out: torch.Tensor, ref: np.ndarray) -> float:
    """‖out − ref‖ / ‖ref‖, the fixture README's measure."""
    out = out.detach().double().numpy()
    return float(np.linalg.norm(out - ref) / np.linalg.norm(ref))


@pytest.fixture(scope="module", params=FORMATS)
def fixture(request):
    """(format, networks by name as (state, config), reference arrays) for one pickle."""
    fmt = request.param
    nets = read_pickle(FIXTURES / f"tiny-{fmt}-network.pkl")
    ref = dict(np.load(FIXTURES / f"tiny-{fmt}-network-reference.npz"))
    return fmt, nets, ref


def build_g(nets, name: str) -> Generator:
    state, cfg = nets[name]
    return layout.load_weights(Generator(cfg), state, name)


@pytest.mark.shared
@pytest.mark.parametrize("name", ["G", "G_ema"])
def test_mapping_and_images_match_reference(fixture, name):
    _, nets, ref = fixture
    G = build_g(nets, name)
    z = torch.from_numpy(ref["z"])
    with torch.no_grad():
        assert rel_err(G.mapping(z), ref[f"{name}_ws"]) < TOL
        assert rel_err(G(z, truncation_psi=1.0, noise_mode="const"), ref[f"{name}_img_psi1"]) < TOL
        assert rel_err(G(z, truncation_psi=0.7, noise_mode="const"), ref[f"{name}_img_psi07"]) < TOL


@pytest.mark.shared
def test_discriminator_logits_match_reference(fixture):
    _, nets, ref = fixture
    state, cfg = nets["D"]
    D = layout.load_weights(Discriminator(cfg), state, "D")
    with torch.no_grad():
        out = D(torch.from_numpy(ref["G_ema_img_psi1"]))
    assert out.shape == (8, 1)
    assert rel_err(out, ref["D_logits"]) < TOL


@pytest.mark.shared
def test_configs_are_read_from_the_file(fixture):
    fmt, nets, _ = fixture
    g = nets["G_ema"][1]
    assert (g.z_dim, g.w_dim, g.img_resolution, g.img_channels, g.mapping_layers, g.num_ws) == (32, 32, 32, 3, 8, 8)
    assert g.channels == {4: 32, 8: 32, 16: 32, 32: 16}  # channel_base 512, channel_max 32
    assert g.lr_multiplier == pytest.approx(0.01)
    assert g.conv_clamp == (256 if fmt == "pytorch" else None)
    assert np.allclose(g.resample_filter, ops.setup_filter([1, 3, 3, 1]).numpy())
    d = nets["D"][1]
    assert (d.img_resolution, d.mbstd_group_size, d.mbstd_num_channels) == (32, 4, 1)
    assert d.channels == {32: 16, 16: 32, 8: 32, 4: 32}


@pytest.mark.shared
def test_noise_modes_and_truncation_cutoff(fixture):
    _, nets, ref = fixture
    G = build_g(nets, "G_ema")
    z = torch.from_numpy(ref["z"][:2])
    with torch.no_grad():
        const_a, const_b = G(z, noise_mode="const"), G(z, noise_mode="const")
        rand_a, rand_b = G(z, noise_mode="random"), G(z, noise_mode="random")
        none = G(z, noise_mode="none")
        ws, ws_cut = G.mapping(z), G.mapping(z, truncation_psi=0.5, truncation_cutoff=3)
    assert torch.equal(const_a, const_b)
    assert not torch.allclose(rand_a, rand_b)
    assert not torch.allclose(none, const_a)
    assert torch.equal(ws_cut[:, 3:], ws[:, 3:])
    assert torch.allclose(ws_cut[:, :3], G.mapping.w_avg.lerp(ws[:, :3], 0.5))


def random_state(module: torch.nn.Module, seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return {k: torch.randn_like(v) for k, v in module.state_dict().items()}


def test_other_shapes_are_derived_not_assumed():
    """A network unlike the fixtures (64 px, widths 40/24/12, z 16, w 24, 3 mapping layers, 2 mbstd features)."""
    gcfg = GeneratorConfig(z_dim=16, w_dim=24, img_resolution=64, img_channels=3, mapping_layers=3,
                           mapping_features=20, channels={4: 40, 8: 40, 16: 24, 32: 24, 64: 12})
    dcfg = DiscriminatorConfig(img_resolution=64, img_channels=3, mbstd_group_size=2, mbstd_num_channels=2,
                               channels={64: 12, 32: 24, 16: 24, 8: 40, 4: 40})
    g_state, d_state = random_state(Generator(gcfg), 0), random_state(Discriminator(dcfg), 1)
    g_back = layout.generator_config(g_state, {"lr_multiplier": 0.01})
    d_back = layout.discriminator_config(d_state, {"mbstd_group_size": 2})
    assert (g_back, d_back) == (gcfg, dcfg)
    G = layout.load_weights(Generator(g_back), g_state, "G")
    D = layout.load_weights(Discriminator(d_back), d_state, "D")
    with torch.no_grad():
        img = G(torch.randn(4, 16))
        assert img.shape == (4, 3, 64, 64) and G.cfg.num_ws == 10
        assert D(img).shape == (4, 1)


def test_conv_clamp_bounds_layer_outputs():
    torch.manual_seed(0)
    f = ops.setup_filter([1, 3, 3, 1])
    layer = SynthesisLayer(8, 8, 8, 16, up=1, conv_clamp=0.05).requires_grad_(False)
    out = layer(torch.randn(2, 8, 16, 16) * 10, torch.randn(2, 8), f, "none")
    assert out.abs().max() <= 0.05 + 1e-7 and (out.abs() == 0.05).any()
    conv = Conv2dLayer(8, 8, 3, down=2, conv_clamp=0.05).requires_grad_(False)
    # The clamp scales with the layer gain, as in the reference resnet blocks.
    out = conv(torch.randn(2, 8, 16, 16) * 10, f, gain=0.5)
    assert out.shape == (2, 8, 8, 8) and out.abs().max() <= 0.025 + 1e-7
