"""Loads the demo fixtures listed in fixtures/manifest.json (then run compute_indicators)."""
from django.core.management.base import BaseCommand, CommandError

from karte.demo import load_demo
from loaders.errors import LoaderError


class Command(BaseCommand):
    help = "Load the demo city's fixtures (fixtures/manifest.json); idempotent. Then run compute_indicators."

    def handle(self, *args, **options):
        try:
            load_demo(stdout=self.stdout)
        except LoaderError as error:
            raise CommandError(str(error)) from None
