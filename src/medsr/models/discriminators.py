"""Discriminators (filled in by the model-zoo work)."""
