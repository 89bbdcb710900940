"""data_report on the demo city: per district the population covered, the suppressed and merged
cells behind it, the small areas it shares and how they were apportioned; resources in no district;
the sources and their dates — as one plain structure, and printed by the command."""
from __future__ import annotations

import json
import math

import pytest
from django.core.management import call_command

from karte.layers import data_report
from karte.models import CensusFigure, Dataset, IndicatorValue, Resource


@pytest.fixture(scope="module")
def report(demo_db, django_db_blocker):
    with django_db_blocker.unblock():
        return data_report("14130")


def test_population_of_the_districts_adds_up_to_the_city(report, db):
    assert report.year == 2020 and len(report.districts) == 35
    assert math.isclose(report.population_in_districts, report.population_total, rel_tol=1e-9)
    assert math.isclose(sum(d.population_share for d in report.districts), 1.0, rel_tol=1e-9)
    city = IndicatorValue.objects.get(tier="city", area_code="14130", indicator="pop_total", year=2020).value
    assert report.population_total == city


def test_suppressed_and_merged_cells_are_counted_where_they_weigh(report, db):
    suppressed = CensusFigure.objects.filter(census_year=2020, status="suppressed")
    keys = set(suppressed.values_list("key_code", flat=True))
    with_suppressed = [d for d in report.districts if d.suppressed_cells]
    assert with_suppressed and sum(d.suppressed_cells for d in report.districts) >= suppressed.count()
    assert any(d.merged_areas for d in report.districts)
    # a district's count is exactly the suppressed cells of the small areas with land in it
    for district in with_suppressed:
        assert district.suppressed_cells == suppressed.filter(key_code__in=district.area_codes).count()
        assert set(district.area_codes) & keys


def test_split_small_areas_and_their_shares(report, db):
    assert report.apportioned_by.startswith("where people live (mesh 2020")
    assert len(report.split_areas) > 50
    for area in report.split_areas:
        assert len(area.shares) >= 2
        assert 0.97 <= sum(area.shares.values()) <= 1.0001, area  # water and slivers aside, whole
    by_code = {d.code: d for d in report.districts}
    area = report.split_areas[0]
    for code, share in area.shares.items():
        assert (area.key_code, area.name, share) in by_code[code].split_areas


def test_resources_without_a_district_and_sources(report, db):
    outside = Resource.objects.filter(city__code="14130", district__isnull=True).count()
    assert len(report.resources_without_district) == outside
    names = {s["source_name"] for s in report.sources}
    assert any("T001082" in n for n in names) and any("(A27)" in n for n in names)
    assert all(s["loaded_at"] and s["sha256"] for s in report.sources)
    assert len(report.sources) <= Dataset.objects.count()


def test_command_prints_the_report_and_json(report, db, capsys):
    call_command("data_report", "--city", "14130")
    out = capsys.readouterr().out
    assert out.startswith("data report 14130 川崎市, census 2020: population")
    assert out.count("小学校区 |") == 35 and "sources:" in out
    call_command("data_report", "--city", "14130", "--json")
    data = json.loads(capsys.readouterr().out)
    assert data["city_code"] == "14130" and len(data["districts"]) == 35
