"""Summaries and the Markdown report of experiments.dialogue's figures."""

from __future__ import annotations

from pathlib import Path

from experiments.common import describe_machine, table, write_record

STAGES = ("after turn 1 (digit colour)", "after turn 2 (background)")
KEYS = ("fg", "bg", "digit", "pop_fg", "pop_bg", "clip_full_caption")


def _mean(rows: list[dict], key: str) -> float:
    """Mean of a boolean or float field over rows."""
    return round(sum(float(r[key]) for r in rows) / max(len(rows), 1), 3)


def dialogue_summary(runs: list[dict]) -> dict[str, dict[str, dict[str, float]]]:
    """Per arm and stage, the mean of every judged figure over cases and seeds."""
    out = {"start (colourless caption)": {k: _mean([r["start"] for r in runs], k) for k in KEYS}}
    for arm in runs[0]["arms"] if runs else ():
        for i, stage in enumerate(STAGES):
            out[f"{arm} · {stage}"] = {k: _mean([r["arms"][arm][i] for r in runs], k) for k in KEYS}
    out["full coloured caption from scratch (3× generations)"] = {
        k: _mean([r["full caption from the start"] for r in runs], k) for k in KEYS}
    return out


def caption_summary(cases: list[dict]) -> dict[str, dict[str, float]]:
    """Per captioner (and per front's most similar end): share right on digit, colours, all; fluency, similarity."""
    keys = ("digit", "fg", "bg", "all", "fluency", "similarity")
    names = [k for k in cases[0] if k != "truth"] if cases else []
    out = {name: {k: _mean([c[name] for c in cases], k) for k in keys} for name in names}
    for name in names:
        fronts = [c[name]["front"] for c in cases if "front" in c[name]]
        if fronts:
            out[f"{name}, front's most similar caption"] = {k: _mean(fronts, k) for k in keys}
    return out


def _table(rows: dict[str, dict[str, float]], columns: list[tuple[str, str]]) -> list[str]:
    """A Markdown table: one row per key of `rows`, the named columns."""
    return table(["", *(title for _, title in columns)],
                 [[name, *(f"{row[key]:.3f}" if isinstance(row[key], float) else row[key] for key, _ in columns)]
                  for name, row in rows.items()])


def _settings_lines(result: dict) -> list[str]:
    """The run's sizes, machine and libraries."""
    s, m = result["settings"], result["machine"]
    libs = ", ".join(f"{k} {v}" for k, v in result["libraries"].items())
    n_runs = len(result["dialogue"])
    return [f"Measured {result['date']} on {describe_machine(m)}; {m['platform']}.", f"Libraries: {libs}.",
            f"Command: `{result['command']}`.", "",
            f"Settings: presets {s['t2i']}, {s['i2t']}, {s['i2t_fluent']}; {s['generations']} generations per"
            f" stage, population {s['population']}; text → image: {s['cases']} colour cases × {s['seeds']} seeds ="
            f" {n_runs} runs; image → text: {s['pictures']} held-out pictures × 1 seed. Wall time:"
            f" {result['seconds']['dialogue']} s + {result['seconds']['captions']} s.", ""]


def _cell(entry: dict, caption_key: str = "caption") -> str:
    """A caption with ✓/✗ (all three right) and its fluency."""
    return f"{entry[caption_key]} ({'✓' if entry['all'] else '✗'}, {entry['fluency']:.2f})"


def _caption_rows(cases: list[dict]) -> list[str]:
    """One row per picture: each captioner's caption, and the front's most similar one where there is a front."""
    names = [n for n in cases[0] if n != "truth"] if cases else []
    fronts = [n for n in names if "front" in cases[0][n]]
    header = ["truth (digit, fg, bg)", *names, *(f"{n}, front's most similar" for n in fronts)]
    return table(header, [[tuple(case["truth"]), *(_cell(case[n]) for n in names),
                           *(_cell(case[n]["front"], "most_similar") for n in fronts)] for case in cases])


