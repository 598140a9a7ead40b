"""What the one-target and the batch commands share: the overrides their options give, and the default device."""

from __future__ import annotations

import argparse


def search_overrides(args: argparse.Namespace) -> dict:
    """The preset fields a command line sets: the seed, and what the user gave."""
    out = {"seed": args.seed}
    if args.generations is not None:
        out["generations"] = args.generations
    if args.pop_size is not None:
        out["pop_size"] = args.pop_size
    if args.no_discriminator:
        out["use_discriminator"] = False
    if args.operators:
        out["operators"] = args.operators
    if getattr(args, "optimizer", None):
        out["optimizer"] = args.optimizer
    if getattr(args, "compile", False):
        out["compile"] = True
    return out


def default_device() -> str:
    """The GPU when there is one (as the app picks), else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
