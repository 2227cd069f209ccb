"""Colours of every notebook display and widget: JupyterLab theme variables, so the Light and
Dark themes both read well (no hard-coded greens and reds on black)."""

from __future__ import annotations

import html

__all__ = ["BORDER", "COLOURS", "STATUS_COLOURS", "status_html"]

# Every colour is a JupyterLab theme variable, so Light and Dark both read well; the fallback
# after the comma is for renderers without Lab's CSS (nbviewer, an HTML export).
COLOURS = {
    "ok": "var(--jp-success-color1, #1b7f3b)",
    "error": "var(--jp-error-color1, #b00020)",
    "info": "var(--jp-info-color1, #1565c0)",
    "warn": "var(--jp-warn-color1, #ef6c00)",
    "text": "var(--jp-ui-font-color1, #212121)",
    "muted": "var(--jp-ui-font-color2, #616161)",
    "faint": "var(--jp-ui-font-color3, #757575)",
    "surface": "var(--jp-layout-color1, #ffffff)",
    "raised": "var(--jp-layout-color2, #f5f5f5)",
    "line": "var(--jp-border-color1, #bdbdbd)",
}
BORDER = f"1px solid {COLOURS['line']}"

STATUS_COLOURS = {
    "succeeded": COLOURS["ok"],
    "failed": COLOURS["error"],
    "running": COLOURS["info"],
    "queued": COLOURS["muted"],
    "retrying": COLOURS["warn"],
    "skipped": COLOURS["muted"],
}


def status_html(text: str, *, ok: bool, tag: str = "span") -> str:
    """A one-line status message in the theme's success or error colour (escaped)."""
    colour = COLOURS["ok"] if ok else COLOURS["error"]
    css = "paragon-ok" if ok else "paragon-error"
    return f"<{tag} class='{css}' style='color:{colour}'>{html.escape(text)}</{tag}>"
