"""GPT-2 as a caption generator: 20 integer context tokens, then "the picture of", then greedy text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from glass_core.errors import MissingWeightsError
from glass_core.generators.base import LatentSpace, Location
from glass_core.generators.gpt2_decode import LeanGreedyDecoder, supports
from glass_core.generators.gpt2_static import StaticGreedyDecoder
from glass_core.options import check_options
from glass_core.weights import hub_cached, hub_reachable, is_offline

PREFIX = "the picture of"

# name -> (folder under the weights root, Hugging Face repository or None)
MODELS: dict[str, tuple[str, str | None]] = {
    "gpt2": ("gpt2/gpt2", "openai-community/gpt2"),
    "mini": ("mini/gpt2", None),
}


class GPT2Captioner:
    """Genome of `n_context` token ids -> caption "the picture of …" by greedy decoding.

    With `fluency=True` it also has a second objective, in the discriminator's place: how
    natural GPT-2 finds the caption on its own (mean log-likelihood per token, without the
    random context), so that NSGA-II can trade similarity against textual artifacts.
    """

    modality = "text"

    def __init__(self, model: torch.nn.Module, tokenizer, device: torch.device, n_context: int = 20,
                 max_new_tokens: int = 30, *, max_chars: int | None = None, kv_cache: bool = True,
                 lean: bool = True, static: bool = False, fluency: bool = False):
        self.has_discriminator = fluency
        # The paper's code cut every caption to its first 50 characters ("the picture of"
        # included) before CLIP scored it and before it was saved: the GPT2 preset does too.
        self.max_chars = max_chars
        self.model = model.eval().requires_grad_(False).to(device)
        self.tokenizer = tokenizer
        self.device = device
        self.max_new_tokens = max_new_tokens
        self._kv_cache = kv_cache  # False: the whole sequence again at every step
        # The lean decoder (gpt2_decode) where it applies; False: transformers' own cached forward,
        # as the paper's sampler ran GPT-2 (the benchmark's paper path).
        self._lean = lean
        self.lean = LeanGreedyDecoder(self.model) if lean and supports(model.config) else None
        # Fixed shapes, a CUDA graph per step on CUDA (gpt2_static): off by default until a GPU
        # measurement shows it pays; on a CPU the lean decoder, which drops ended captions, is faster.
        self._static = static
        self.static = StaticGreedyDecoder(self.model) if static and supports(model.config) else None
        self.eos = int(tokenizer.eos_token_id)
        self.prefix = torch.tensor(tokenizer.encode(PREFIX), device=device)
        vocab = int(model.config.vocab_size)
        self.latent = LatentSpace(n_int=n_context, int_bounds=(0, vocab - 1))

    @property
    def kv_cache(self) -> bool:
        """Whether decoding reuses keys and values (the lean decoder) or recomputes the sequence."""
        return self._kv_cache

    @property
    def speed_options(self) -> dict[str, bool]:
        """The options this captioner was built with (glass_core.options)."""
        return {"kv_cache": self._kv_cache, "lean": self._lean, "static": self._static}

    def with_options(self, **options: bool) -> GPT2Captioner:
        """A captioner over the same GPT-2 with some speed options changed."""
        check_options(self, options)
        return GPT2Captioner(self.model, self.tokenizer, self.device, self.latent.n_int, self.max_new_tokens,
                             max_chars=self.max_chars, fluency=self.has_discriminator,
                             **(self.speed_options | options))

    @torch.inference_mode()
    def continue_greedy(self, context: torch.Tensor) -> torch.Tensor:
        """(N, T) prompts -> (N, ≤ max_new_tokens) greedy tokens, eos-padded after the end.

        Every prompt has the same length, so no padding or attention mask is needed and the
        key/value cache makes each step cost one token per sequence. With the cache on, the lean
        decoder (gpt2_decode) does the work; transformers' own forward is kept for the paper's
        path and for GPT-2 options the lean decoder does not implement.
        """
        if self.kv_cache and self.static is not None:
            return self.static(context, self.max_new_tokens, self.eos)
        if self.kv_cache and self.lean is not None:
            return self.lean(context, self.max_new_tokens, self.eos)
        out = self.model(input_ids=context, use_cache=self.kv_cache)
        past, logits = out.past_key_values, out.logits[:, -1]
        finished = torch.zeros(len(context), dtype=torch.bool, device=self.device)
        steps = []
        for _ in range(self.max_new_tokens):
            token = torch.where(finished, self.eos, logits.argmax(-1))
            steps.append(token)
            finished |= token == self.eos
            if bool(finished.all()):  # stop as soon as every caption has ended
                break
            if self.kv_cache:
                out = self.model(input_ids=token[:, None], past_key_values=past, use_cache=True)
            else:  # the paper's way: the whole sequence again at every step
                out = self.model(input_ids=torch.cat([context, *[t[:, None] for t in steps]], dim=1))
            past, logits = out.past_key_values, out.logits[:, -1]
        return torch.stack(steps, dim=1)

    def generate(self, genomes: np.ndarray) -> list[str]:
        """Captions "the picture of …", one per genome."""
        ids = torch.as_tensor(np.rint(genomes[:, self.latent.ints]), dtype=torch.long, device=self.device)
        prompt = torch.cat([ids, self.prefix.expand(len(ids), -1)], dim=1)
        new = self.continue_greedy(prompt).cpu().tolist()
        prefix = self.prefix.tolist()
        rows = [prefix + (row[:row.index(self.eos)] if self.eos in row else row) for row in new]
        texts = self.tokenizer.batch_decode(rows, skip_special_tokens=True)
        texts = [" ".join(text.split()) for text in texts]  # newlines and runs of spaces to one space
        return texts if self.max_chars is None else [text[:self.max_chars] for text in texts]

    def show(self, genomes: np.ndarray) -> list[str]:
        """Same as generate: a caption is shown as it is scored."""
        return self.generate(genomes)

    @torch.inference_mode()
    def discriminate(self, captions: list[str]) -> torch.Tensor:
        """Fluency: GPT-2's mean log-likelihood per token of each caption alone (N,), in nats.

        It is at most 0, so the search's hinge(1 - score) is simply 1 - score here.
        """
        rows = [[self.eos, *self.tokenizer.encode(c)] for c in captions]
        width = max(map(len, rows))
        ids = torch.tensor([r + [self.eos] * (width - len(r)) for r in rows], device=self.device)
        mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows], device=self.device)
        logits = self.model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
        logp = logits.log_softmax(-1).gather(-1, ids[:, 1:, None]).squeeze(-1)
        scored = mask[:, 1:].float()
        return (logp * scored).sum(1) / scored.sum(1).clamp(min=1)


def _from_pretrained(source: str | Path, local_only: bool):
    """Model and tokenizer from a folder or hub id; any missing weight is an error."""
    from transformers import GPT2LMHeadModel, GPT2TokenizerFast

    model, info = GPT2LMHeadModel.from_pretrained(
        source, local_files_only=local_only, output_loading_info=True)
    if info["missing_keys"]:
        raise MissingWeightsError(f"GPT-2 weights in {source}", f"Missing keys: {info['missing_keys'][:3]}")
    # from_pretrained(folder), never GPT2Tokenizer(vocab_file=…): in transformers 5 that
    # keyword form silently builds an empty tokenizer.
    return model, GPT2TokenizerFast.from_pretrained(source, local_files_only=local_only)


def _from_hub(repo: str, model: str, folder: Path):
    """Model and tokenizer from the Hugging Face cache, else downloaded; missing ones reported at once.

    The cache is read without the network. Offline, or with the hub unreachable (one short
    connection attempt), nothing else is tried: transformers would otherwise spend ~23 s retrying
    each file before saying it is missing.
    """
    what = f"GPT-2 '{model}'"
    how = (f"Looked in {folder} and the Hugging Face cache for {repo}. Save the model there"
           " (save_pretrained), or run once online without HF_HUB_OFFLINE=1 / GLASS_OFFLINE=1")
    if hub_cached(repo, "config.json"):
        try:
            return _from_pretrained(repo, local_only=True)
        except OSError as err:  # the cache holds only part of the model
            if is_offline():
                raise MissingWeightsError(what, f"{how} (the cache lacks some files: {err}).") from err
    if is_offline():
        raise MissingWeightsError(what, how + " (offline mode is on, so glass did not try).")
    if (why := hub_reachable()) is not None:
        raise MissingWeightsError(what, f"{how} ({why}).")
    try:
        return _from_pretrained(repo, local_only=False)
    except OSError as err:
        raise MissingWeightsError(what, f"{how} ({type(err).__name__}).") from err


def load(device: torch.device, weights_root: Path, model: str = "gpt2", n_context: int = 20,
         max_new_tokens: int = 30, max_chars: int | None = None, kv_cache: bool = True,
         fluency: bool = False, static: bool = False) -> GPT2Captioner:
    """Registry factory for kind 'gpt2': weights/ folder first, then the hub cache or a download."""
    if model not in MODELS:
        raise ValueError(f"Unknown GPT-2 {model!r}; known: {', '.join(MODELS)}")
    sub, repo = MODELS[model]
    folder = weights_root / sub
    if (folder / "config.json").is_file():
        net, tok = _from_pretrained(folder, local_only=True)
    elif repo is None:
        raise MissingWeightsError(f"GPT-2 '{model}'", f"Expected a save_pretrained folder at {folder}.")
    else:
        net, tok = _from_hub(repo, model, folder)
    return GPT2Captioner(net, tok, device, n_context, max_new_tokens, max_chars=max_chars, kv_cache=kv_cache,
                         static=static, fluency=fluency)


def locate(weights_root: Path, model: str = "gpt2", **_: Any) -> Location:
    """Where `load` would find the model: a save_pretrained folder, or the Hugging Face cache."""
    sub, repo = MODELS.get(model, (None, None))
    if sub is None:
        return Location(False, False, weights_root / "gpt2")
    folder = weights_root / sub
    on_disk = (folder / "config.json").is_file() or hub_cached(repo, "config.json")
    return Location(on_disk, repo is not None, folder)


def random_weights(device: torch.device, tokenizer: str | Path, model: str = "gpt2", n_context: int = 20,
                   max_new_tokens: int = 30, max_chars: int | None = None, fluency: bool = False,
                   **options: Any) -> GPT2Captioner:
    """GPT-2 small (124M) with random weights and GPT-2's real tokenizer (a folder), for speed measurements."""
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

    torch.manual_seed(0)
    tok = GPT2TokenizerFast.from_pretrained(tokenizer)
    return GPT2Captioner(GPT2LMHeadModel(GPT2Config()), tok, device, n_context, max_new_tokens,
                         max_chars=max_chars, fluency=fluency, **options)
