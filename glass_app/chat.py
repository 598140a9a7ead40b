"""Conversation-guided refinement on the Text → Image tab (after ChatPainter, Sharma et al. 2018).

Each turn (a question and the person's answer) joins the caption as a weighted prompt, answers
that describe joined into one ("a red digit on a blue background";
glass_core.conversation.dialogue_prompts), and the search goes on from the population it had
reached, its weaker half re-drawn in the genes the turn is about, instead of starting again.
Adding a turn is two events: `add_turn` (queued, never waiting: no concurrency limit) records the
turn, or says in the chat why it is refused, and asks a running search to stop after its current
generation; `continue_turn` (queued with the searches) waits for that
search to end, then searches on from its last population.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator, NamedTuple

import gradio as gr

from glass_app import handlers, inputs, views
from glass_core.conversation import RESEED_SHARE, TURN_WEIGHT, Turn, dialogue_prompts, reseed_for_turn, turn_prompt
from glass_core.errors import GlassError
from glass_core.prompts import WeightedPrompt, parse_prompts

STOP_WAIT_S = 300.0  # how long a turn waits for the running search to finish its generation

# A continued search's update: text_to_image's outputs, then the chat transcript and the strip of pictures.
ChatUpdate = NamedTuple("ChatUpdate", [*handlers.ImageUpdate.__annotations__.items(),
                                       ("chat", list[dict[str, str]]), ("strip", list[tuple[str, str]])])


@dataclass
class Conversation:
    """One session's turns, chat transcript and strip of pictures; shared by reference like Control."""

    turns: list[Turn] = field(default_factory=list)
    messages: list[dict[str, str]] = field(default_factory=list)
    strip: list[tuple[str, str]] = field(default_factory=list)  # (picture file, what led to it)
    served: int = 0  # how many turns the latest continued search took into account

    def __post_init__(self) -> None:
        # Not a dataclass field: gradio's config walks the fields with dataclasses.asdict, which copies them.
        self.lock = threading.Lock()

    def __deepcopy__(self, memo: dict) -> Conversation:
        # gr.State deep-copies its initial value per session; a lock cannot be copied, and a
        # new session starts with an empty conversation anyway.
        return Conversation()

    def clear(self) -> None:
        """Forget every turn, message and picture (in place: a waiting turn sees it)."""
        self.turns.clear()
        self.messages.clear()
        self.strip.clear()
        self.served = 0


def turn_label(turn: Turn) -> str:
    """A turn as one line: 'what colour is the digit? red'."""
    question = " ".join(turn.question.split())
    return f"{question} {' '.join(turn.answer.split())}".strip()


def _understood(prompt: WeightedPrompt) -> str:
    """How the search reads a turn, so the person sees a denial pushes away."""
    if prompt.weight < 0:
        return f"Pushing the picture away from “{prompt.text}” (weight {prompt.weight:g})."
    return f"Adding “{prompt.text}” to the target (weight {prompt.weight:g})."


def _say(conv: Conversation, message: str) -> None:
    """A message of the app in the chat, and as a notice on the page."""
    conv.messages.append({"role": "assistant", "content": f"⚠ {message}"})
    gr.Warning(message)


def add_turn(question: str | None, answer: str | None, caption: str | None, conv: Conversation,
             control: handlers.Control | None) -> tuple[list[dict[str, str]], Any, Any]:
    """Record a turn and ask a running search to stop after this generation; a refused turn says why
    in the chat, and its question and answer stay in their boxes to be corrected."""
    turn = Turn(question or "", answer or "")
    try:
        own = turn_prompt(turn, TURN_WEIGHT)
        text = inputs.caption(caption)
        prompts = dialogue_prompts(text, [*conv.turns, turn], TURN_WEIGHT)
        # A described part is joined with the earlier ones ("a red digit on a blue background"): show that.
        turns = prompts[len(parse_prompts(text)):]
        prompt = next((p for p in turns if own.text in p.text and p.weight * own.weight > 0), own)
    except GlassError as err:
        refused = handlers.refuse(str(err), title="Please check the turn")  # logs it, paths made relative
        _say(conv, f"Turn not added: {refused.message}")
        return list(conv.messages), gr.skip(), gr.skip()
    conv.turns.append(turn)
    conv.messages += [{"role": "user", "content": turn_label(turn)},
                      {"role": "assistant", "content": _understood(prompt)}]
    if control is not None and control.running:
        control.stop = True  # the running search keeps this generation; the turn continues from it
    return list(conv.messages), "", ""


def _wait_for_idle(control: handlers.Control) -> None:
    """Block until the session's search has ended its generation (Stop was requested by add_turn)."""
    end = time.monotonic() + STOP_WAIT_S
    while control.running:
        if time.monotonic() > end:
            raise handlers.refuse("The running search did not stop in time; press Stop, then add the turn again.")
        control.stop = True
        time.sleep(0.05)


