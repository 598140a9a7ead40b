"""Conversation turns and fluent captions, measured on the embedded mini set.

`python -m experiments.dialogue` writes benchmarks/dialogue_and_fluency.{md,json} under the
current directory (see --out):

(a) text → image: a caption without colours ("the number seven", "a 3") is searched; then turns
that name the colours ("what colour is the digit?" "red", "and the background?" "blue") continue
from its population, half of it re-drawn in the genes the turn concerns (or, for comparison, as
it was). Every stage runs the same generations, and the fresh search on the full caption runs all
three stages' worth: both paths spend the same evaluations. The independent judge
(training.mini.judge, which shares nothing with the mini CLIP) reads the colours of the best
picture after each turn, against a baseline that keeps searching the colourless caption as long,
against the same turns as separate prompts (not joined into one described scene), and against
their raw 'question answer' phrasing.
(b) image → text: mini_gpt2 against mini_gpt2_fluent on held-out pictures: do the captions stay
right (judge.parse_caption against the picture's truth) while their fluency rises?
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from experiments.common import command, heldout_pictures, last_record, new_record
from glass_core.conversation import NO, YES, Turn, dialogue_prompts, reseed_for_turn, turn_prompt
from glass_core.pipeline import Pipeline
from glass_core.presets import DEFAULT_PRESET
from glass_core.prompts import WeightedPrompt
from glass_core.records import GenerationRecord
from training.mini import data
from training.mini.judge import Judge, Verdict, parse_caption

# Eight cases: the first four alone flattered the turns (fg/bg 0.92/0.83 on them, 0.71/0.67 on all eight,
# separate prompts), since the last four are where the mini CLIP swapped the two colours.
CASES = [(7, "red", "blue"), (3, "yellow", "black"), (4, "white", "magenta"), (2, "green", "black"),
         (0, "cyan", "red"), (5, "blue", "white"), (8, "magenta", "yellow"), (6, "black", "green")]
OUT = Path("benchmarks") / "dialogue_and_fluency"
PICTURE_SEED = data.SEED + 7


def colourless(digit: int, k: int) -> str:
    """A caption that names the digit but no colour, as a word or a numeral."""
    return f"the number {data.DIGIT_WORDS[digit]}" if k % 2 == 0 else f"a {digit}"


def colour_turns(fg: str, bg: str) -> list[Turn]:
    """The two turns that name the colours."""
    return [Turn("what colour is the digit?", fg), Turn("and the background?", bg)]


def raw_prompt(turn: Turn, weight: float) -> WeightedPrompt:
    """The first phrasing of open answers, "question answer" ('what colour is the digit red'), for comparison."""
    answer = " ".join(turn.answer.strip().strip("?.!").split())
    if answer.lower() in YES | NO:
        return turn_prompt(turn, weight)  # yes/no answers: as conversation.py
    return WeightedPrompt(f"{turn.question.strip().strip('?.! ')} {answer}", weight)


def apart(caption: str, turns: list[Turn], weight: float = 1.0) -> list[WeightedPrompt]:
    """Each turn its own prompt, not joined into one described scene (the previous conversation.py)."""
    return [WeightedPrompt(caption), *(turn_prompt(t, weight) for t in turns)]


# Each arm: how the turns become prompts, and whether a turn's search re-draws part of the population
# (glass_core.conversation.reseed_for_turn) or continues from it as it was.
ARMS: dict[str, tuple[Callable[[str, list[Turn]], list[WeightedPrompt]], bool]] = {
    "turns, conversation.py (joined, re-seeded)": (lambda caption, turns: dialogue_prompts(caption, turns), True),
    "turns, conversation.py, continued as it was": (lambda caption, turns: dialogue_prompts(caption, turns), False),
    "turns, apart, weight 1, re-seeded": (apart, True),
    "turns, raw 'question answer' phrasing": (lambda caption, turns: [WeightedPrompt(caption),
                                                                     *(raw_prompt(t, 0.5) for t in turns)], False),
    "baseline: colourless caption": (lambda caption, turns: [WeightedPrompt(caption)], False),
}


def judge_record(pipe: Pipeline, judge: Judge, rec: GenerationRecord, case: tuple, full: torch.Tensor) -> dict:
    """The judge's reading of the best picture and of the population, and CLIP's view of the full caption."""
    digit, fg, bg = case
    with torch.inference_mode():
        best = pipe.generator.generate(rec.genome[None]).float().cpu()
        pop = pipe.generator.generate(rec.population).float().cpu()
        clip_full = float(pipe.scorer.encode_images(best) @ full.reshape(-1))
    v, crowd = judge.judge_images(best)[0], judge.judge_images(pop)
    return {"fg": v.fg == fg, "bg": v.bg == bg, "digit": v.digit == digit, "seen": [v.digit, v.fg, v.bg],
            "pop_fg": float(np.mean([c.fg == fg for c in crowd])),
            "pop_bg": float(np.mean([c.bg == bg for c in crowd])), "clip_full_caption": clip_full}


def dialogue_case(pipe: Pipeline, judge: Judge, case: tuple, k: int, seed: int, gens: int) -> dict:
    """One colourless start, then two turns per arm continuing from it, and the full caption from scratch."""
    digit, fg, bg = case
    caption, turns = colourless(digit, k), colour_turns(fg, bg)
    full_text = f"a {fg} {data.DIGIT_WORDS[digit]} on a {bg} background"
    full, _ = pipe.encode_target(full_text)
    start = last_record(pipe.search(caption, generations=gens, seed=seed))
    out: dict[str, Any] = {"case": list(case), "caption": caption, "seed": seed,
                           "start": judge_record(pipe, judge, start, case, full), "arms": {}}
    for arm, (prompts_of, reseed) in ARMS.items():
        rec, stages = start, []
        for n in (1, 2):
            initial = rec.population
            if reseed:
                initial = reseed_for_turn(rec.population, rec.similarities, pipe.generator.latent, turns[n - 1],
                                          seed=seed + 100 * n)
            rec = last_record(pipe.search(prompts_of(caption, turns[:n]), initial=initial,
                                          generations=gens, seed=seed + n))
            stages.append(judge_record(pipe, judge, rec, case, full))
        out["arms"][arm] = stages
    ref = last_record(pipe.search(full_text, generations=3 * gens, seed=seed))
    out["full caption from the start"] = judge_record(pipe, judge, ref, case, full)
    return out


def phrasing_diagnostic(pipe: Pipeline, n: int = 200) -> dict[str, dict[str, float]]:
    """Does the CLIP read a colour from each phrasing? Zero-shot colour accuracy on held-out pictures."""
    pics = data.sample_pictures(n, np.random.default_rng(0), split="test")
    phrasings = {"raw 'question answer': 'what colour is the digit red' / 'and the background blue'":
                 ("what colour is the digit {c}", "and the background {c}"),
                 "conversation.py: 'a red digit' / 'on a blue background'": ("a {c} digit", "on a {c} background"),
                 "earlier conversation.py: 'a red digit' / 'a blue background'": ("a {c} digit", "a {c} background"),
                 "statement: 'the digit is red' / 'the background is blue'":
                 ("the digit is {c}", "the background is {c}"),
                 "bare colour word: 'red'": ("{c}", "{c}")}
    with torch.inference_mode():
        images = pipe.scorer.encode_images(pics["images"])
        out = {}
        for name, (fg_t, bg_t) in phrasings.items():
            row = {}
            for part, template in (("fg", fg_t), ("bg", bg_t)):
                texts = pipe.scorer.encode_texts([template.format(c=c) for c in data.COLOURS])
                guess = (images @ texts.T).argmax(1).cpu().numpy()
                row[part] = float(np.mean([data.COLOURS[g] == t for g, t in zip(guess, pics[part])]))
            out[name] = row
        out.update(_pair_diagnostic(pipe, images, pics))
    return out


def _pair_diagnostic(pipe: Pipeline, images: torch.Tensor, pics: dict) -> dict[str, dict[str, float]]:
    """Both colours at once: which of the 56 (fg, bg) pairs scores highest, turns apart against joined."""
    pairs = [(f, b) for f in data.COLOURS for b in data.COLOURS if f != b]
    arms = {"two turns apart: 'a red digit' + 'on a blue background' (56 pairs)":
            lambda f, b: apart("the number", colour_turns(f, b)),
            "two turns joined, conversation.py: 'a red digit on a blue background' (56 pairs)":
            lambda f, b: dialogue_prompts("the number", colour_turns(f, b))}
    out = {}
    for name, prompts_of in arms.items():
        targets = torch.cat([pipe.encode_target(prompts_of(f, b))[0].reshape(1, -1) for f, b in pairs])
        guess = (images @ targets.T).argmax(1).cpu().numpy()
        out[name] = {part: float(np.mean([pairs[g][i] == t for g, t in zip(guess, pics[part])]))
                     for i, part in enumerate(("fg", "bg"))}
    return out


def _caption_verdict(caption: str, truth: tuple) -> dict[str, bool]:
    """Which of digit, foreground and background a caption gets right, and whether all three."""
    seen: Verdict = parse_caption(caption)
    right = {"digit": seen.digit == truth[0], "fg": seen.fg == truth[1], "bg": seen.bg == truth[2]}
    return {**right, "all": all(right.values())}


def caption_case(pipes: dict[str, Pipeline], fluency: Any, picture: Any, truth: tuple, seed: int,
                 gens: int) -> dict[str, Any]:
    """Both captioners on one picture: caption, correctness, fluency, similarity (and the front's best)."""
    out: dict[str, Any] = {"truth": list(truth)}
    for name, pipe in pipes.items():
        rec = last_record(pipe.search(picture, generations=gens, seed=seed))
        out[name] = {"caption": rec.output, **_caption_verdict(rec.output, truth),
                     "fluency": float(fluency.discriminate([rec.output])[0]), "similarity": rec.similarity}
        if rec.front:  # the shown caption follows the preset's show_within; the most similar end is kept too
            top = max(rec.front, key=lambda p: p.similarity)
            text = pipe.show(top.genome)[0]
            out[name]["front"] = {"size": len(rec.front), "most_similar": text, "similarity": top.similarity,
                                  "fluency": top.realism, **_caption_verdict(text, truth)}
    return out


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Both measurements with the settings in `args`."""
    torch.manual_seed(0)
    t0 = time.perf_counter()
    judge = Judge()
    gan = Pipeline.from_preset(args.t2i, device=args.device, weights_root=args.weights)
    runs = [dialogue_case(gan, judge, case, k, seed, args.generations)
            for k, case in enumerate(CASES[:args.cases]) for seed in range(args.seeds)]
    t1 = time.perf_counter()
    pipes = {name: Pipeline.from_preset(name, device=args.device, weights_root=args.weights)
             for name in (args.i2t, args.i2t_fluent)}
    fluency = pipes[args.i2t_fluent].generator  # the same GPT-2 scores both arms' captions
    captions = [caption_case(pipes, fluency, pic, truth, 0, args.generations)
                for pic, truth in heldout_pictures(args.pictures, PICTURE_SEED, draw="choice")]
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    settings["population"] = gan.preset.pop_size
    return {"settings": settings, "phrasing": phrasing_diagnostic(gan),
            "dialogue": runs, "captions": captions,
            "seconds": {"dialogue": round(t1 - t0, 1), "captions": round(time.perf_counter() - t1, 1)}}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Presets, sizes and where to write."""
    p = argparse.ArgumentParser(prog="python -m experiments.dialogue", description=__doc__.splitlines()[0])
    p.add_argument("--t2i", default=DEFAULT_PRESET["text2image"])
    p.add_argument("--i2t", default="mini_gpt2")
    p.add_argument("--i2t-fluent", default="mini_gpt2_fluent")
    p.add_argument("--generations", type=int, default=30, help="per search stage (the mini presets' default)")
    p.add_argument("--cases", type=int, default=len(CASES), help=f"colour cases, at most {len(CASES)}")
    p.add_argument("--seeds", type=int, default=1, help="seeds per case")
    p.add_argument("--pictures", type=int, default=4, help="held-out pictures to caption")
    p.add_argument("--device", default="cpu")
    p.add_argument("--weights", type=Path, help="weights root (default: weights/ or $GLASS_WEIGHTS)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=OUT, help=f"path stem: .json and .md are written (default {OUT})")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Measure, then write the JSON and the Markdown report; return the record."""
    from experiments.dialogue_report import write

    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    record = new_record(command("experiments.dialogue", argv), **measure(args))
    write(record, args.out)
    return record


if __name__ == "__main__":
    main()
