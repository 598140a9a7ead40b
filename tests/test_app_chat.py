"""Conversation turns on the Text → Image tab: the target grows, the population carries over, the strip grows."""

from __future__ import annotations

import threading

import gradio as gr
import numpy as np
import pytest

from app_support import CAPTION, SearchSpy, app_presets  # noqa: F401  (fixture)
from glass_app import chat, handlers
from glass_core.pipeline import Pipeline
from glass_core.prompts import WeightedPrompt


class TargetSpy:
    """Records the target and initial population of every core search the app starts."""

    def __init__(self, monkeypatch):
        self.calls: list[tuple] = []
        original = Pipeline.search

        def search(pipe, target, initial=None, **overrides):
            self.calls.append((target, None if initial is None else np.array(initial, copy=True)))
            return original(pipe, target, initial=initial, **overrides)

        monkeypatch.setattr(Pipeline, "search", search)


def search(presets, control, generations=2) -> list[handlers.ImageUpdate]:
    """A finished plain text-to-image run in the session of `control`."""
    return list(handlers.text_to_image(CAPTION, presets["text2image"], generations, 8, 0, False, control))


def turn(presets, conv, control, question, answer, generations=2) -> list[chat.ChatUpdate]:
    """Add a turn and run its continued search to the end."""
    chat.add_turn(question, answer, CAPTION, conv, control)
    return list(chat.continue_turn(CAPTION, presets["text2image"], generations, 8, 0, False, conv, control))


