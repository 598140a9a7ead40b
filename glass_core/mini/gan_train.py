"""Training the mini GAN: hinge loss, spectral-norm projection discriminator, EMA generator."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from glass_core.generators.classes import bits_to_class_vector
from glass_core.mini import data
from glass_core.mini.gan_model import GanConfig, MiniDiscriminator, MiniGenerator

ONE_HOT_SHARE, MIXED_SHARE = 0.8, 0.1  # the rest of the fakes get the zero class vector
LR_G, LR_D = 5e-4, 2e-4
NOISE = 0.1  # std of the instance noise added to everything the discriminator sees in training


def truncated_normal(n: int, dim: int, gen: torch.Generator) -> torch.Tensor:
    """Standard normal samples cut to [-2, 2], the search's range and initial distribution."""
    z = torch.empty(n, dim)
    return torch.nn.init.trunc_normal_(z, 0.0, 1.0, -2.0, 2.0, generator=gen)


def fake_class_vectors(n: int, rng: np.random.Generator) -> torch.Tensor:
    """Class vectors as the search makes them: mostly one gene on, some 2-3 on, some none."""
    bits = np.zeros((n, 10))
    kind = rng.random(n)
    for i in range(n):
        if kind[i] < ONE_HOT_SHARE:
            bits[i, rng.integers(10)] = 1
        elif kind[i] < ONE_HOT_SHARE + MIXED_SHARE:
            bits[i, rng.choice(10, rng.integers(2, 4), replace=False)] = 1
    return torch.from_numpy(bits_to_class_vector(bits))


def real_batch(n: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Training pictures with their one-hot digit (a tenth with none, as for the fakes)."""
    batch = data.sample_pictures(n, rng, "train")
    cls = F.one_hot(torch.tensor(batch["digit"]), 10).float()
    cls[torch.from_numpy(rng.random(n) < 1 - ONE_HOT_SHARE - MIXED_SHARE)] = 0
    return batch["images"], cls


def _noisy(images: torch.Tensor) -> torch.Tensor:
    """Instance noise: flat real colours would otherwise let D win on tiny exact-value gaps."""
    return images + NOISE * torch.randn_like(images)


def _d_loss(disc, real: tuple, fake: tuple) -> torch.Tensor:
    """Hinge loss on both the plain and the label-aware logits."""
    r_plain, r_cond = disc(_noisy(real[0]), *real[1:])
    f_plain, f_cond = disc(_noisy(fake[0]), *fake[1:])
    return sum(F.relu(1 - r).mean() + F.relu(1 + f).mean()
               for r, f in ((r_plain, f_plain), (r_cond, f_cond)))


def _fake(gen_net, n: int, rng: np.random.Generator, tgen: torch.Generator, cfg: GanConfig) -> tuple:
    """Generated pictures with the class vectors they were asked for."""
    z = truncated_normal(n, cfg.n_real, tgen)
    cls = fake_class_vectors(n, rng)
    return gen_net(z, cls), cls


@torch.no_grad()
def _ema_update(ema: torch.nn.Module, net: torch.nn.Module, decay: float) -> None:
    for e, p in zip(ema.parameters(), net.parameters()):
        e.lerp_(p, 1 - decay)
    for e, b in zip(ema.buffers(), net.buffers()):
        e.copy_(b)


def train_gan(steps: int = 1500, batch: int = 64, seed: int = data.SEED, cfg: GanConfig = GanConfig(),
              log: Callable[[str], None] = print) -> tuple[MiniGenerator, MiniDiscriminator]:
    """Train from scratch, seeded; returns the EMA generator and the discriminator."""
    torch.manual_seed(seed)
    rng, tgen = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    gen_net, disc = MiniGenerator(cfg), MiniDiscriminator(cfg)
    ema = copy.deepcopy(gen_net).requires_grad_(False)
    opt_g = torch.optim.Adam(gen_net.parameters(), lr=LR_G, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(disc.parameters(), lr=LR_D, betas=(0.0, 0.9))
    start = time.time()
    for step in range(steps):
        fake = _fake(gen_net, batch, rng, tgen, cfg)
        d_loss = _d_loss(disc, real_batch(batch, rng), (fake[0].detach(), *fake[1:]))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        plain, cond = disc(_noisy(fake[0]), *fake[1:])  # the same fakes: one generator pass a step
        g_loss = -(plain.mean() + cond.mean())
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        _ema_update(ema, gen_net, decay=0.995 if step > steps // 4 else 0.0)
        if step % 100 == 0 or step == steps - 1:
            log(f"gan step {step:5d}  d {d_loss.item():.3f}  g {g_loss.item():.3f}  {time.time() - start:.0f}s")
    return ema.eval(), disc.eval()


def save_gan(gen_net: MiniGenerator, disc: MiniDiscriminator, folder: Path) -> None:
    """config.json + model.safetensors holding generator ("generator.*") and discriminator."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(gen_net.cfg.to_dict(), indent=2) + "\n")
    state = {f"generator.{k}": v for k, v in gen_net.state_dict().items()}
    state |= {f"discriminator.{k}": v for k, v in disc.state_dict().items()}
    save_file({k: v.detach().contiguous() for k, v in state.items()}, str(folder / "model.safetensors"))
