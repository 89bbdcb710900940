"""python manage.py print_karte --district CODE | --ward CODE --out FILE.pdf"""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from karte.models import District, Ward
from karte.printing.pdf import district_pdf, ward_pdf


class Command(BaseCommand):
    help = "Print the A4 karte of one district, or of every district of a ward (with a cover page), to a PDF."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--district", help="district code")
        which.add_argument("--ward", help="ward JIS code, e.g. 14131")
        parser.add_argument("--out", required=True, type=Path, help="PDF file to write")

    def handle(self, *args, district=None, ward=None, out: Path, **options):
        if district:
            try:
                target = District.objects.select_related("city", "ward").get(code=district)
            except District.DoesNotExist:
                raise CommandError(f"no district with code {district!r}") from None
            pdf = district_pdf(target)
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
