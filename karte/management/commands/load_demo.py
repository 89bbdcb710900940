"""Loads a demo city's fixtures (fixtures/manifest.json, or another city's with --city; then run
compute_indicators)."""
from django.core.management.base import BaseCommand, CommandError

from karte.demo import load_demo
from karte.importers import progress
from karte.management.database_locks import lock_timeout_as_command_error
from loaders.errors import LoaderError


class Command(BaseCommand):
    help = ("Load a demo city's fixtures (fixtures/manifest.json, or fixtures/<city>/manifest.json with --city); "
            "idempotent. Then run compute_indicators.")

    def add_arguments(self, parser):
        parser.add_argument("--city", help="JIS code of another demo city (e.g. 20202 松本市, a 市 without wards)")
        parser.add_argument("--quiet", action="store_true", help="no progress bars (never drawn in CI or a pipe)")

    def handle(self, *args, city=None, quiet=False, **options):
        try:
            with lock_timeout_as_command_error("load_demo"):
                load_demo(stdout=self.stdout, city=city,
                          show_progress=progress.wanted(quiet or options.get("verbosity", 1) == 0))
        except LoaderError as error:
            raise CommandError(str(error)) from None
