"""python manage.py warm_cache [--no-pdf]: build the cached answers readers ask for first."""
from django.core.management.base import BaseCommand, CommandError

from karte.views.warm import warm_read_cache


class Command(BaseCommand):
    help = ("Request the map, its layers and every district's and ward's page (and printed karte) once, so "
            "the read cache holds them before the first visitor after a load or compute.")

    def add_arguments(self, parser):
        parser.add_argument("--no-pdf", action="store_true", help="skip the printed karte (the slowest to build)")

    def handle(self, *args, no_pdf=False, **options):
        result = warm_read_cache(pdfs=not no_pdf)
        if result.failed:
            raise CommandError(f"warm_cache: {len(result.failed)} of {result.requests} requests failed: "
                               + "; ".join(result.failed[:5]))
        self.stdout.write(f"warm_cache: {result.requests} answers built in {result.seconds:.1f} s")
