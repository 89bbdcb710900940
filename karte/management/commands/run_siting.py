"""python manage.py run_siting --city 14130 [--ward CODE] --kinds vacant_house,park --k 5 --distance 500 --solver greedy|exact"""
from django.core.management.base import BaseCommand, CommandError

from karte.layers import ParameterError
from karte.management.database_locks import lock_timeout_as_command_error
from karte.siting import run_siting


class Command(BaseCommand):
    help = "Choose k candidate まちのひろば sites covering the most elderly not yet within walking distance, and save the run."

    def add_arguments(self, parser):
        parser.add_argument("--city", required=True, help="city JIS code, e.g. 14130")
        parser.add_argument("--ward", help="ward JIS code, e.g. 14133 (default: the whole city)")
        parser.add_argument("--kinds", help="comma-separated resource kinds (default: every non-gathering kind)")
        parser.add_argument("--k", type=int, default=5, help="number of sites (default 5)")
        parser.add_argument("--distance", type=float, default=500, help="walking distance in metres (default 500)")
        parser.add_argument("--solver", choices=["greedy", "exact"], default="greedy")
        parser.add_argument("--year", type=int, help="census year (default: the latest loaded)")
        parser.add_argument("--publish", action="store_true",
                            help="publish the run: the home map and /api/siting/latest/ show it")

    def handle(self, *args, city, ward=None, kinds=None, k=5, distance=500, solver="greedy", year=None,
               publish=False, **options):
        kind_list = [kind.strip() for kind in kinds.split(",") if kind.strip()] if kinds else None
        try:
            with lock_timeout_as_command_error("run_siting"):
                run = run_siting(city, ward=ward, kinds=kind_list, walk_distance_m=distance, k=k, solver=solver, year=year)
        except ParameterError as error:
            raise CommandError(str(error)) from None
        if publish:
            from django.utils import timezone

            run.published, run.published_at = True, timezone.now()
            run.save(update_fields=["published", "published_at"])
        share = 100 * run.covered_after / run.demand_total if run.demand_total else 0.0
        before = 100 * run.covered_before / run.demand_total if run.demand_total else 0.0
        self.stdout.write(f"run_siting #{run.pk}: {len(run.chosen)} sites, weighted coverage {before:.1f}% → {share:.1f}% "
                          f"({run.solver}, {run.runtime_s:.2f} s)")
        for rank, site in enumerate(run.chosen, start=1):
            self.stdout.write(f"  {rank}. [{site['kind']}] {site['name'] or site['address'] or site['resource_id']}: "
                              f"+{site['newly_covered']:.0f} (65+ {site['elderly']:.0f}, alone {site['elderly_alone']:.0f})")
