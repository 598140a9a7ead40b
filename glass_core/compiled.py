"""torch.compile for a search's forward passes: weights frozen into the graph, batches of one size.

A search sends the same number of genomes through a network every generation, so one static
graph serves the whole run. Compiling takes a minute or more on a CPU (the 'first generation'
column of benchmarks/bench-cpu.md), so small batches, such as the one picture shown per
generation, stay eager.
"""

from __future__ import annotations

import torch

MIN_COMPILED_BATCH = 8  # below this a batch runs eagerly: the picture to show, a chat turn


class CompiledForward:
    """Calls `module` through torch.compile (frozen weights, static shapes) for large batches."""

    def __init__(self, module: torch.nn.Module):
        self.module = module
        self._compiled = None  # built on first use: nothing compiles at import or construction

    def __call__(self, *args):
        """module(*args), compiled when the first argument has at least MIN_COMPILED_BATCH rows."""
        if len(args[0]) < MIN_COMPILED_BATCH or torch.is_grad_enabled():
            return self.module(*args)  # a gradient needs the eager graph; freezing forbids it
        if self._compiled is None:
            # freezing: weights become constants, so inductor can pre-pack convolution weights
            # for oneDNN and fold what depends on them alone; they never change during a search.
            self._compiled = torch.compile(self.module, dynamic=False, options={"freezing": True})
        return self._compiled(*args)
