"""The page: two tabs of widgets wired to glass_app.handlers. Building it loads no model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from glass_app import chat, choices, downloads, handlers, inputs

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"

# The second objective of two-objective (NSGA-II) runs, per task: checkbox label and axis title.
SECOND = {"text2image": ("Use the discriminator (NSGA-II: similarity and realism)", "realism"),
          "image2text": ("Use fluency as a second objective (NSGA-II)", "fluency")}

CSS = """
#t2i-best img, #t2i-chosen img, #i2t-preview img, .glass-gallery img,
#t2i-picture-preview img { image-rendering: pixelated; }
.glass-progress { min-height: 2.5em; }
"""

# The widgets every search reads after its target, in the order the handlers take them
# (handlers.text_to_image, handlers.image_to_text, chat.continue_turn).
SEARCH_SETTINGS = ("preset", "generations", "population", "seed", "use_d")

INTRO = """# CLIP-GLaSS
A genetic algorithm searches a generator's latent space for the output that CLIP finds closest to your
target (Galatolo et al., 2021). *Text → Image* searches a GAN for a picture of your caption;
*Image → Text* searches GPT-2's context for a caption of your picture. Results update every generation;
**Stop** keeps what was found so far."""


class Slider(gr.Slider):
    """gr.Slider that hands its value to the handler as sent: glass_app.inputs checks, rounds and
    clamps it, naming the field (gradio's own check answers an API caller's "abc" or None with a
    generic error)."""

    is_template = True  # drawn by the page as a plain slider

    def preprocess(self, payload: Any) -> Any:
        return payload


class Number(gr.Number):
    """gr.Number that hands its value to the handler as sent (see Slider)."""

    is_template = True

    def preprocess(self, payload: Any) -> Any:
        return payload


class Checkbox(gr.Checkbox):
    """gr.Checkbox that hands its value to the handler as sent: inputs.flag reads "false" as false."""

    is_template = True

    def preprocess(self, payload: Any) -> Any:
        return payload


def _settings(task: str, tag: str) -> dict[str, Any]:
    """Preset dropdown, its note, and the numbers every search takes."""
    start = choices.opening(task)
    widgets: dict[str, Any] = {}
    widgets["preset"] = gr.Dropdown(choices.choices(task), value=start.name, label="Preset",
                                    info="Generator and CLIP; weight status in the label.", elem_id=f"{tag}-preset")
    widgets["opening_note"] = gr.Markdown(start.note, visible=bool(start.note))
    widgets["preset_note"] = gr.Markdown(choices.preset_note(start.name))
    gens, pop, use_d, _ = choices.preset_widgets(start.name)
    with gr.Row():
        widgets["generations"] = Slider(*inputs.GENERATIONS, value=gens["value"], step=1, precision=0,
                                        label="Generations", elem_id=f"{tag}-generations")
        widgets["population"] = Slider(*inputs.POPULATION, value=pop["value"], step=1, precision=0,
                                       label="Population", elem_id=f"{tag}-population")
    with gr.Row():
        widgets["seed"] = Number(value=0, precision=0, minimum=inputs.SEED[0], maximum=inputs.SEED[1],
                                 label="Seed", elem_id=f"{tag}-seed")
        widgets["use_d"] = Checkbox(value=use_d["value"], visible=use_d["visible"], label=SECOND[task][0],
                                    elem_id=f"{tag}-use-d")
    return widgets


def _search_inputs(target: gr.Component, w: dict[str, Any], *states: gr.State) -> list[gr.Component]:
    """A search's inputs: its target, the settings widgets, then the session states it takes."""
    return [target, *(w[name] for name in SEARCH_SETTINGS), *states]


def _outputs(update: type[tuple], components: dict[str, Any]) -> list[gr.Component]:
    """The components an update type's fields go to, in the order of its fields."""
    return [components[name] for name in update._fields]


def _buttons(tag: str) -> tuple[gr.Button, gr.Button, gr.Button]:
    """Run, Stop and Save, side by side."""
    with gr.Row():
        run = gr.Button("Run", variant="primary", elem_id=f"{tag}-run")
        stop = gr.Button("Stop", variant="stop", elem_id=f"{tag}-stop")
        save = gr.Button("Save result", elem_id=f"{tag}-save")
    return run, stop, save


