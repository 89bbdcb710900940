"""python manage.py fetch_open_data --city CODE [--year 2020] [--estat-app-id ID] [--cache DIR] [--only NAME …]
[--school-districts FILE [--school-district-fields JSON]] [--osm] [--base-url URL] [--timeout S] [--quiet]"""
import json

from django.core.management.base import BaseCommand, CommandError

from karte.importers import progress
from karte.open_data import fetch_open_data
from karte.tasks import open_data_task
from loaders.errors import LoaderError
from loaders.fetch import load_catalogue


class Command(BaseCommand):
    help = ("Download a city's open data (e-Stat 小地域 boundaries and tables, 地域メッシュ, 国土数値情報 N03/A27/P02/"
            "P13/P14/P29/A31, optionally OSM) into a cache, load it in order and compute the indicators. "
            "URLs: loaders/open_data.toml.")

    def add_arguments(self, parser):
        names = load_catalogue().names
        parser.add_argument("--city", required=True, help="5-digit JIS code of the city, e.g. 14130")
        parser.add_argument("--year", type=int, default=2020, help="census year (2020 or 2015; default 2020)")
        parser.add_argument("--estat-app-id", default="", help="e-Stat application id, for catalogue URLs that need one")
        parser.add_argument("--cache", help="download cache folder (default: KARTE_OPEN_DATA_CACHE, var/open_data)")
        parser.add_argument("--only", action="append", choices=names, metavar="NAME",
                            help=f"fetch only these sources (repeatable): {', '.join(names)}")
        parser.add_argument("--school-districts", metavar="FILE",
                            help="the city's own school-district file, loaded instead of A27")
        parser.add_argument("--school-district-fields", metavar="JSON",
                            help='its columns, e.g. \'{"code": "学区ID", "school_name": "学校名"}\'')
        parser.add_argument("--osm", action="store_true", help="also query OpenStreetMap through Overpass")
        parser.add_argument("--base-url", help="one base URL replacing every portal's (a mirror; KARTE_OPEN_DATA_BASE_URL)")
        parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for a server (default 60)")
        parser.add_argument("--quiet", action="store_true", help="no progress bars (never drawn in CI or a pipe)")
        parser.add_argument("--background", action="store_true",
                            help="queue it as a background job (manage.py run_worker runs it) and print where to follow it")

    def handle(self, *args, city, year=2020, estat_app_id="", cache=None, only=None, school_districts=None,
               school_district_fields=None, osm=False, base_url=None, timeout=60.0, quiet=False, background=False,
               **options):
        try:
            fields = json.loads(school_district_fields) if school_district_fields else None
        except json.JSONDecodeError as error:
            raise CommandError(f"--school-district-fields is not JSON: {error}") from None
        if background:
            job = open_data_task.submit({
                "city": city, "year": year, "cache_dir": cache, "only": only, "estat_app_id": estat_app_id,
                "base_url": base_url, "school_districts": school_districts, "school_district_fields": fields,
                "osm": osm, "timeout": timeout})
            self.stdout.write(f"fetch_open_data: queued as job {job.public_id} ({job.get_status_display()}); "
                              f"follow it at /jobs/{job.public_id}/view")
            return
        try:
            fetch_open_data(city, year, cache_dir=cache, only=only, estat_app_id=estat_app_id, base_url=base_url,
                            school_districts=school_districts, school_district_fields=fields, osm=osm,
                            timeout=timeout, show_progress=progress.wanted(quiet or options.get("verbosity", 1) == 0),
                            progress=self.stdout.write)
        except LoaderError as error:
            raise CommandError(str(error)) from None
