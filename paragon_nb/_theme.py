"""Colours of every notebook display and widget: JupyterLab theme variables, so the Light and
Dark themes both read well (no hard-coded greens and reds on black)."""

from __future__ import annotations

import html

__all__ = ["BORDER", "COLOURS", "STATUS_COLOURS", "SYNC_COLOURS", "status_html"]

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

# The bars of a SyncResult, one per row status (dry-run words share their real-run colour).
_SYNC_BARS = {
    "created": COLOURS["ok"],
    "updated": COLOURS["info"],
    "upserted": "var(--jp-brand-color1, #1976d2)",
    "unchanged": "var(--jp-layout-color4, #9e9e9e)",
    "skipped": COLOURS["warn"],
    "invalid": COLOURS["error"],
    "failed": "var(--jp-error-color0, #8e0000)",
}
SYNC_COLOURS = {
    **_SYNC_BARS,
    "would create": _SYNC_BARS["created"],
    "would update": _SYNC_BARS["updated"],
    "duplicate": _SYNC_BARS["skipped"],
}


def status_html(text: str, *, ok: bool, tag: str = "span") -> str:
    """A one-line status message in the theme's success or error colour (escaped)."""
    colour = COLOURS["ok"] if ok else COLOURS["error"]
    css = "paragon-ok" if ok else "paragon-error"
    return f"<{tag} class='{css}' style='color:{colour}'>{html.escape(text)}</{tag}>"
