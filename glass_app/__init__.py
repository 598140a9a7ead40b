"""The browser demo's helpers: input checks, views of records, handlers and the page layout (gradio)."""
