"""On a ZeroGPU Space the app searches in spaces.GPU calls that fit their duration (decorator stubbed)."""

from __future__ import annotations

import importlib
import sys
import types

import pytest

from app_support import app_presets  # noqa: F401 (fixture)
from glass_app import handlers, zerogpu


class FakeSpaces(types.ModuleType):
    """The part of the `spaces` package glass uses: GPU(duration=...) noting each call it makes."""

    def __init__(self):
        super().__init__("spaces")
        self.calls: list[dict] = []

    def GPU(self, duration=None):  # noqa: N802 (the package's name)
        def wrap(task):
            def call(*args, **kwargs):
                self.calls.append({"duration": duration(*args, **kwargs), "generations": args[4],
                                   "continued": args[5] is not None})
                yield from task(*args, **kwargs)
            return call
        return wrap


@pytest.fixture
def on_zerogpu(monkeypatch):
    """The app as it starts on a ZeroGPU Space, with a stand-in for `spaces`; reloaded plain afterwards."""
    fake = FakeSpaces()
    monkeypatch.setitem(sys.modules, "spaces", fake)
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    monkeypatch.setenv("GLASS_GPU_SECONDS", "0.05")  # calls so short that a search needs several
    importlib.reload(zerogpu)
    yield fake
    monkeypatch.delenv("SPACES_ZERO_GPU")
    monkeypatch.delenv("GLASS_GPU_SECONDS")
    importlib.reload(zerogpu)


def test_a_search_on_zerogpu_runs_as_gpu_calls_and_streams_every_generation(on_zerogpu, app_presets):
    updates = list(handlers.text_to_image("a red seven on a blue background", app_presets["text2image"], 9, 8, 0,
                                          False))
    progress = [u.progress for u in updates]
    assert progress[0].startswith("Generation 1 of 9") and progress[-1].startswith("Generation 9 of 9")
    assert len(updates) == 9 and updates[-1].files  # the result and run card, as always
    calls = on_zerogpu.calls
    assert len(calls) > 1 and all(c["duration"] == 0.05 for c in calls)
    assert not calls[0]["continued"] and all(c["continued"] for c in calls[1:])
    assert sum(c["generations"] for c in calls) == 9 + len(calls) - 1  # each continued call re-scores first


def test_off_zerogpu_nothing_is_wrapped_and_spaces_is_not_needed():
    assert not zerogpu.on_zerogpu() and zerogpu.runner("mini_gan", "cpu", "a dog", {}) is None
