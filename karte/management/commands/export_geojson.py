"""Export a layer (districts, wards, resources, candidate sites, siting result) as GeoJSON, CSV or GeoPackage."""
from django.core.management.base import BaseCommand, CommandError

from karte.export import FORMATS, export_layer
from karte.layers import ParameterError
from karte.layers.collections import layer_names


def _codes(text: str | None) -> list[str] | None:
    if text is None:
        return None
    codes = [part.strip() for part in text.split(",") if part.strip()]
    return codes or None


class Command(BaseCommand):
    help = (
        "Export districts/wards/resources/candidates/sites as RFC 7946 GeoJSON (WGS84), CSV (UTF-8, no "
        "geometry) or GeoPackage, with a <file>.meta.json provenance sidecar. See docs/export.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("--what", required=True, choices=layer_names())
        parser.add_argument("--out", required=True, help="output file")
        parser.add_argument("--format", default="geojson", choices=FORMATS, dest="fmt")
        parser.add_argument("--bom", action="store_true", help="CSV: start with a UTF-8 BOM (Excel in Japan)")
        parser.add_argument("--city", help="city JIS code, e.g. 14130")
        parser.add_argument("--ward", help="ward JIS code, e.g. 14131")
        parser.add_argument("--indicators", help="districts: comma-separated indicator codes")
        parser.add_argument("--year", type=int, help="districts: indicator year (default: latest)")
        parser.add_argument("--simplify", type=float, help="districts: simplification tolerance in metres")
        parser.add_argument("--kind", help="resources: comma-separated resource kinds")
        parser.add_argument("--walk-distance", type=int, help="candidates: walking distance in metres")
        parser.add_argument("--run", type=int, help="sites: SitingRun id (default: the latest published run)")
        parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                            help="a parameter of a layer an app publishes (as its /api/<layer>/ takes it); repeatable")

    def handle(self, *args, **options):
        params = {}
        for item in options["param"]:
            name, sep, value = item.partition("=")
            if not sep or not name.strip():
                raise CommandError(f"--param: expected NAME=VALUE, not {item!r}")
            params[name.strip()] = value.strip()
        try:
            result = export_layer(
                options["what"], options["out"], fmt=options["fmt"], bom=options["bom"],
                city=options["city"], ward=options["ward"], indicators=_codes(options["indicators"]),
                year=options["year"], simplify_m=options["simplify"], kinds=_codes(options["kind"]),
                walk_distance_m=options["walk_distance"], run_id=options["run"], params=params or None,
            )
        except ParameterError as error:
            raise CommandError(f"--{(error.parameter or 'what').replace('_', '-')}: {error.message}") from error
        self.stdout.write(
            f"export_geojson: {result.feature_count} {result.layer} → {result.path} ({result.format}); "
            f"provenance in {result.metadata_path}"
        )
