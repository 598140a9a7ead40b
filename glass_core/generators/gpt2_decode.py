"""Greedy decoding for a GPT2LMHeadModel without its per-call overhead.

transformers' forward builds masks, cache objects and output records on every call; for a
search that decodes a whole population token by token that bookkeeping costs more than the
arithmetic of a small model. `LeanGreedyDecoder` reads the same weights and runs the same
equations (pre-norm blocks, tanh GELU, causal attention scaled by 1/sqrt(head size)) on a
key/value cache it allocates once, and drops each caption from the batch as soon as it ends.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def supports(config) -> bool:
    """Whether `config` uses only the GPT-2 options this decoder implements."""
    return (config.activation_function in ("gelu_new", "gelu_pytorch_tanh")
            and config.scale_attn_weights and not config.scale_attn_by_inverse_layer_idx
            and not config.reorder_and_upcast_attn and not getattr(config, "add_cross_attention", False))


class LeanGreedyDecoder:
    """(N, T) equal-length prompts -> (N, ≤ max_new) greedy tokens, `eos`-padded after each end.

    The result stops at the step where the last caption ended, as transformers' `generate` does.
    """

    def __init__(self, model: torch.nn.Module):
        if not supports(model.config):
            raise ValueError("This GPT-2 uses options the lean decoder does not implement")
        self.t, self.head = model.transformer, model.lm_head
        self.heads = model.config.n_head
        self.eps = model.config.layer_norm_epsilon
        self.n_positions = model.config.n_positions

    def _block(self, i: int, x: torch.Tensor, cache: list[torch.Tensor], start: int, size: int) -> torch.Tensor:
        """One block on x (N, L, C) at positions start..start+L, filling the cache there.

        The last block returns only the last position: the next token needs nothing else, and
        the other positions' keys and values are in the cache by then.
        """
        block = self.t.h[i]
        n, length, c = x.shape
        h = F.layer_norm(x, (c,), block.ln_1.weight, block.ln_1.bias, self.eps)
        # transformers' Conv1D keeps weights as (in, out): y = x @ W + b.
        qkv = torch.addmm(block.attn.c_attn.bias, h.reshape(-1, c), block.attn.c_attn.weight)
        q, k, v = qkv.view(n, length, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        if not cache:  # allocated once, in the dtype autocast gives the keys
            cache += [k.new_empty(n, self.heads, size, c // self.heads) for _ in "kv"]
        k_cache, v_cache = cache
        end = start + length
        k_cache[:, :, start:end], v_cache[:, :, start:end] = k, v
        if i == len(self.t.h) - 1:
            q, x, length = q[:, :, -1:], x[:, -1:], 1
        # The prompt (from position 0) attends causally to itself; a single query (a new token,
        # or the last block's last position) sees everything before it.
        a = F.scaled_dot_product_attention(q, k_cache[:, :, :end], v_cache[:, :, :end], is_causal=length > 1)
        a = a.transpose(1, 2).reshape(-1, c)
        x = x + torch.addmm(block.attn.c_proj.bias, a, block.attn.c_proj.weight).view(n, length, c)
        h = F.layer_norm(x, (c,), block.ln_2.weight, block.ln_2.bias, self.eps).reshape(-1, c)
        h = F.gelu(torch.addmm(block.mlp.c_fc.bias, h, block.mlp.c_fc.weight), approximate="tanh")
        return x + torch.addmm(block.mlp.c_proj.bias, h, block.mlp.c_proj.weight).view(n, length, c)

    def _logits(self, ids: torch.Tensor, caches: list[list[torch.Tensor]], start: int, size: int) -> torch.Tensor:
        """Next-token logits (N, V) after `ids` (N, L) placed at positions start..start+L."""
        positions = torch.arange(start, start + ids.shape[1], device=ids.device)
        x = self.t.wte(ids) + self.t.wpe(positions)
        for i, cache in enumerate(caches):
            x = self._block(i, x, cache, start, size)
        last = F.layer_norm(x[:, -1], (x.shape[-1],), self.t.ln_f.weight, self.t.ln_f.bias, self.eps)
        return F.linear(last, self.head.weight)

    @torch.inference_mode()
    def __call__(self, context: torch.Tensor, max_new: int, eos: int) -> torch.Tensor:
        """Greedy continuation of every prompt; stops when all have produced `eos`."""
        n, length = context.shape
        max_new = min(max_new, self.n_positions - length)
        caches: list[list[torch.Tensor]] = [[] for _ in self.t.h]  # filled by the prompt pass
        out = torch.full((n, max(max_new, 0)), eos, dtype=torch.long, device=context.device)
        alive = torch.arange(n, device=context.device)  # rows of `out` still being written
        size = length + max_new
        logits = self._logits(context, caches, 0, size)
        for step in range(max_new):
            token = logits.argmax(-1)
            out[alive, step] = token
            going = token != eos
            if not bool(going.all()):  # drop finished captions: later steps cost only the rest
                if not bool(going.any()):
                    return out[:, :step + 1]
                alive, token = alive[going], token[going]
                caches = [[k[going], v[going]] for k, v in caches]
            if step + 1 < max_new:
                logits = self._logits(token[:, None], caches, length + step, size)
        return out
