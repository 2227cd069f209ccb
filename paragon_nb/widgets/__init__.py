"""ipywidgets forms: Connect Portal, list picker, sync form (models apart from views)."""