def markdown(result: dict) -> str:
    """The report: settings, the CLIP's reading of each phrasing, the dialogue table, the caption table."""
    lines = ["# Conversation turns and fluent captions on the embedded mini set", "",
             "Written by `python -m experiments.dialogue`; raw figures in the .json file beside this one.", ""]
    lines += _settings_lines(result)
    lines += ["## Does the mini CLIP read a colour from each phrasing?", "",
              "Zero-shot: for 200 held-out pictures, which of the 8 colour names, put in the phrasing, scores"
              " highest; share that is the picture's true foreground / background colour (chance 0.125). The"
              " rows marked 56 pairs name both colours at once, after the caption 'the number': which (fg, bg)"
              " pair scores highest, with the two turns as separate prompts or joined as conversation.py joins"
              " them.", ""]
    lines += _table(result["phrasing"], [("fg", "foreground"), ("bg", "background")])
    lines += ["", "## Text → image: colour turns continuing the search", "",
              "The search starts from a caption without colours; each turn continues from the population"
              " the previous stage reached. Judge (independent of CLIP) on the best picture: fg, bg, digit right"
              " (share of runs); pop fg/bg: share of the final population in the named colours; CLIP full: the"
              " mini CLIP's cosine between the best picture and the full coloured caption.", ""]
    lines += _table(result["dialogue_summary"], [("fg", "fg right"), ("bg", "bg right"), ("digit", "digit right"),
                                                 ("pop_fg", "pop fg"), ("pop_bg", "pop bg"),
                                                 ("clip_full_caption", "CLIP full")])
    lines += ["", "## Image → text: plain against fluent captions", "",
              "Share of captions whose digit / foreground / background / all three match the picture"
              " (judge.parse_caption); fluency: the mini GPT-2's mean log-likelihood per token of the caption"
              " alone (higher is more fluent); similarity: the mini CLIP's cosine with the picture.", ""]
    lines += _table(result["caption_summary"], [(k, k) for k in ("digit", "fg", "bg", "all", "fluency", "similarity")])
    lines += [""] + _caption_rows(result["captions"])
    return "\n".join(lines + [""] + result.get("findings", [])) + "\n"


def _phrasing_finding(result: dict) -> list[str]:
    """One line on how well the CLIP reads colours from each turn phrasing."""
    rows = list(result["phrasing"].items())
    parts = "; ".join(f"{name.split(':')[0]}: {row['fg']:.2f} foreground, {row['bg']:.2f} background"
                      for name, row in rows)
    return [f"- Colour read from the turn's words alone (chance 0.125): {parts}."]


def _dialogue_finding(summary: dict) -> list[str]:
    """How the judged colours moved turn by turn, per arm."""
    start = summary["start (colourless caption)"]
    lines = [f"- Colourless start: foreground right in {start['fg']:.2f} of runs, background in {start['bg']:.2f}."]
    for name, row in summary.items():
        if "after turn 2" in name:
            first = summary[name.replace(STAGES[1], STAGES[0])]
            lines.append(f"- {name.split(' · ')[0]}: foreground right {first['fg']:.2f} after turn 1,"
                         f" {row['fg']:.2f} after turn 2; background {first['bg']:.2f} → {row['bg']:.2f};"
                         f" digit {row['digit']:.2f}.")
    ref = summary["full coloured caption from scratch (3× generations)"]
    lines.append(f"- Full coloured caption from scratch: foreground {ref['fg']:.2f}, background {ref['bg']:.2f},"
                 f" digit {ref['digit']:.2f}.")
    return lines


def _caption_finding(summary: dict) -> list[str]:
    """Whether fluency rose and correctness held (and how the front's most similar end fares)."""
    (plain, a), (fluent, b) = list(summary.items())[:2]
    lines = [f"- {fluent} against {plain}: fluency {a['fluency']:.2f} → {b['fluency']:.2f} nats/token; captions"
             f" right on all three {a['all']:.2f} → {b['all']:.2f} (digit {a['digit']:.2f} → {b['digit']:.2f},"
             f" foreground {a['fg']:.2f} → {b['fg']:.2f}, background {a['bg']:.2f} → {b['bg']:.2f})."]
    for name, row in list(summary.items())[2:]:
        lines.append(f"- {name}: right on all three {row['all']:.2f}, fluency {row['fluency']:.2f},"
                     f" similarity {row['similarity']:.3f}.")
    return lines


def findings(result: dict) -> list[str]:
    """The figures in sentences, plus what the mini CLIP was trained on."""
    lines = ["## Findings", ""]
    lines += _phrasing_finding(result) + _dialogue_finding(result["dialogue_summary"])
    lines += _caption_finding(result["caption_summary"]) if len(result["caption_summary"]) >= 2 else []
    return lines + ["", "The mini CLIP was trained on captions that name the digit and both colours, in templates and"
                    " a grammar of free wordings (`training/mini/wording.py`): colourless captions and 'question"
                    " answer' phrasings lie outside what it has read."]


def write(record: dict, stem: Path) -> None:
    """Add the summaries and findings to the record, then write stem.json and stem.md."""
    record["dialogue_summary"] = dialogue_summary(record["dialogue"])
    record["caption_summary"] = caption_summary(record["captions"])
    record["findings"] = findings(record)
    write_record(record, stem, markdown(record))
