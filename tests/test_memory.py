"""Running out of GPU memory halves the batch instead of ending the search; a search gives back what it held."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from glass_core.errors import GlassError
from glass_core.objective import OUT_OF_MEMORY, effective_precision
from glass_core.pipeline import Pipeline
from glass_core.weights import REPO_WEIGHTS

CAPTION = "a red seven on a blue background"


def _runs_out_above(monkeypatch, generator, k: int) -> list[int]:
    """Make `generator` raise CUDA's out-of-memory error for batches larger than k; the sizes it saw."""
    real, sizes = generator.generate, []

    def generate(genomes: np.ndarray):
        sizes.append(len(genomes))
        if len(genomes) > k:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(genomes)

    monkeypatch.setattr(generator, "generate", generate)
    return sizes


def _mini() -> Pipeline:
    return Pipeline.from_preset("mini_gan", weights_root=REPO_WEIGHTS)


def test_out_of_memory_halves_the_batch_and_the_search_finds_the_same(monkeypatch):
    pipe = _mini()
    settings = dict(pop_size=16, batch_size=16, generations=4, seed=3)
    free = list(pipe.search(CAPTION, **settings))
    sizes = _runs_out_above(monkeypatch, pipe.generator, 5)
    tight = list(pipe.search(CAPTION, **settings))
    assert sizes[:4] == [16, 8, 4, 4]  # halved twice in the first generation, then kept
    assert set(sizes[2:]) <= {4, 1}  # 1: the picture shown
    # Equal up to float rounding: a convolution may sum in another order at another batch size.
    assert all(np.allclose(t.similarities, f.similarities, rtol=0, atol=1e-5) for t, f in zip(tight, free))
    assert np.array_equal(tight[-1].genome, free[-1].genome)
    halved = [n for n in tight[0].notes if "Out of GPU memory" in n]
    assert halved == ["Out of GPU memory: batch size halved to 8 from here on.",
                      "Out of GPU memory: batch size halved to 4 from here on."]
    assert not any("Out of GPU memory" in n for r in tight[1:] for n in r.notes)  # said once, where it happened


def test_out_of_memory_at_one_genome_is_one_clear_error(monkeypatch):
    pipe = _mini()
    _runs_out_above(monkeypatch, pipe.generator, 0)
    with pytest.raises(GlassError, match="Out of GPU memory even with one genome at a time") as err:
        list(pipe.search(CAPTION, pop_size=4, batch_size=4, generations=1))
    assert isinstance(err.value.__cause__, OUT_OF_MEMORY)


def test_the_search_empties_the_cuda_cache_when_it_ends_and_when_it_is_closed(monkeypatch):
    pipe = _mini()
    emptied = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: emptied.append(1))
    list(pipe.search(CAPTION, pop_size=8, generations=2))
    assert len(emptied) == 1  # at the normal end
    records = pipe.search(CAPTION, pop_size=8, generations=50)
    next(records)
    assert len(emptied) == 1
    records.close()  # Stop
    assert len(emptied) == 2


def test_bf16_is_for_cuda_a_cpu_search_runs_in_float32_and_says_so():
    pipe = _mini()
    assert effective_precision("bf16", torch.device("cuda")) == ("bf16", None)
    plain = list(pipe.search(CAPTION, pop_size=8, generations=2))
    low = list(pipe.search(CAPTION, pop_size=8, generations=2, precision="bf16"))
    assert [r.similarities.tolist() for r in low] == [r.similarities.tolist() for r in plain]  # unchanged
    assert not any("precision" in n for n in plain[0].notes)
    assert any("precision bf16 applies on CUDA only" in n and "float32" in n for n in low[0].notes)
