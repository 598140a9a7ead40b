"""FID and Inception Score of a batch's pictures against a folder of reference pictures, via torch-fidelity.

torch-fidelity's `inception-v3-compat` reads its weights with torch.hub.load_state_dict_from_url,
so they live in torch hub's cache: `<torch.hub.get_dir()>/checkpoints/<file name of the URL>`
(~/.cache/torch/hub/checkpoints/ unless $TORCH_HOME says otherwise). glass also looks in
`<weights>/inception/` first. Found there, the file is handed to torch-fidelity by path, so nothing
is downloaded; missing and offline (or unreachable) is one MissingWeightsError at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from glass_core.batch.targets import IMAGE_SUFFIXES
from glass_core.errors import BadInputError, MissingWeightsError
from glass_core.weights import default_weights_root, is_offline, reachable

# torch_fidelity.feature_extractor_inceptionv3.URL_INCEPTION_V3 (torch-fidelity 0.4.0), kept here so
# that a missing file is reported without importing the library; a test checks that they agree.
INCEPTION_URL = ("https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
                 "weights-inception-2015-12-05-6726825d.pth")
INCEPTION_FILE = INCEPTION_URL.rsplit("/", 1)[-1]


def hub_checkpoint() -> Path:
    """Where torch.hub (and so torch-fidelity) keeps the Inception weights."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE


def inception_weights(weights_root: Path | None = None) -> Path | None:
    """The Inception weights on disk; None when torch-fidelity may download them; else MissingWeightsError."""
    own = Path(weights_root or default_weights_root()) / "inception" / INCEPTION_FILE
    for path in (own, hub_checkpoint()):
        if path.is_file():
            return path
    how = (f"FID and IS need {INCEPTION_FILE} ({INCEPTION_URL}) in {hub_checkpoint().parent} or {own.parent};"
           " run once online (without HF_HUB_OFFLINE=1 / GLASS_OFFLINE=1) to download it")
    if is_offline():
        raise MissingWeightsError("Inception-v3 (torch-fidelity's inception-v3-compat)",
                                  how + " (offline mode is on, so glass did not try).")
    if (why := reachable(INCEPTION_URL)) is not None:
        raise MissingWeightsError("Inception-v3 (torch-fidelity's inception-v3-compat)", f"{how} ({why}).")
    return None


class _Pictures:
    """The pictures as torch-fidelity wants them: uint8 (3, H, W) tensors, all of one size."""

    def __init__(self, paths: list[Path], size: tuple[int, int] | None = None):
        from glass_core.images import open_image

        self.images = [open_image(p) for p in paths]
        self.size = size or self.images[0].size
        # A batch needs one size; pictures of another size are resized to it (Inception then
        # resizes every picture to 299 × 299 itself).
        self.images = [im if im.size == self.size else im.resize(self.size) for im in self.images]

    def dataset(self):
        """A torch Dataset over the pictures."""
        import numpy as np
        import torch
        from torch.utils.data import Dataset

        tensors = [torch.from_numpy(np.asarray(im, dtype=np.uint8).copy()).permute(2, 0, 1) for im in self.images]

        class Pictures(Dataset):
            def __len__(self) -> int:
                return len(tensors)

            def __getitem__(self, i: int):
                return tensors[i]

        return Pictures()


def reference_pictures(folder: Path) -> list[Path]:
    """The picture files of a reference folder (not its subfolders), or one clear BadInputError."""
    if not Path(folder).is_dir():
        raise BadInputError(f"{folder}: no such folder of reference pictures.")
    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if len(files) < 2:
        raise BadInputError(f"{folder}: FID needs at least 2 reference pictures, found {len(files)}.")
    return files


def fid_and_is(results: list[Path], reference: Path, device: str = "cpu",
               weights_root: Path | None = None) -> dict[str, Any]:
    """FID (results vs reference) and Inception Score (results) with torch-fidelity's inception-v3-compat."""
    if len(results) < 2:
        raise BadInputError(f"FID needs at least 2 results, found {len(results)}.")
    ref_files = reference_pictures(reference)
    weights = inception_weights(weights_root)
    ours = _Pictures(results)
    refs = _Pictures(ref_files, ours.size)
    import torch_fidelity

    # save_cpu_ram: no DataLoader worker processes, which would only copy pictures already in memory.
    m = torch_fidelity.calculate_metrics(save_cpu_ram=True,
        input1=ours.dataset(), input2=refs.dataset(), fid=True, isc=True, cuda=str(device).startswith("cuda"),
        feature_extractor="inception-v3-compat", cache=False, verbose=False, batch_size=16,
        feature_extractor_weights_path=str(weights) if weights else None, isc_splits=min(10, len(results)))
    return {"fid": float(m["frechet_inception_distance"]), "inception_score": float(m["inception_score_mean"]),
            "inception_score_std": float(m["inception_score_std"]), "fid_images": len(results),
            "fid_reference_images": len(ref_files), "inception_weights": str(weights or hub_checkpoint())}
