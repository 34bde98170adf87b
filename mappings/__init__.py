"""The canonical lead model and the per-CRM field maps that translate to and from it."""
