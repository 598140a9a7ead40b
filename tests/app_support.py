"""Shared set-up of the app tests: which presets to search with, and a generator with a discriminator."""

from __future__ import annotations

import inspect
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import torch

from glass_app import handlers
from glass_core.availability import preset_status
from glass_core.generators import KINDS, Kind
from glass_core.pipeline import Pipeline
from glass_core.presets import PRESETS, Preset
from glass_core.weights import REPO_WEIGHTS

CAPTION = "a red seven on a blue background"


class WithDiscriminator:
    """The tiny BigGAN plus a fixed 'discriminator', so two-objective runs can be tested."""

    has_discriminator = True

    def __init__(self, inner: Any):
        self.inner, self.latent, self.modality = inner, inner.latent, inner.modality

    def generate(self, genomes: np.ndarray) -> torch.Tensor:
        return self.inner.generate(genomes)

    def show(self, genomes: np.ndarray) -> list:
        return self.inner.show(genomes)

    def top_classes(self, genome: np.ndarray, k: int = 5) -> list[int]:
        return self.inner.top_classes(genome, k)

    def discriminate(self, images: torch.Tensor) -> torch.Tensor:
        # Brightness against colourfulness: a real trade-off with similarity, so the front has several points.
        return (images.mean(dim=(1, 2, 3)) - images.std(dim=(1, 2, 3))) * 20


class DiscriminatorKind(Kind):
    """The test kind 'test_dgan': BigGAN's facts and files, loaded as WithDiscriminator."""

    def load(self, device: torch.device, weights_root: Path, compile: bool = False, **args: Any) -> WithDiscriminator:
        return WithDiscriminator(super().load(device, weights_root, compile=compile, **args))


def named(result: tuple, update: type[tuple]) -> dict[str, Any]:
    """An endpoint's result, as gradio_client returns it, by the field names of the handler's updates."""
    fields = handlers.api_fields(update)
    assert len(result) == len(fields), (fields, result)
    return dict(zip(fields, result))


def mini_ready() -> bool:
    """True once the embedded mini set's weights are in the repository."""
    return all(preset_status(PRESETS[n], REPO_WEIGHTS) == "present" for n in ("mini_gan", "mini_gan_d", "mini_gpt2"))


@pytest.fixture
def app_presets(monkeypatch, request) -> dict[str, str]:
    """Preset names per role: the mini set when its weights exist, else the tiny test models."""
    if mini_ready():
        monkeypatch.setenv("GLASS_WEIGHTS", str(REPO_WEIGHTS))
        return {"text2image": "mini_gan", "two_objectives": "mini_gan_d", "image2text": "mini_gpt2",
                "fluent": "mini_gpt2_fluent"}
    # Without the mini set the app tests fall back on the tiny models, whose GPT-2 needs ../shared.
    tiny_root = request.getfixturevalue("tiny_gpt2_root")
    request.getfixturevalue("test_presets")  # registers test_biggan and test_gpt2
    monkeypatch.setenv("GLASS_WEIGHTS", str(tiny_root))
    monkeypatch.setitem(KINDS, "test_dgan", DiscriminatorKind("test_dgan", "biggan", "image", class_names="imagenet",
                                                              compilable=True))
    dgan = PRESETS["test_biggan"].replace(name="test_biggan_d", generator="test_dgan", use_discriminator=True)
    monkeypatch.setitem(PRESETS, dgan.name, dgan)
    fluent = PRESETS["test_gpt2"].replace(name="test_gpt2_fluent", use_discriminator=True,
                                          generator_args={**PRESETS["test_gpt2"].generator_args, "fluency": True})
    monkeypatch.setitem(PRESETS, fluent.name, fluent)
    return {"text2image": "test_biggan", "two_objectives": "test_biggan_d", "image2text": "test_gpt2",
            "fluent": "test_gpt2_fluent"}


class SearchSpy:
    """Records every core search iterator the app opens, to check that each one gets closed."""

    def __init__(self, monkeypatch):
        self.iterators: list = []
        original = Pipeline.search

        def search(pipe, *args, **kwargs):
            it = original(pipe, *args, **kwargs)
            self.iterators.append(it)
            return it

        monkeypatch.setattr(Pipeline, "search", search)

    def all_closed(self) -> bool:
        """Every iterator opened so far has finished or been closed."""
        return bool(self.iterators) and all(
            inspect.getgeneratorstate(it) == inspect.GEN_CLOSED for it in self.iterators)


def free_port() -> int:
    """A local port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition: Callable[[], Any], timeout: float = 30.0) -> bool:
    """Poll until `condition()` holds or the timeout passes."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


@dataclass
class Served:
    """A running app: its address, the presets to use and the spy on its searches."""

    url: str
    presets: dict[str, str]
    spy: SearchSpy
    downloads: Path

    def client(self):
        """A fresh gradio_client session."""
        from gradio_client import Client

        return Client(self.url, verbose=False, download_files=self.downloads, analytics_enabled=False)


@pytest.fixture
def served(app_presets, monkeypatch, tmp_path):
    """The app launched in this process on a free local port, closed after the test."""
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    spy = SearchSpy(monkeypatch)
    import app

    demo = app.serve("127.0.0.1", free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield Served(demo.local_url, app_presets, spy, tmp_path)
    finally:
        demo.close()
