"""Compute every indicator of a city (or all cities) and store it: see karte.compute."""
from django.core.management.base import BaseCommand, CommandError

from karte.compute import compute_all, summary_lines
from karte.layers import ParameterError
from karte.management.database_locks import lock_timeout_as_command_error


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
        except ParameterError as error:
            raise CommandError(str(error)) from None
        if not summary["cities"]:
            self.stdout.write("compute_indicators: no city loaded yet (run `python manage.py load_demo`).")
        for line in summary_lines(summary):
            self.stdout.write(self.style.WARNING(line) if line.startswith("  warning:") else line)
