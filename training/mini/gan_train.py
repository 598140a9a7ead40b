"""Training the mini GAN: hinge loss, spectral-norm projection discriminator with an auxiliary
digit classifier (AC-GAN), EMA generator."""

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
from training.mini import data
from glass_core.nets.mini.gan import GanConfig, MiniDiscriminator, MiniGenerator, colour_indices

ONE_HOT_SHARE, MIXED_SHARE = 0.8, 0.1  # the rest of the fakes get the zero class vector
LR_G, LR_D = 1e-3, 1e-3
BETAS = (0.5, 0.999)
AC_WEIGHT = 1.0  # weight of the auxiliary digit-classification loss (AC-GAN, Odena 2017)


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


def _one_hot_colours(names: list[str]) -> torch.Tensor:
    return F.one_hot(torch.tensor([data.COLOURS.index(c) for c in names]), len(data.COLOURS)).float()


def real_batch(n: int, rng: np.random.Generator) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    """Training pictures with labels (one-hot digit, a tenth with none, and colours), and digits."""
    batch = data.sample_pictures(n, rng, "train")
    digits = torch.tensor(batch["digit"])
    cls = F.one_hot(digits, 10).float()
    cls[torch.from_numpy(rng.random(n) < 1 - ONE_HOT_SHARE - MIXED_SHARE)] = 0
    return (batch["images"], cls, _one_hot_colours(batch["fg"]), _one_hot_colours(batch["bg"])), digits


def _fake(gen_net, n: int, rng: np.random.Generator, tgen: torch.Generator, cfg: GanConfig) -> tuple:
    """Generated pictures with the labels they were asked for."""
    z = truncated_normal(n, cfg.n_real, tgen)
    cls = fake_class_vectors(n, rng)
    fg, bg = (F.one_hot(i, cfg.n_colours).float() for i in colour_indices(z))
    return gen_net(z, cls), cls, fg, bg


def _d_loss(disc, real: tuple, digits: torch.Tensor, fake: tuple) -> torch.Tensor:
    """Hinge loss on the plain and label-aware logits, plus the digit classifier on real pictures."""
    r_plain, r_cond, r_digit = disc(*real)
    f_plain, f_cond, _ = disc(*fake)
    hinge = sum(F.relu(1 - r).mean() + F.relu(1 + f).mean() for r, f in ((r_plain, f_plain), (r_cond, f_cond)))
    return hinge + F.cross_entropy(r_digit, digits)


def _g_loss(disc, fake: tuple) -> torch.Tensor:
    """Fool both heads, and be read as the class asked for (soft targets for mixed classes)."""
    plain, cond, digit = disc(*fake)
    cls = fake[1]
    asked = cls.sum(1) > 0  # a zero class vector asks for no class in particular
    aux = -(cls[asked] * F.log_softmax(digit[asked], dim=1)).sum(1).mean()
    return -(plain.mean() + cond.mean()) + AC_WEIGHT * aux


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
    opt_g = torch.optim.Adam(gen_net.parameters(), lr=LR_G, betas=BETAS)
    opt_d = torch.optim.Adam(disc.parameters(), lr=LR_D, betas=BETAS)
    start = time.time()
    for step in range(steps):
        fake = _fake(gen_net, batch, rng, tgen, cfg)
        d_loss = _d_loss(disc, *real_batch(batch, rng), (fake[0].detach(), *fake[1:]))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        g_loss = _g_loss(disc, fake)  # the same fakes: one generator pass a step
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
