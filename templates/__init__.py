"""Jinja templates (console pages, documents), shipped as package data so an installed copy has them."""
