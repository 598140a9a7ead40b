"""The objective: genomes -> generator -> CLIP (-> discriminator), and which front member to show."""

from __future__ import annotations

import time

import numpy as np
import torch
from pymoo.mcdm.pseudo_weights import PseudoWeights

from glass_core.errors import GlassError
from glass_core.generators.base import Generator, pad_rows, second_objective
from glass_core.graphs import release_graphs
from glass_core.scorer import ClipScorer

CAPTION_CACHE_SIZE = 20_000  # embeddings kept per search: 40 MB at CLIP ViT-B/32's 512 floats
# torch.cuda.OutOfMemoryError; newer PyTorch names it torch.OutOfMemoryError too (the same class there).
OUT_OF_MEMORY = tuple({getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError), torch.cuda.OutOfMemoryError})


class Evaluator:
    """Scores genomes: CLIP similarity to the target, and the discriminator when asked."""

    def __init__(self, generator: Generator, scorer: ClipScorer, target: torch.Tensor,
                 use_discriminator: bool, batch_size: int, precision: str = "fp32"):
        self.generator, self.scorer = generator, scorer
        self.target = target.reshape(-1).to(scorer.device)
        self.use_d, self.batch_size = use_discriminator, batch_size
        self.judges_embeddings = second_objective(generator).reads == "embeddings"
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
        self.autocast = dict(device_type=scorer.device.type, dtype=dtype, enabled=dtype is not None)
        self.timings = {"generator": 0.0, "discriminator": 0.0, "clip": 0.0, "operators": 0.0}
        self.evaluations = 0
        # Graph-captured image components need one shape: the last, smaller batch is padded to full size.
        self.fixed = generator.modality == "image" and any(
            getattr(part, "speed_options", {}).get("static") for part in (generator, scorer))
        self.notes: list[str] = []  # what happened since the last record (run_search takes them)
        # Different genomes often give the same caption: CLIP embeds each caption once per search.
        self._captions: dict[str, torch.Tensor] = {}

    @torch.inference_mode()
    def __call__(self, genomes: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Similarities (N,) and realism logits (N,) or None."""
        sims, reals, start = [], [], 0
        with torch.autocast(**self.autocast):
            while start < len(genomes):
                batch = genomes[start:start + self.batch_size]
                try:
                    sim, real = self._batch(batch)
                except OUT_OF_MEMORY as err:
                    self._halve_batch(err)
                    sim = None
                if sim is None:  # outside the handler, `err` and the failed batch's tensors are gone
                    release_cuda_cache()
                    continue
                sims.append(sim)
                reals.append(real)
                start += len(batch)
        self.evaluations += len(genomes)
        return np.concatenate(sims), (np.concatenate(reals) if self.use_d else None)

    def _halve_batch(self, err: Exception) -> None:
        """After running out of GPU memory: half the batch from now on, noted for the record."""
        if self.batch_size == 1:
            raise GlassError("Out of GPU memory even with one genome at a time: free the GPU (another process may"
                             " hold it), choose a smaller model, or set precision='bf16'.") from err
        self.batch_size = max(1, self.batch_size // 2)
        release_graphs(self.generator, self.scorer)  # graphs of the old shape hold memory the new one needs
        self.notes.append(f"Out of GPU memory: batch size halved to {self.batch_size} from here on.")

    def _batch(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Generate, embed and (maybe) discriminate one batch, timing each part."""
        n = len(batch)
        t0 = time.perf_counter()
        out = self.generator.generate(pad_rows(batch, self.batch_size) if self.fixed else batch)
        t1 = time.perf_counter()
        emb = self.scorer.encode_images(out) if self.generator.modality == "image" else self._embed_captions(out)
        with torch.autocast(self.autocast["device_type"], enabled=False):  # the cosine in float32
            sim = emb[:n].float() @ self.target
        # A broken output (NaN) must lose, not poison the sorting.
        sim = np.nan_to_num(sim.cpu().numpy(), nan=-1.0)
        t2 = time.perf_counter()
        # D sees only the real rows: padding would change StyleGAN2's minibatch-stddev groups.
        judged = emb[:n] if self.judges_embeddings else out[:n]
        real = self.generator.discriminate(judged).float().cpu().numpy().reshape(-1) if self.use_d else None
        self.timings["generator"] += t1 - t0
        self.timings["clip"] += t2 - t1
        self.timings["discriminator"] += time.perf_counter() - t2
        return sim, real

    def _embed_captions(self, captions: list[str]) -> torch.Tensor:
        """CLIP embeddings of captions (N, D), computing only those not seen before in this search."""
        if not self.scorer.fast_text:
            return self.scorer.encode_texts(captions)
        if len(self._captions) + len(captions) > CAPTION_CACHE_SIZE:
            self._captions.clear()
        new = [c for c in dict.fromkeys(captions) if c not in self._captions]
        if new:
            self._captions.update(zip(new, self.scorer.encode_texts(new)))
        return torch.stack([self._captions[c] for c in captions])


def release_cuda_cache() -> None:
    """Hand PyTorch's cached, unused GPU memory back to the device (nothing to do without CUDA)."""
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def effective_precision(precision: str, device: torch.device) -> tuple[str, str | None]:
    """The precision a search runs at on `device`, with a note when it is not the preset's.

    Low precision is for CUDA: on the CPUs measured bf16 autocast was slower than float32
    (README, Speed), so a CPU search runs in float32 and says so.
    """
    if precision == "fp32" or device.type == "cuda":
        return precision, None
    return "fp32", (f"precision {precision} applies on CUDA only: this search on {device.type} ran in float32"
                    " (bf16 autocast was slower than float32 on the CPUs measured).")


def objectives(sim: np.ndarray, realism: np.ndarray | None, hinged: bool = True) -> np.ndarray:
    """pymoo minimises: -similarity, and hinge(1 - D(x)) when the discriminator is used (-score if not hinged)."""
    if realism is None:
        return -sim[:, None]
    return np.stack([-sim, np.maximum(0.0, 1.0 - realism) if hinged else -realism], axis=1)


def compromise(F: np.ndarray) -> int:
    """The front member closest to the ideal point once both objectives are scaled to [0, 1]."""
    span = F.max(axis=0) - F.min(axis=0)
    scaled = (F - F.min(axis=0)) / np.where(span > 0, span, 1.0)
    return int(np.argmin(np.linalg.norm(scaled, axis=1)))


def paper_pick(F: np.ndarray) -> int:
    """The paper's choice: pymoo's pseudo-weights [0, 1] on the front, i.e. its most realistic end.

    The paper's run.py picks `get_decision_making("pseudo-weights", [0, 1]).do(res.F)`, falling
    back to the lowest second objective when the front cannot be normalised (one point).
    """
    span = F.max(axis=0) - F.min(axis=0)
    if len(F) < 2 or not np.all(span > 0):
        return int(np.argmin(F[:, 1]))
    return int(PseudoWeights(np.array([0.0, 1.0])).do(F))


def shown_member(F: np.ndarray, within: float | None, rule: str = "compromise") -> int:
    """Which front member to show: the paper's pick, the compromise, or the most realistic near the top similarity."""
    if rule == "paper":
        return paper_pick(F)
    if within is None:
        return compromise(F)
    sims = -F[:, 0]
    near = np.flatnonzero(sims >= sims.max() - within * (sims.max() - sims.min()))
    return int(near[np.argmin(F[near, 1])])
