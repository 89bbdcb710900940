"""Karte: district karte (地区カルテ) — the Django project and app."""
