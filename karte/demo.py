"""The demo: every file listed in fixtures/manifest.json, loaded in order (idempotent)."""
from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings

from karte.importers import ImportSummary, run_load


def _manifest_path(manifest_path: Path | None) -> Path:
    return Path(manifest_path or Path(settings.KARTE_FIXTURES_DIR) / "manifest.json")


def manifest_entries(manifest_path: Path | None = None) -> list[dict]:
    path = _manifest_path(manifest_path)
    manifest = json.loads(path.read_text(encoding="utf-8"))
    return manifest["loads"] if isinstance(manifest, dict) else manifest


def load_demo(stdout=None, manifest_path: Path | None = None, show_progress: bool = False) -> list[ImportSummary]:
    """Load every manifest entry; write one summary line per load to ``stdout`` if given.
    Loading again changes nothing (each importer upserts by natural key)."""
    path = _manifest_path(manifest_path)
    base = path.parent
    entries = manifest_entries(path)
    summaries = []
    for entry in entries:
        provenance = {k: entry[k] for k in ("source_name", "url", "licence", "attribution") if entry.get(k)}
        summary = run_load(entry["source"], base / entry["path"], year=entry.get("year"), city=entry.get("city"),
                           crs=entry.get("crs"), options=entry.get("options"), provenance=provenance,
                           show_progress=show_progress)
        summaries.append(summary)
        if stdout is not None:
            stdout.write(summary.lines()[0])
    if stdout is not None:
        created = sum(s.created for s in summaries)
        updated = sum(s.updated for s in summaries)
        stdout.write(f"load_demo: {len(summaries)} files from {path.name}: {created} rows created, {updated} updated "
                     "(synthetic demo data, see fixtures/README.md)")
    return summaries
