"""The optimiser both mini transformers train with: AdamW, linear warm-up, cosine decay."""

from __future__ import annotations

import math
from typing import Iterable

import torch


def adamw_warmup_cosine(params: Iterable[torch.nn.Parameter], lr: float, weight_decay: float, steps: int
                        ) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW (betas 0.9, 0.98) with a warm-up over the first 5 % of steps, then cosine decay to zero."""
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, betas=(0.9, 0.98))
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    return opt, sched