def _starting_point(control: handlers.Control, preset: str, turn: Turn, seed: int) -> tuple[Any, str]:
    """The population to continue from (None: start afresh), re-drawn in part for the turn, and a line saying which."""
    rec = control.record
    if rec is None:
        return None, "No search has run yet: starting one for the caption and the turns."
    if control.preset != preset:
        return None, f"The last search used {control.preset}; starting afresh with {preset}."
    latent = handlers.pipeline(preset).generator.latent
    start = reseed_for_turn(rec.population, rec.similarities, latent, turn, seed)
    return start, (f"Continuing from the population of generation {rec.generation}; its weaker {RESEED_SHARE:.0%}"
                   " re-drawn in the genes this turn is about.")


def _describe(caption: str, turns: list[Turn], prompts: list[WeightedPrompt], start: str) -> dict[str, Any]:
    """The run card's target: caption, turns, the weighted prompts they became, and where it started."""
    return {"caption": caption, "turns": [{"question": t.question, "answer": t.answer} for t in turns],
            "prompts": [{"text": p.text, "weight": p.weight} for p in prompts], "start": start}


def reset(conv: Conversation) -> tuple[list, list]:
    """A fresh Run starts a fresh conversation: empty chat and strip."""
    conv.clear()
    return [], []


def continue_turn(caption: str, preset: str, generations: float, population: float, seed: float,
                  use_discriminator: bool, conv: Conversation, control: handlers.Control | None,
                  request: gr.Request | None = None) -> Iterator[ChatUpdate]:
    """Search on for the caption plus every turn so far, from the population the last search reached.

    A continuation that cannot start (or stops on an error) says why in the chat.
    """
    control = handlers.in_session(control if control is not None else handlers.Control(), request)
    if conv.served >= len(conv.turns):
        return  # a refused turn, or one an earlier continuation took into account: nothing to stop or start
    # One continuation at a time per session; a later turn waits here. A timeout, not a block:
    # a continuation gradio never closed must not freeze the session's chat.
    if not conv.lock.acquire(timeout=STOP_WAIT_S):
        _say(conv, "The previous turn is still searching; press Stop, then add the turn again.")
        yield _unchanged_but_chat(conv)
        return
    try:
        _wait_for_idle(control)
        if conv.served >= len(conv.turns):
            return  # an earlier continuation already took these turns into account
        started = False
        for update in _continue(caption, preset, (generations, population, seed, use_discriminator), conv, control):
            started = True
            yield update
    except gr.Error as err:  # the refusal (logged by handlers.refuse) goes to the chat, not only to a toast
        _say(conv, f"The search for this turn {'stopped on an error' if started else 'did not start'}: {err.message}")
        yield _unchanged_but_chat(conv)
    finally:
        conv.lock.release()


def _unchanged_but_chat(conv: Conversation) -> ChatUpdate:
    """An update that shows the chat as it is now and leaves every other output as it was."""
    return ChatUpdate(**{name: gr.skip() for name in ChatUpdate._fields if name != "chat"}, chat=list(conv.messages))


def _continue(caption: str, preset: str, numbers: tuple, conv: Conversation,
              control: handlers.Control) -> Iterator[ChatUpdate]:
    """Run the continued search, adding its last picture to the strip when it ends."""
    conv.served = served = len(conv.turns)
    turns = list(conv.turns)
    initial, start = _starting_point(control, preset, turns[-1], int(numbers[2] or 0) + len(turns))
    if initial is not None and not conv.strip:  # the picture the conversation started from
        conv.strip.append((views.shown_file(control.record.output), f"caption: {caption}"))
    conv.messages.append({"role": "assistant", "content": start})

    def target() -> list[WeightedPrompt]:
        return dialogue_prompts(inputs.caption(caption), turns, TURN_WEIGHT)

    def describe(prompts: list[WeightedPrompt]) -> dict[str, Any]:
        return _describe(caption, turns, prompts, start)

    for update in handlers.continue_text_to_image(target, preset, numbers, control, initial, describe):
        if update.files is not None:  # the last update of a search carries its files
            last = update.run.card.last
            conv.strip.append((views.shown_file(last.output), turn_label(turns[-1])))
            conv.messages.append({"role": "assistant", "content": f"Picture after this turn: generation"
                                  f" {last.generation}, similarity {last.similarity:.4f}."})
        yield ChatUpdate(*update, chat=list(conv.messages), strip=list(conv.strip))
        if len(conv.turns) > served:  # a newer turn came in before this search started running
            control.stop = True