def _progress_and_plot(tag: str, render: bool = True) -> tuple[gr.Markdown, gr.Markdown, gr.LinePlot]:
    """The progress line, the notes box and the similarity plot (placed later when render=False)."""
    progress = gr.Markdown("Press **Run** to start.", label="Progress", elem_id=f"{tag}-progress",
                           elem_classes="glass-progress")
    notes = gr.Markdown(label="Notes", elem_id=f"{tag}-notes")
    plot = gr.LinePlot(render=render, x="generation", y="similarity", color="series", label="Similarity",
                       show_label=False, title="CLIP similarity per generation (best and mean)",
                       x_title="generation", y_title="similarity", x_axis_format="d", height=280,
                       elem_id=f"{tag}-plot")
    return progress, notes, plot


def _front_row(task: str, tag: str, chosen: gr.Component) -> tuple[gr.Row, gr.ScatterPlot, gr.Markdown]:
    """The Pareto front of two-objective runs (hidden otherwise) beside the individual picked on it."""
    with gr.Row(visible=False) as row:
        front = gr.ScatterPlot(x="similarity", y="realism", y_title=SECOND[task][1], label="Pareto front",
                               show_label=False,
                               title="Pareto front: drag across points to see one", height=260,
                               elem_id=f"{tag}-front")
        with gr.Column():
            chosen.render()
            chosen_label = gr.Markdown()
    return row, front, chosen_label


def _wire_common(w: dict[str, Any], stop: gr.Button, save: gr.Button, files: gr.File,
                 state: gr.State, control: gr.State) -> None:
    """Preset changes, Stop and Save."""
    w["preset"].change(choices.preset_widgets, w["preset"],
                       [w["generations"], w["population"], w["use_d"], w["preset_note"]],
                       api_visibility="private", queue=False)
    # Stop flips the session's switch at once; the search ends after its current generation and sends
    # its result with the files, or, still waiting in the queue, never starts. Queued but with no
    # concurrency limit, so it never waits for a search: only queued events show their gr.Info on the
    # page. Not `cancels=`: gradio 6.31's page then often marks every output "Error" when the cancel
    # lands mid-generation. Cancels from gradio_client, or a closed tab, still close the search
    # through the handlers' try/finally.
    stop.click(handlers.request_stop, control, None, concurrency_limit=None, show_progress="hidden",
               api_visibility="private")
    save.click(handlers.save_result, [state, control], files, api_visibility="private")


def _session_states() -> tuple[gr.State, gr.State]:
    """A tab's search state (a handlers.Run) and its switch (a handlers.Control)."""
    return gr.State(None), gr.State(handlers.Control())


def _example_captions(caption: gr.Textbox, preset: gr.Dropdown) -> None:
    """Example captions that suit the preset (digits for the mini set, the paper's for the others)."""
    start = choices.example_kind(preset.value)
    columns = []
    for kind, captions in choices.EXAMPLES.items():
        with gr.Column(visible=kind == start, elem_id=f"t2i-examples-{kind}") as column:
            gr.Examples([[c] for c in captions], inputs=[caption], label="Example captions")
        columns.append(column)
    preset.change(choices.examples_shown, preset, columns, api_visibility="private", queue=False)


def _picture_panel() -> dict[str, Any]:
    """An optional picture to search toward (alone, or with the caption: "this photo, but gothic") and its weight."""
    w: dict[str, Any] = {}
    with gr.Accordion("Picture as a target (optional)", open=False, elem_id="t2i-picture-panel"):
        with gr.Row():
            w["upload"] = gr.File(label="Picture to search toward", file_types=["image"], type="filepath",
                                  height=120, elem_id="t2i-picture")
            w["preview"] = gr.Image(label="As the search reads it", type="pil", height=120, interactive=False,
                                    elem_id="t2i-picture-preview")
        w["weight"] = Number(value=1.0, label="Picture's weight", minimum=-100, maximum=100,
                             info="Against the caption's parts (each 1 unless weighted); the caption may be empty.",
                             elem_id="t2i-picture-weight")
    return w


