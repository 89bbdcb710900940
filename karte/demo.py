"""The demo cities: every file listed in a fixtures manifest, loaded in order (idempotent).

``fixtures/manifest.json`` is the default demo city (川崎市, 14130, seven wards);
``fixtures/<folder>/manifest.json`` are further demo cities, each naming its JIS code under
``"city"`` (松本市, 20202: a 市 without wards). ``load_demo(city=…)`` picks one by its code.
"""
from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings

from karte.importers import ImportSummary, run_load
from loaders.errors import LoaderError


def _manifest_path(manifest_path: Path | None) -> Path:
    return Path(manifest_path or Path(settings.KARTE_FIXTURES_DIR) / "manifest.json")


def demo_manifests() -> dict[str, Path]:
    """JIS code → manifest of every demo city (the default city's first)."""
    base = Path(settings.KARTE_FIXTURES_DIR)
    found = {}
    for path in [base / "manifest.json", *sorted(base.glob("*/manifest.json"))]:
        if path.exists():
            manifest = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(manifest, dict) and manifest.get("city"):
                found.setdefault(str(manifest["city"]), path)
    return found


def manifest_for_city(city: str) -> Path:
    manifests = demo_manifests()
    try:
        return manifests[str(city)]
    except KeyError:
        raise LoaderError(f"no demo city {city!r}; the demo cities are {', '.join(manifests) or 'none'}") from None


def manifest_entries(manifest_path: Path | None = None) -> list[dict]:
    path = _manifest_path(manifest_path)
    manifest = json.loads(path.read_text(encoding="utf-8"))
    return manifest["loads"] if isinstance(manifest, dict) else manifest


def load_demo(stdout=None, manifest_path: Path | None = None, show_progress: bool = False,
              city: str | None = None) -> list[ImportSummary]:
    """Load every entry of a manifest (the default demo city's, or ``city``'s); write one summary
    line per load to ``stdout`` if given. Loading again changes nothing (each importer upserts by
    natural key)."""
    path = manifest_for_city(city) if city and manifest_path is None else _manifest_path(manifest_path)
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
        shown = path.name if path.parent == Path(settings.KARTE_FIXTURES_DIR) else f"{path.parent.name}/{path.name}"
        stdout.write(f"load_demo: {len(summaries)} files from {shown}: {created} rows created, {updated} updated "
                     "(synthetic demo data, see fixtures/README.md)")
    return summaries
