"""Karte's read-only JSON/GeoJSON HTTP API under ``/api/`` (plain Django views; see docs/export.md)."""
