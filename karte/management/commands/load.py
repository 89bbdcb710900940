"""python manage.py load <source> PATH [--year Y] [--city CODE] [--dry-run] [--crs EPSG] [--option k=v …]"""
import json

from django.core.management.base import BaseCommand, CommandError

from karte.importers import IMPORTERS, progress, run_load
from karte.management.database_locks import lock_timeout_as_command_error
from loaders.errors import LoaderError


def _option(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"--option needs key=value, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


class Command(BaseCommand):
    help = "Load one source file into the database (one transaction, idempotent, with provenance)."

    def add_arguments(self, parser):
        parser.add_argument("source", choices=sorted(IMPORTERS), help="which loader reads the file")
        parser.add_argument("path", help="the source file")
        parser.add_argument("--year", type=int, help="census/survey year (checked against the file where it says)")
        parser.add_argument("--city", help="5-digit JIS code of the city, e.g. 14130")
        parser.add_argument("--dry-run", action="store_true", help="validate and report, write nothing")
        parser.add_argument("--crs", help="EPSG code for a file that declares no CRS (e.g. 6668, 4612, 4301)")
        parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                            help="loader option, e.g. lat=緯度 or kind=hazard (JSON values allowed)")
        parser.add_argument("--source-name", help="provenance: name of the source")
        parser.add_argument("--url", default="", help="provenance: where the file came from")
        parser.add_argument("--licence", default="", help="provenance: licence of the data")
        parser.add_argument("--replace", action="store_true",
                            help="remove rows an earlier load of this file wrote that the file no longer holds "
                                 "(in its year and city); without it they are kept and reported")
        parser.add_argument("--quiet", action="store_true",
                            help="no progress bar and only the summary line (a bar is never drawn in CI or a pipe)")

    def handle(self, *args, source, path, year=None, city=None, dry_run=False, crs=None, option=(), quiet=False,
               replace=False, **options):
        quiet = quiet or options.get("verbosity", 1) == 0
        try:
            opts = dict(_option(o) for o in option)
            provenance = {k: v for k, v in (("source_name", options.get("source_name")), ("url", options.get("url")),
                                            ("licence", options.get("licence"))) if v}
            with lock_timeout_as_command_error(f"load {source} {path}"):
                summary = run_load(source, path, year=year, city=city, dry_run=dry_run, crs=crs, options=opts,
                                   provenance=provenance, show_progress=progress.wanted(quiet), replace=replace)
        except (LoaderError, ValueError) as error:
            raise CommandError(str(error)) from None
        for line in summary.lines()[:1] if quiet else summary.lines():
            self.stdout.write(line)