def _conversation_panel() -> dict[str, Any]:
    """Question/answer turns that refine the caption, and the strip of pictures after each turn."""
    w: dict[str, Any] = {}
    with gr.Accordion("Refine by conversation", open=True):
        gr.Markdown("Answer a question about the picture (*what colour is the digit?* → *red*, *is there a cat?*"
                    " → *no*): the search goes on from where it is, toward the caption and every answer so far.")
        w["chat"] = gr.Chatbot(label="Conversation", height=220, elem_id="t2i-chat")
        with gr.Row():
            w["question"] = gr.Textbox(label="Question", placeholder="what colour is the digit?", max_lines=1,
                                       elem_id="t2i-question")
            w["answer"] = gr.Textbox(label="Answer", placeholder="red", max_lines=1, elem_id="t2i-answer")
        w["add"] = gr.Button("Add turn", elem_id="t2i-add-turn")
    return w


def _wire_conversation(c: dict[str, Any], caption: gr.Textbox, w: dict[str, Any], conv: gr.State,
                       shown: dict[str, Any], control: gr.State) -> None:
    """Add turn: record it at once (stopping a running search), then search on in the queue.

    Recording is queued with no concurrency limit, as Stop is: it never waits for a search, and its
    notices show on the page (a refused turn also says why in the chat)."""
    turn = gr.on([c["add"].click, c["answer"].submit], chat.add_turn,
                 [c["question"], c["answer"], caption, conv, control], [c["chat"], c["question"], c["answer"]],
                 concurrency_limit=None, show_progress="hidden", api_visibility="private")
    turn.success(chat.continue_turn, _search_inputs(caption, w, conv, control),
                 _outputs(chat.ChatUpdate, {**shown, "chat": c["chat"]}), concurrency_id="search",
                 show_progress="minimal", api_visibility="private")


def _text_to_image_tab() -> None:
    """Caption in, image out; a Pareto plot for two-objective runs."""
    state, control = _session_states()
    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            caption = gr.Textbox(label="Caption", placeholder="a red seven on a blue background",
                                 info='Weigh several with "|": a church | gothic:0.5 | people:-1',
                                 max_lines=3, elem_id="t2i-caption")
            picture = _picture_panel()
            w = _settings("text2image", "t2i")
            run, stop, save = _buttons("t2i")
            _example_captions(caption, w["preset"])
            talk = _conversation_panel()
        with gr.Column(scale=2):
            progress, notes, plot = _progress_and_plot("t2i", render=False)
            with gr.Row():
                best = gr.Image(label="Best image", type="pil", format="png", height=300, interactive=False,
                                elem_id="t2i-best")
                gallery = gr.Gallery(label="Current top individuals", columns=3, height=300,
                                     elem_classes="glass-gallery", format="png")
            classes = gr.Markdown(elem_id="t2i-classes")
            plot.render()
            chosen = gr.Image(label="Chosen front point", type="pil", height=200, interactive=False,
                              elem_id="t2i-chosen", render=False)
            front_row, front, chosen_label = _front_row("text2image", "t2i", chosen)
            files = gr.File(label="Download: result and run card", file_count="multiple", interactive=False,
                            height=120)
            strip = gr.Gallery(label="After each turn", columns=6, height=170, elem_classes="glass-gallery",
                               format="png", elem_id="t2i-strip")
    shown = {"image": best, "progress": progress, "plot": plot, "front_row": front_row, "front": front,
             "gallery": gallery, "classes": classes, "notes": notes, "files": files, "run": state, "strip": strip}
    conv = gr.State(chat.Conversation())
    # A new Run starts a new conversation. Wired before the search: gradio runs one trigger's listeners
    # in order, each after the previous has finished, so after it this would wait for the whole search.
    gr.on([run.click, caption.submit], chat.reset, conv, [talk["chat"], strip], queue=False, api_visibility="private")
    # Likewise: the search is waiting from now on, so a Stop before it starts cancels it.
    gr.on([run.click, caption.submit], handlers.mark_queued, control, None, queue=False, api_visibility="private")
    # The picture and its weight come after the session's switch: handlers.text_to_image takes them last.
    gr.on([run.click, caption.submit], handlers.text_to_image,
          _search_inputs(caption, w, control) + [picture["upload"], picture["weight"]],
          _outputs(handlers.ImageUpdate, shown), api_name="text_to_image", concurrency_id="search",
          show_progress="minimal")
    picture["upload"].change(handlers.preview_upload, picture["upload"], [picture["preview"], notes],
                             api_visibility="private", queue=False)
    _wire_conversation(talk, caption, w, conv, shown, control)
    front.select(handlers.choose_front_point, state, [chosen, chosen_label], api_visibility="private")
    _wire_common(w, stop, save, files, state, control)


