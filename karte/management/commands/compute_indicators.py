"""Compute every indicator of a city (or all cities) and store it: see karte.compute."""
from django.core.management.base import BaseCommand, CommandError

from karte.compute import compute_all
from karte.management.database_locks import lock_timeout_as_command_error
from karte.models import City


class Command(BaseCommand):
    help = "Compute indicators (district / ward / city tiers) from the loaded data and store them."

    def add_arguments(self, parser):
        parser.add_argument("--city", help="5-digit JIS code of the city (default: every loaded city)")
        parser.add_argument("--year", type=int, help="census year (default: every loaded census year)")
        parser.add_argument("--walk-distance", type=float, default=500, dest="walk_distance_m",
                            help="walking distance in metres for walk coverage and candidate sites (default 500)")

    def handle(self, *args, city=None, year=None, walk_distance_m=500, **options):
        if walk_distance_m <= 0:
            raise CommandError(f"--walk-distance must be positive, got {walk_distance_m}")
        try:
            with lock_timeout_as_command_error("compute_indicators"):
                summary = compute_all(city=city, year=year, walk_distance_m=walk_distance_m)
        except City.DoesNotExist as error:
            raise CommandError(str(error)) from None
        if not summary["cities"]:
            self.stdout.write("compute_indicators: no city loaded yet (run `python manage.py load_demo`).")
        for code, part in summary["cities"].items():
            years = ", ".join(str(y) for y in part["years"]) or "none"
            self.stdout.write(
                f"compute_indicators {code}: {part['values_stored']} values of {part['indicators']} indicators, "
                f"{part['districts']} districts, census years {years}, {part['candidate_sites']} candidate sites, "
                f"imputed cells {part['imputed_cells']}, {part['seconds']} s"
            )
            for warning in part["warnings"]:
                self.stdout.write(self.style.WARNING(f"  warning: {warning}"))
