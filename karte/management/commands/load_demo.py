"""Loads the real demo fixtures listed in fixtures/manifest.json, then computes indicators."""
from django.core.management.base import BaseCommand

from karte.demo import load_demo


class Command(BaseCommand):
    help = "Load the real fixtures of the demo city (fixtures/manifest.json) and compute its indicators."

    def handle(self, *args, **options):
        for line in load_demo():
            self.stdout.write(line)
