"""The mini GPT-2: a small GPT2LMHeadModel whose 20 context tokens steer "the picture of …".

It is searched exactly like GPT-2 (20 context ids, then "the picture of", greedy decoding), so it
is trained on such sequences. The caption after the prefix follows a rule over the context that
a small transformer learns and the search can exploit: the first digit token names the digit (a
word gives "a {fg} {d} on a {bg} background", a numeral "the number {d} in {fg} on {bg}"), the
first colour token the foreground and the next different colour the background. Missing parts
default to zero, white, and black (white when the foreground is black). Contexts are half uniform
random tokens (what the search starts from) and half random tokens with the caption's words
planted in order. No sequence whose caption is a held-out combination is ever trained on.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from training.mini import data
from training.mini.optim import adamw_warmup_cosine

N_CONTEXT, PREFIX, EOS = 20, "the picture of", "<|endoftext|>"
OUTPUT_TEMPLATES = {False: data.TRAIN_TEMPLATES[0], True: data.TRAIN_TEMPLATES[1]}  # by numeral
MAX_LEN = 40


def _corpus() -> list[str]:
    """Every training caption, bare and after the prefix: what the tokenizer learns merges from."""
    texts = [PREFIX]
    for d, fg, bg in data.train_combos():
        for template in data.TRAIN_TEMPLATES:
            for numeral in (False, True):
                text = data.caption(d, fg, bg, template, numeral)
                texts += [text, f"{PREFIX} {text}"]
    return texts


def build_tokenizer(folder: Path):
    """Byte-level BPE trained on the captions, kept to the symbols they use, saved for from_pretrained.

    The stock trainer starts from all 256 byte symbols; most never occur in a caption, and each
    unused one would be a dead value for every context gene the search mutates, so only the
    characters the captions use (and every merge) are kept, renumbered in training order.
    """
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2TokenizerFast

    corpus = _corpus()
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(corpus, vocab_size=4000, min_frequency=1, show_progress=False,
                            special_tokens=[EOS])
    folder.mkdir(parents=True, exist_ok=True)
    bpe.save_model(str(folder))
    merges = (folder / "merges.txt").read_text().splitlines()[1:]
    vocab = json.loads((folder / "vocab.json").read_text())
    used = {tok for text in corpus for tok in bpe.encode(text).tokens}
    used |= {part for line in merges for part in line.split()} | {"".join(line.split()) for line in merges}
    kept = [tok for tok, _ in sorted(vocab.items(), key=lambda kv: kv[1]) if tok in used or tok == EOS]
    (folder / "vocab.json").write_text(json.dumps({tok: i for i, tok in enumerate(kept)}, ensure_ascii=False))
    tokenizer = GPT2TokenizerFast.from_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return tokenizer


def token_meanings(tokenizer) -> tuple[dict[int, int], dict[int, bool], dict[int, str]]:
    """Which ids name a digit (and whether as a numeral) and which name a colour."""
    digit, numeral, colour = {}, {}, {}
    for tok, i in tokenizer.get_vocab().items():
        word = tokenizer.convert_tokens_to_string([tok]).strip().lower()
        if word in data.DIGIT_WORDS:
            digit[i], numeral[i] = data.DIGIT_WORDS.index(word), False
        elif len(word) == 1 and word.isdigit():
            digit[i], numeral[i] = int(word), True
        elif word in data.PALETTE:
            colour[i] = word
    return digit, numeral, colour


def caption_rule(context: list[int], meanings: tuple) -> tuple[int, str, str, bool]:
    """(digit, fg, bg, numeral) that the model is taught to write after this context."""
    digit, numeral, colour = meanings
    first = next((t for t in context if t in digit), None)
    colours = [colour[t] for t in context if t in colour]
    fg = colours[0] if colours else "white"
    bg = next((c for c in colours if c != fg), "white" if fg == "black" else "black")
    return (digit[first], fg, bg, numeral[first]) if first is not None else (0, fg, bg, False)


def _planted_context(rng: np.random.Generator, vocab: int, meanings: tuple) -> list[int]:
    """Random tokens with a digit and two colours planted in order, sometimes more after them."""
    digit, _, colour = meanings
    ctx = list(rng.integers(0, vocab, N_CONTEXT))
    picks = [rng.choice(list(digit)), *rng.choice(list(colour), 2, replace=False)]
    picks += list(rng.choice(list(digit) + list(colour), rng.integers(0, 3)))
    slots = np.sort(rng.choice(N_CONTEXT, len(picks), replace=False))
    order = [picks[1], picks[2], *picks[3:]]  # colours keep their order; the digit goes anywhere
    order.insert(rng.integers(0, len(order) + 1), picks[0])
    for slot, tok in zip(slots, order):
        ctx[slot] = int(tok)
    return [int(t) for t in ctx]


def training_batch(n: int, rng: np.random.Generator, tokenizer, meanings: tuple) -> tuple[torch.Tensor, ...]:
    """(input ids, labels) of n sequences: context, prefix, caption, end-of-text; loss on the caption."""
    vocab, eos = len(tokenizer), tokenizer.eos_token_id
    prefix = tokenizer.encode(PREFIX)
    held = data.heldout_combos()
    ids = torch.full((n, MAX_LEN), eos, dtype=torch.long)
    labels = torch.full((n, MAX_LEN), -100, dtype=torch.long)
    for row in range(n):
        while True:
            ctx = (_planted_context(rng, vocab, meanings) if rng.random() < 0.5
                   else [int(t) for t in rng.integers(0, vocab, N_CONTEXT)])
            d, fg, bg, numeral = caption_rule(ctx, meanings)
            if (d, fg, bg) not in held:
                break
        tail = tokenizer.encode(" " + data.caption(d, fg, bg, OUTPUT_TEMPLATES[numeral], numeral)) + [eos]
        seq = ctx + prefix + tail
        ids[row, :len(seq)] = torch.tensor(seq)
        labels[row, len(ctx) + len(prefix):len(seq)] = torch.tensor(tail)
    used = int((labels != -100).nonzero()[:, 1].max()) + 1  # no compute on all-padding columns
    return ids[:, :used], labels[:, :used]


def build_model(vocab: int, eos: int):
    """A 4-layer, 128-wide GPT2LMHeadModel over the caption vocabulary."""
    from transformers import GPT2Config, GPT2LMHeadModel

    cfg = GPT2Config(vocab_size=vocab, n_positions=64, n_embd=128, n_layer=4, n_head=4,
                     bos_token_id=eos, eos_token_id=eos, pad_token_id=eos)
    return GPT2LMHeadModel(cfg)


def train_gpt2(folder: Path, steps: int = 800, batch: int = 64, lr: float = 2e-3,
               seed: int = data.SEED, log: Callable[[str], None] = print):
    """Tokenizer and model from scratch, seeded; both saved to `folder` with save_pretrained."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    tokenizer = build_tokenizer(folder)
    meanings = token_meanings(tokenizer)
    model = build_model(len(tokenizer), tokenizer.eos_token_id).train()
    opt, sched = adamw_warmup_cosine(model.parameters(), lr, 0.01, steps)
    start = time.time()
    for step in range(steps):
        ids, labels = training_batch(batch, rng, tokenizer, meanings)
        loss = model(input_ids=ids, labels=labels).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps - 1:
            log(f"gpt2 step {step:5d}  loss {loss.item():.4f}  {time.time() - start:.0f}s")
    model.eval()
    model.generation_config.update(do_sample=False, max_new_tokens=30, pad_token_id=tokenizer.eos_token_id)
    model.save_pretrained(str(folder))
    return model, tokenizer
