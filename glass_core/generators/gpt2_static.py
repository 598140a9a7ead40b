"""Greedy GPT-2 decoding in which every step has the same shapes, so that a CUDA graph can replay it.

`LeanGreedyDecoder` drops each caption when it ends and slices its key/value cache to the
current length: the least arithmetic, and the right choice on a CPU. On a GPU a step of a small
model is mostly kernel launches, and a captured graph needs fixed shapes and fixed memory. Here
the cache has its final size from the start, a step attends to all of it through a mask of the
positions written so far, ended captions keep their rows (their token forced to end-of-text),
and the position and step index are device tensors that the step itself advances.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from glass_core.generators.gpt2_decode import LeanGreedyDecoder
from glass_core.graphs import CudaGraph, EagerGraph, autocast_key

MAX_SESSIONS = 4  # decoding shapes kept: a search uses one or two (population, the caption shown)
MIN_GRAPH_STEPS = 4  # the graph's warm-up advances 3 steps, which must stay inside the cache


@dataclass
class _State:
    """The static buffers of one decoding shape; a step reads and writes only these."""

    caches: list[list[torch.Tensor]]  # per block [keys, values], (N, heads, size, head size)
    token: torch.Tensor  # (N,) the last token chosen
    pos: torch.Tensor  # (1,) where that token sits
    step: torch.Tensor  # (1,) its column in `out`
    finished: torch.Tensor  # (N,) captions that have produced end-of-text
    out: torch.Tensor  # (N, max_new)
    places: torch.Tensor  # (size,) 0..size-1, compared with pos for the attention mask
    graph: object | None = None


class StaticGreedyDecoder(LeanGreedyDecoder):
    """(N, T) equal-length prompts -> (N, ≤ max_new) greedy tokens, `eos`-padded after each end.

    The same tokens as `LeanGreedyDecoder` and transformers' `generate`. `graphs`: capture the
    step in a CUDA graph (None: on CUDA devices); `check_every`: steps between the host's checks
    whether every caption has ended (each check waits for the GPU; the result is trimmed anyway).
    """

    def __init__(self, model: torch.nn.Module, graphs: bool | None = None, check_every: int | None = None,
                 new_graph: Callable[[], Any] | None = None):
        super().__init__(model)
        self.graphs, self.check_every = graphs, check_every
        self.new_graph = new_graph  # a graph factory (tests: EagerGraph); None: CudaGraph on CUDA
        self._sessions: dict[tuple, _State] = {}
        self._lock = threading.Lock()  # one captioner may serve several searches: its buffers, one at a time

    def release_graphs(self) -> None:
        """Forget every decoding shape's buffers and graph (shapes are about to change)."""
        with self._lock:
            self._sessions.clear()

    def _step_block(self, i: int, x: torch.Tensor, cache: list[torch.Tensor], st: _State) -> torch.Tensor:
        """One block on the new token x (N, 1, C) at position st.pos, writing its key and value there."""
        block = self.t.h[i]
        n, _, c = x.shape
        h = F.layer_norm(x, (c,), block.ln_1.weight, block.ln_1.bias, self.eps)
        qkv = torch.addmm(block.attn.c_attn.bias, h.reshape(-1, c), block.attn.c_attn.weight)
        q, k, v = qkv.view(n, 1, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        cache[0].index_copy_(2, st.pos, k)
        cache[1].index_copy_(2, st.pos, v)
        visible = (st.places <= st.pos)[None, None, None, :]  # what is written so far, itself included
        a = F.scaled_dot_product_attention(q, cache[0], cache[1], attn_mask=visible)
        a = a.transpose(1, 2).reshape(-1, c)
        x = x + torch.addmm(block.attn.c_proj.bias, a, block.attn.c_proj.weight).view(n, 1, c)
        h = F.layer_norm(x, (c,), block.ln_2.weight, block.ln_2.bias, self.eps).reshape(-1, c)
        h = F.gelu(torch.addmm(block.mlp.c_fc.bias, h, block.mlp.c_fc.weight), approximate="tanh")
        return x + torch.addmm(block.mlp.c_proj.bias, h, block.mlp.c_proj.weight).view(n, 1, c)

    def _choose(self, st: _State, logits: torch.Tensor, eos: int) -> None:
        """Greedy token, end-of-text for ended captions, written at column st.step."""
        token = torch.where(st.finished, eos, logits.argmax(-1))
        st.out.index_copy_(1, st.step, token[:, None])
        st.finished |= token == eos
        st.token.copy_(token)
        st.step += 1

    def advance(self, st: _State, eos: int) -> None:
        """One decoding step, in place on `st`: the same shapes and memory every time."""
        x = self.t.wte(st.token[:, None]) + self.t.wpe(st.pos)
        for i, cache in enumerate(st.caches):
            x = self._step_block(i, x, cache, st)
        last = F.layer_norm(x[:, -1], (x.shape[-1],), self.t.ln_f.weight, self.t.ln_f.bias, self.eps)
        self._choose(st, F.linear(last, self.head.weight), eos)
        st.pos += 1

    def _state(self, context: torch.Tensor, max_new: int, eos: int) -> _State:
        """The buffers for this shape (made, and the step captured, on first use)."""
        n, length = context.shape
        size, dev = length + max_new, context.device
        on, dtype = autocast_key(dev.type)
        dtype = dtype if on else self.t.wte.weight.dtype  # the keys' dtype: what the projections give
        key = (n, length, max_new, eos, dtype, dev)
        if key in self._sessions:
            return self._sessions[key]
        heads, head = self.heads, self.t.wte.weight.shape[1] // self.heads
        # Zeros, not empty: masked positions get weight 0, and 0 times a stray NaN would be NaN.
        caches = [[torch.zeros(n, heads, size, head, dtype=dtype, device=dev) for _ in "kv"] for _ in self.t.h]
        long = dict(dtype=torch.long, device=dev)
        st = _State(caches, torch.zeros(n, **long), torch.zeros(1, **long), torch.zeros(1, **long),
                    torch.zeros(n, dtype=torch.bool, device=dev), torch.full((n, max_new), eos, **long),
                    torch.arange(size, **long))
        new_graph = self.new_graph or ((lambda: CudaGraph(dev)) if dev.type == "cuda" else EagerGraph)
        use_graph = (self.graphs if self.graphs is not None else dev.type == "cuda") and max_new >= MIN_GRAPH_STEPS
        if use_graph:
            self._start(st, context, eos)  # valid buffers for the warm-up steps
            st.graph = new_graph()
            st.graph.capture(lambda: self.advance(st, eos))
        self._sessions[key] = st
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.pop(next(iter(self._sessions)))
        return st

    def _start(self, st: _State, context: torch.Tensor, eos: int) -> None:
        """The prompt pass into the cache, and the first token, resetting the step's counters."""
        length = context.shape[1]
        st.finished.zero_()
        st.out.fill_(eos)
        st.step.zero_()
        st.pos.fill_(length)
        self._choose(st, self._logits(context, st.caches, 0, st.places.numel()), eos)

    @torch.inference_mode()
    def __call__(self, context: torch.Tensor, max_new: int, eos: int) -> torch.Tensor:
        """Greedy continuation of every prompt; stops soon after all have produced `eos`."""
        max_new = min(max_new, self.n_positions - context.shape[1])
        if max_new <= 0:
            return torch.full((len(context), 0), eos, dtype=torch.long, device=context.device)
        with self._lock:
            st = self._state(context, max_new, eos)
            self._start(st, context, eos)
            every = self.check_every or (4 if context.device.type == "cuda" else 1)
            steps = 1
            while steps < max_new and (steps % every or not bool(st.finished.all())):
                st.graph.replay() if st.graph is not None else self.advance(st, eos)
                steps += 1
            return _trim(st.out[:, :steps], eos)


def _trim(out: torch.Tensor, eos: int) -> torch.Tensor:
    """Cut after the step at which the last caption ended, as `generate` does (a copy: `out` is reused)."""
    ended = out == eos
    first = torch.where(ended.any(1), ended.int().argmax(1), out.shape[1] - 1)
    return out[:, :int(first.max()) + 1].clone()
