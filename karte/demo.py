"""The demo: every fixture named in fixtures/manifest.json, loaded in order, then indicators."""
from __future__ import annotations

import json
from collections.abc import Iterator

from django.conf import settings


def load_demo() -> Iterator[str]:
    manifest_path = settings.KARTE_FIXTURES_DIR / "manifest.json"
    if not manifest_path.exists():
        yield f"load_demo: {manifest_path} not found: no fixtures to load yet (the database is migrated and empty)."
        return
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    yield f"load_demo: {len(manifest.get('loads', []))} fixture loads listed in {manifest_path.name}"
