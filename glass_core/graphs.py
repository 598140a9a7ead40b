"""CUDA graphs for fixed-shape steps: captured once after a warm-up, replayed on every call.

A search sends batches of one size through the same networks every generation. On a GPU the
launch of each of a step's hundreds of kernels can cost more than its arithmetic; a captured
graph launches them all at once. A graph reads and writes fixed memory, so a step works on
static buffers: inputs are copied in, outputs read out (and copied, since the next replay
overwrites them). Off CUDA `EagerGraph` keeps that contract by running the step again, so the
buffer logic is the same code on a CPU, where the tests exercise it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import torch

from glass_core.compiled import MIN_COMPILED_BATCH

MAX_GRAPHS = 4  # shapes kept per component: a search uses one or two (population, last batch)


class EagerGraph:
    """torch.cuda.CUDAGraph's contract without CUDA: replay runs the step again into its first outputs."""

    def capture(self, step: Callable[[], Any]) -> Any:
        """Run `step` once; its outputs are the static outputs that every replay overwrites."""
        self._step = step
        self._out = step()
        return self._out

    def replay(self) -> None:
        """Run the step again, writing its results into the captured outputs."""
        copy_into(self._out, self._step())


class CudaGraph:
    """A torch.cuda.CUDAGraph of one step, captured after `warmup` eager runs on a side stream."""

    def __init__(self, device: torch.device, warmup: int = 3):
        self.device, self.warmup = device, warmup

    def capture(self, step: Callable[[], Any]) -> Any:
        """Warm up (lazy library set-up must not happen inside capture), then record `step`."""
        stream = torch.cuda.Stream(self.device)
        stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(stream):
            for _ in range(self.warmup):
                step()
        torch.cuda.current_stream(self.device).wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        # Autocast's cache of cast weights must be off while capturing (PyTorch's CUDA graph notes):
        # cached casts made inside the capture would be freed when autocast exits.
        with _autocast_without_cache(self.device), torch.cuda.graph(self.graph):
            return step()

    def replay(self) -> None:
        """Launch the recorded kernels."""
        self.graph.replay()


def graph_for(device: torch.device) -> Callable[[], Any] | None:
    """The graph class for `device`: CUDA graphs on CUDA, None (plain eager calls) elsewhere."""
    return (lambda: CudaGraph(device)) if device.type == "cuda" else None


def _autocast_without_cache(device: torch.device):
    if not torch.is_autocast_enabled(device.type):
        return nullcontext()
    return torch.autocast(device.type, dtype=torch.get_autocast_dtype(device.type), cache_enabled=False)


def copy_into(dst: Any, src: Any) -> None:
    """Copy a step's new results into its static outputs (tensors, or tuples/lists of them)."""
    if isinstance(dst, torch.Tensor):
        dst.copy_(src)
    elif isinstance(dst, (tuple, list)):
        for d, s in zip(dst, src):
            copy_into(d, s)


def _clone(out: Any) -> Any:
    if isinstance(out, torch.Tensor):
        return out.clone()
    return type(out)(_clone(o) for o in out) if isinstance(out, (tuple, list)) else out


def autocast_key(device_type: str) -> tuple[bool, torch.dtype | None]:
    """Autocast's state, which a captured graph bakes in."""
    on = torch.is_autocast_enabled(device_type)
    return on, torch.get_autocast_dtype(device_type) if on else None


class GraphedForward:
    """fn(*args) replayed from one graph per input shape; small batches and gradients stay eager.

    Arguments that are not tensors (a truncation, a noise mode) are part of the graph, so each
    value gets its own. `new_graph` makes a graph (CudaGraph, EagerGraph); None runs fn eagerly.
    """

    def __init__(self, fn: Callable[..., Any], new_graph: Callable[[], Any] | None):
        self.fn, self.new_graph = fn, new_graph
        self._graphs: dict[tuple, tuple[Any, list[Any], Any]] = {}
        self._lock = threading.Lock()  # one component may serve several searches: one replay at a time

    def release_graphs(self) -> None:
        """Forget every captured graph, and with it the memory it holds (shapes are about to change)."""
        with self._lock:
            self._graphs.clear()

    def __call__(self, *args: Any) -> Any:
        """fn(*args), through a graph when one applies."""
        first = args[0]
        if self.new_graph is None or len(first) < MIN_COMPILED_BATCH or torch.is_grad_enabled():
            return self.fn(*args)
        key = (tuple((a.shape, a.dtype) if isinstance(a, torch.Tensor) else a for a in args),
               autocast_key(first.device.type), torch.is_inference_mode_enabled())
        with self._lock:
            if key not in self._graphs:
                self._graphs[key] = self._capture(args)
                while len(self._graphs) > MAX_GRAPHS:  # the oldest shape goes; its memory with it
                    self._graphs.pop(next(iter(self._graphs)))
            graph, inputs, out = self._graphs[key]
            for static, arg in zip(inputs, args):
                if isinstance(static, torch.Tensor):
                    static.copy_(arg)
            graph.replay()
            return _clone(out)  # the next replay overwrites `out`

    def _capture(self, args: tuple[Any, ...]) -> tuple[Any, list[Any], Any]:
        inputs = [a.clone() if isinstance(a, torch.Tensor) else a for a in args]
        graph = self.new_graph()
        out = graph.capture(lambda: self.fn(*inputs))
        return graph, inputs, out


def release_graphs(*components: Any) -> None:
    """Drop the graphs and static buffers that components hold, e.g. after running out of GPU memory."""
    for component in components:
        for part in vars(component).values():
            if callable(getattr(part, "release_graphs", None)):
                part.release_graphs()
