"""The LAION improved aesthetic predictor: an MLP over unit CLIP ViT-L/14 image embeddings (MIT licence).

Its weights file (sac+logos+ava1-l14-linearMSE.pth) is a plain state dict of five Linear layers,
768-1024-128-64-16-1, under `layers.0/2/4/6/7` (dropout between the first four). It is read with
`torch.load(weights_only=True)`, so a pickle that asks to run code is refused.
"""

from __future__ import annotations

from pathlib import Path

import torch

from glass_core.errors import UnsafeFileError
from glass_core.generators.base import Location
from glass_core.weights import hub_cached, hub_file

FILENAME = "sac+logos+ava1-l14-linearMSE.pth"
HUB_REPO = "camenduru/improved-aesthetic-predictor"  # the file as published on GitHub by C. Schuhmann
FOLDER = "aesthetic"
LAYERS = (0, 2, 4, 6, 7)  # Sequential indices of the Linear layers (1, 3, 5 are dropout)
WIDTHS = (768, 1024, 128, 64, 16, 1)


class AestheticHead(torch.nn.Module):
    """Unit image embeddings (N, D) -> aesthetic scores (N,), about 1 (poor) to 10 (beautiful)."""

    def __init__(self, widths: tuple[int, ...] = WIDTHS):
        super().__init__()
        self.layers = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.in_features = widths[0]

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        """No activation between the layers: the published predictor is linear end to end."""
        if embeddings.shape[-1] != self.in_features:
            raise ValueError(f"The aesthetic predictor reads {self.in_features}-d CLIP embeddings (ViT-L/14);"
                             f" this CLIP gives {embeddings.shape[-1]}-d ones")
        x = embeddings.float()
        for layer in self.layers:
            x = layer(x)
        return x.reshape(-1)

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor], source: str) -> AestheticHead:
        """The head from the published state dict, key by key; widths read from the file."""
        try:
            weights = [state[f"layers.{i}.weight"] for i in LAYERS]
            widths = (weights[0].shape[1], *(w.shape[0] for w in weights))
            head = cls(widths)
            for layer, i in zip(head.layers, LAYERS):
                layer.weight.data.copy_(state[f"layers.{i}.weight"])
                layer.bias.data.copy_(state[f"layers.{i}.bias"])
        except (KeyError, IndexError, RuntimeError, AttributeError) as err:
            raise UnsafeFileError(f"{source} is not the LAION aesthetic predictor's state dict ({err}).") from err
        return head.eval().requires_grad_(False)


def read_state(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from .pth (tensors only) or .safetensors; anything else is refused."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a pickle with code, or a damaged file
        raise UnsafeFileError(f"{path} is not a plain tensor state dict, or is damaged ({err}).") from err


def locate_aesthetic(weights_root: Path) -> Location:
    """Where `load_aesthetic` would find the file, without loading it."""
    local = Path(weights_root) / FOLDER / FILENAME
    return Location(local.is_file() or hub_cached(HUB_REPO, FILENAME), True, local.parent)


def load_aesthetic(weights_root: Path) -> AestheticHead:
    """The predictor from weights/aesthetic/, the hub cache, or (online) the hub."""
    local = Path(weights_root) / FOLDER / FILENAME
    path = local if local.is_file() else hub_file(HUB_REPO, FILENAME, "LAION aesthetic predictor", local.parent)
    return AestheticHead.from_state_dict(read_state(path), str(path))


def random_aesthetic(seed: int = 0) -> AestheticHead:
    """The full-size head with random weights, for speed measurements."""
    torch.manual_seed(seed)
    return AestheticHead().eval().requires_grad_(False)
