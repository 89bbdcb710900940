"""python manage.py print_karte --district CODE | --ward CODE | --city CODE | --area QUERY --out FILE.pdf

``--area`` takes the area page's query string, e.g. ``"codes=14133003001,14133003002"`` or
``"lon=139.70&lat=35.53&radius=800"`` (see karte.layers.area)."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from karte.layers import AREA_PARAMETERS, ParameterError, area_report, get_city, parse_area_query
from karte.models import District, Ward
from karte.printing.pdf import area_pdf, city_pdf, district_pdf, ward_pdf


class Command(BaseCommand):
    help = ("Print the A4 karte of one district, of every district of a ward or a city (with a cover page), "
            "or of any area, to a PDF.")

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--district", help="district code")
        which.add_argument("--ward", help="ward JIS code, e.g. 14131")
        which.add_argument("--city", help="city JIS code, e.g. 20202: every district of the city")
        which.add_argument("--area", help="an area as the area page's query string, e.g. 'codes=A,B' or "
                                          "'lon=139.70&lat=35.53&radius=800'")
        parser.add_argument("--out", required=True, type=Path, help="PDF file to write")

    def handle(self, *args, district=None, ward=None, city=None, area=None, out: Path, **options):
        if area:
            from urllib.parse import parse_qsl

            query = dict(parse_qsl(area))
            try:
                unknown = sorted(set(query) - set(AREA_PARAMETERS))
                if unknown:
                    raise ParameterError(f"unknown part {unknown[0]!r}; an area is named by "
                                         f"{', '.join(AREA_PARAMETERS)}", unknown[0])
                report = area_report(parse_area_query(query))
            except ParameterError as error:
                raise CommandError(f"--area: {error.message}") from None
            pdf = area_pdf(report)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(pdf)
            self.stdout.write(f"print_karte: wrote {out} ({len(pdf) / 1024:.0f} KiB) for {report.title}")
            return
        if district:
            try:
                target = District.objects.select_related("city", "ward").get(code=district)
            except District.DoesNotExist:
                raise CommandError(f"no district with code {district!r}") from None
            pdf = district_pdf(target)
        elif city:
            try:
                target = get_city(city, parameter="city")
                pdf = city_pdf(target)
            except ParameterError as error:  # an unknown code, a city without districts
                raise CommandError(f"--city: {error.message}") from None
        else:
            try:
                target = Ward.objects.select_related("city").get(code=ward)
            except Ward.DoesNotExist:
                raise CommandError(f"no ward with code {ward!r}") from None
            try:
                pdf = ward_pdf(target)
            except ValueError as error:
                raise CommandError(str(error)) from None
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(pdf)
        self.stdout.write(f"print_karte: wrote {out} ({len(pdf) / 1024:.0f} KiB) for {target.name_ja}")