def assert_continued(initial: np.ndarray, last) -> None:
    """A colour turn's start: the last population's better half whole, the rest re-drawn in its reals only."""
    best = np.argsort(-last.similarities, kind="stable")[:len(initial) // 2]
    assert np.array_equal(initial[best], last.population[best])
    bits = slice(-10, None)  # the mini GAN's class genes: the digit the caption fixed stays
    assert np.array_equal(initial[:, bits], last.population[:, bits])
    assert not np.array_equal(initial, last.population)


def test_a_turn_changes_the_target_and_continues_from_the_population(app_presets, monkeypatch):
    spy, control, conv = TargetSpy(monkeypatch), handlers.Control(), chat.Conversation()
    before = search(app_presets, control)[-1].run.card.last
    updates = turn(app_presets, conv, control, "what colour is the digit?", "red")
    target, initial = spy.calls[-1]
    assert target == [WeightedPrompt(CAPTION, 1.0), WeightedPrompt("a red digit", 0.5)]
    assert_continued(initial, before)
    card = updates[-1].run.card.target
    assert card["turns"] == [{"question": "what colour is the digit?", "answer": "red"}]
    assert card["prompts"][1] == {"text": "a red digit", "weight": 0.5}
    assert [label for _, label in updates[-1].strip] == [f"caption: {CAPTION}", "what colour is the digit? red"]
    assert len(updates[-1].files) == 3 and "Continuing from the population of generation 2" in str(updates[0].chat)

    after_first = updates[-1].run.card.last
    updates = turn(app_presets, conv, control, "and the background?", "blue")
    assert_continued(spy.calls[-1][1], after_first)
    assert spy.calls[-1][0][1:] == [WeightedPrompt("a red digit on a blue background", 1.0)]
    assert "Adding “a red digit on a blue background”" in str(updates[-1].chat)
    assert [label for _, label in updates[-1].strip][-1] == "and the background? blue"
    assert len(updates[-1].strip) == 3


def test_a_negated_answer_pushes_away(app_presets, monkeypatch):
    spy, control, conv = TargetSpy(monkeypatch), handlers.Control(), chat.Conversation()
    search(app_presets, control, generations=1)
    messages = chat.add_turn("is there a cat?", "no", CAPTION, conv, control)[0]
    assert "Pushing the picture away from “a cat”" in messages[-1]["content"]
    list(chat.continue_turn(CAPTION, app_presets["text2image"], 1, 8, 0, False, conv, control))
    assert spy.calls[-1][0][-1] == WeightedPrompt("a cat", -0.5)


@pytest.mark.parametrize("question, answer, caption, message", [
    ("what colour is the digit?", "   ", CAPTION, "The answer is empty"),
    ("what colour is the digit?", None, CAPTION, "The answer is empty"),
    ("", "no", CAPTION, "needs the question"),
    ("what colour is the digit?", "red", "  ", "caption: it is empty"),
])
def test_bad_turns_get_a_clear_message_and_change_nothing(question, answer, caption, message):
    conv, control = chat.Conversation(), handlers.Control(running=True)
    messages, kept_question, kept_answer = chat.add_turn(question, answer, caption, conv, control)
    # Said in the chat (add_turn's gr.Error only reached the log), the boxes kept as typed to be corrected.
    assert message in messages[-1]["content"] and "Turn not added" in messages[-1]["content"]
    assert kept_question == gr.skip() and kept_answer == gr.skip()
    assert conv.turns == [] and control.stop is False


def test_a_turn_stops_the_running_search_and_continues_from_where_it_stopped(app_presets, monkeypatch):
    spy, control, conv = TargetSpy(monkeypatch), handlers.Control(), chat.Conversation()
    closed = SearchSpy(monkeypatch)
    running = handlers.text_to_image(CAPTION, app_presets["text2image"], 500, 8, 0, False, control)
    next(running), next(running)
    chat.add_turn("what colour is the digit?", "red", CAPTION, conv, control)
    assert control.stop is True  # the running search ends after the generation it is computing
    result: list = []
    waiting = threading.Thread(target=lambda: result.extend(
        chat.continue_turn(CAPTION, app_presets["text2image"], 2, 8, 0, False, conv, control)))
    waiting.start()
    rest = list(running)  # the stopped search's last update, then its end
    waiting.join(timeout=120)
    assert len(rest) == 1 and "stopped, result kept" in rest[0].progress
    assert_continued(spy.calls[-1][1], rest[0].run.card.last)
    assert len(result) == 2 and len(result[-1].strip) == 2 and closed.all_closed()


def test_a_newer_turn_ends_the_continued_search_too(app_presets):
    control, conv = handlers.Control(), chat.Conversation()
    search(app_presets, control, generations=1)
    chat.add_turn("what colour is the digit?", "red", CAPTION, conv, control)
    stream = chat.continue_turn(CAPTION, app_presets["text2image"], 500, 8, 0, False, conv, control)
    next(stream)
    chat.add_turn("and the background?", "blue", CAPTION, conv, control)
    last = list(stream)[-1]
    assert "stopped, result kept" in last.progress and last.strip[-1][1] == "what colour is the digit? red"
    updates = list(chat.continue_turn(CAPTION, app_presets["text2image"], 1, 8, 0, False, conv, control))
    # Both turns counted: the two described parts joined into one prompt weighing both.
    assert updates[-1].run.card.target["prompts"][1:] == [{"text": "a red digit on a blue background", "weight": 1.0}]
    assert len(updates[-1].strip) == 3


def test_turns_before_any_search_start_one(app_presets, monkeypatch):
    spy, control, conv = TargetSpy(monkeypatch), handlers.Control(), chat.Conversation()
    chat.add_turn("is it red?", "yes", CAPTION, conv, control)
    chat.add_turn("what about the background?", "blue", CAPTION, conv, control)
    updates = list(chat.continue_turn(CAPTION, app_presets["text2image"], 1, 8, 0, False, conv, control))
    assert spy.calls[-1][1] is None and "No search has run yet" in str(updates[-1].chat)
    assert len(spy.calls[-1][0]) == 3 and [label for _, label in updates[-1].strip] == [
        "what about the background? blue"]
    # both turns were served at once: a second continuation has nothing left to do
    assert list(chat.continue_turn(CAPTION, app_presets["text2image"], 1, 8, 0, False, conv, control)) == []


def test_a_new_run_starts_a_new_conversation(app_presets):
    control, conv = handlers.Control(), chat.Conversation()
    turn(app_presets, conv, control, "is it red?", "yes", generations=1)
    assert chat.reset(conv) == ([], []) and conv.turns == [] and conv.strip == [] and conv.served == 0


def test_the_page_has_the_conversation_widgets(app_presets):
    import app

    config = app.create_demo().get_config_file()
    ids = {c["props"].get("elem_id") for c in config["components"]}
    assert {"t2i-chat", "t2i-question", "t2i-answer", "t2i-add-turn", "t2i-strip"} <= ids
