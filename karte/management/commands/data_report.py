"""python manage.py data_report [--city CODE] [--year Y] [--json]: how far to trust each district's figures."""
import json
from dataclasses import asdict

from django.core.management.base import BaseCommand, CommandError

from karte.layers import data_report
from karte.layers import ParameterError


def _pct(value) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


class Command(BaseCommand):
    help = ("Per district: population covered, suppressed/merged cells and the share resting on imputed input, "
            "small areas split across districts and how they were apportioned; resources in no district; sources.")

    def add_arguments(self, parser):
        parser.add_argument("--city", help="5-digit JIS code (default: the only city loaded)")
        parser.add_argument("--year", type=int, help="census year (default: the latest computed)")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, city=None, year=None, **options):
        try:
            report = data_report(city, year)
        except ParameterError as error:
            raise CommandError(str(error)) from None
        if options.get("json"):
            self.stdout.write(json.dumps(asdict(report), ensure_ascii=False, indent=1))
            return
        out = self.stdout.write
        total = report.population_total
        out(f"data report {report.city_code} {report.city_name}, census {report.year}: population "
            f"{total:,.0f} in the city, {report.population_in_districts:,.0f} in its {len(report.districts)} districts; "
            f"{len(report.split_areas)} small areas split across districts, apportioned by {report.apportioned_by}"
            if total is not None else f"data report {report.city_code}: no indicators computed yet "
                                      "(run compute_indicators)")
        out("district | population (share) | small areas | suppressed cells | merged areas | "
            "imputed share of 65+ | split areas (share in this district)")
        for d in report.districts:
            split = ", ".join(f"{key} {name} {share:.0%}" for key, name, share in d.split_areas) or "—"
            population = "—" if d.population is None else f"{d.population:,.0f} ({_pct(d.population_share)})"
            out(f"{d.code} {d.name} | {population} | {d.small_areas} | {d.suppressed_cells} | {d.merged_areas} | "
                f"{_pct(d.uncertain_share.get('pop_65_plus'))} | {split}")
        out(f"resources in no district: {len(report.resources_without_district)}")
        for r in report.resources_without_district:
            out(f"  {r['kind']} {r['name']} ({r['source_key']}, {r['dataset']})")
        out(f"sources: {len(report.sources)}")
        for s in report.sources:
            out(f"  {s['source_name']} — vintage {s['vintage'] or '—'}, {s['file_name']}, loaded {s['loaded_at']}, "
                f"{s['rows']} rows, sha256 {s['sha256']}…, {s['licence'] or 'licence not given'}")
