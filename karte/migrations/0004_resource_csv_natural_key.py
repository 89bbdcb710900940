"""Resources read from lat/lon CSVs were keyed on the file's name (``<file stem>:<id>``), so the
same list downloaded again under another name doubled every facility. They are now keyed on the
list's own id (``csv:<id>``), or without one on name + kind + position (``csv:<kind>:<name>@lat,lon``;
空き家 CSVs without an id likewise gain the kind). This rewrites the keys already stored so that
the next load of the same list finds its rows ("unchanged") instead of adding them again. A row
whose new key is already taken (the list was loaded twice under two names) keeps its old key."""
from pathlib import PurePath

from django.db import migrations

NEW_CSV_PREFIX = "csv"  # karte.importers.resources.CSV_PREFIX when this was written


def _new_key(key: str, kind: str, dataset) -> str | None:
    options = (dataset.notes or {}).get("options") or {}
    is_csv = dataset.file_name.lower().endswith(".csv")
    if not is_csv or key.startswith(("ksj:", "osm:")):
        return None
    if dataset.kind == "housing" and key.startswith("akiya:"):
        return None if options.get("id") else f"akiya:{kind}:{key[len('akiya:'):]}"
    if dataset.kind != "resource":
        return None
    given = options.get("prefix")
    old_prefix = f"{given or PurePath(dataset.file_name).stem}:"
    if not key.startswith(old_prefix):
        return None
    rest = key[len(old_prefix):]
    prefix = given or NEW_CSV_PREFIX
    return f"{prefix}:{rest}" if options.get("id") else f"{prefix}:{kind}:{rest}"


def rekey(apps, schema_editor):
    Resource = apps.get_model("karte", "Resource")
    taken = set(Resource.objects.values_list("source_key", flat=True))
    for resource in Resource.objects.select_related("dataset").exclude(dataset=None).iterator():
        new = _new_key(resource.source_key, resource.kind, resource.dataset)
        if new is None or new == resource.source_key or new in taken:
            continue
        taken.discard(resource.source_key)
        taken.add(new)
        resource.source_key = new
        resource.save(update_fields=["source_key"])


class Migration(migrations.Migration):

    dependencies = [
        ("karte", "0003_dataversion"),
    ]

    operations = [
        migrations.RunPython(rekey, migrations.RunPython.noop),
    ]