def _picked_example(path: str | None) -> str | None:
    """The example picture clicked, handed to the upload box as if uploaded."""
    return path


def _example_pictures(upload: gr.File) -> None:
    """The example pictures as thumbnails: gr.Examples draws an Image input's examples as pictures (a File
    input's as file names), so a hidden Image takes the click and passes the file on to the upload box."""
    examples = sorted(EXAMPLES_DIR.glob("*.png"))
    if not examples:
        return
    picked = gr.Image(type="filepath", format="png", visible=False, elem_id="i2t-example-picked")  # lossless
    # Never cached (Spaces cache examples with an fn by default): the click only fills the upload box.
    gr.Examples([[str(p)] for p in examples], inputs=[picked], outputs=[upload], fn=_picked_example,
                run_on_click=True, cache_examples=False, label="Example pictures", elem_id="i2t-examples",
                api_visibility="private")


def _image_to_text_tab() -> None:
    """Image in, caption out; a Pareto plot when fluency is a second objective."""
    state, control = _session_states()
    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            upload = gr.File(label="Image to caption", file_types=["image"], type="filepath", elem_id="i2t-upload")
            preview = gr.Image(label="Your picture, as the search reads it", type="pil", height=200, interactive=False,
                               elem_id="i2t-preview")
            w = _settings("image2text", "i2t")
            run, stop, save = _buttons("i2t")
            _example_pictures(upload)
        with gr.Column(scale=2):
            progress, notes, plot = _progress_and_plot("i2t", render=False)
            best = gr.Textbox(label="Best caption", interactive=False, elem_id="i2t-best")
            table = gr.Dataframe(headers=["similarity", "caption"], label="Current top individuals",
                                 interactive=False, wrap=True)
            plot.render()
            chosen = gr.Textbox(label="Chosen front point", interactive=False, elem_id="i2t-chosen", render=False)
            front_row, front, chosen_label = _front_row("image2text", "i2t", chosen)
            files = gr.File(label="Download: caption and run card", file_count="multiple", interactive=False,
                            height=120)
    upload.change(handlers.preview_upload, upload, [preview, notes], api_visibility="private", queue=False)
    shown = {"caption": best, "progress": progress, "plot": plot, "front_row": front_row, "front": front,
             "table": table, "notes": notes, "files": files, "run": state}
    run.click(handlers.mark_queued, control, None, queue=False, api_visibility="private")
    run.click(handlers.image_to_text, _search_inputs(upload, w, control), _outputs(handlers.TextUpdate, shown),
              api_name="image_to_text", concurrency_id="search", show_progress="minimal")
    front.select(handlers.choose_front_point, state, [chosen, chosen_label], api_visibility="private")
    _wire_common(w, stop, save, files, state, control)


def build_demo() -> gr.Blocks:
    """The whole page; the preset lists reflect the presets registered when it is built."""
    with gr.Blocks(title="CLIP-GLaSS", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(INTRO)
        with gr.Tabs():
            with gr.Tab("Text → Image", id="text-to-image"):
                _text_to_image_tab()
            with gr.Tab("Image → Text", id="image-to-text"):
                _image_to_text_tab()
        # The tab closed: its download folders go. Not a State's delete_callback: gradio calls that
        # only for states an event outputs, and an hour after the tab closed.
        demo.unload(downloads.end_session)
    return demo
