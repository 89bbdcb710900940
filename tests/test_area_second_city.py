"""The area karte in a city without wards (松本市 20202): no ward column, the city's own figures."""
from __future__ import annotations

import pytest

from karte.layers import area_report, parse_area_query
from karte.models import CensusArea, CensusFigure

pytestmark = pytest.mark.django_db


def test_no_ward_column_and_whole_areas_sum(second_city_db, db, client):
    codes = list(CensusArea.objects.filter(census_year=2020, city_code="20202").order_by("key_code")
                 .values_list("key_code", flat=True)[:3])
    report = area_report(parse_area_query({"codes": ",".join(codes)}))
    assert [c.tier for c in report.columns][-1] == "city" and "ward" not in [c.tier for c in report.columns]
    assert "市の比率" in report.method_text  # no ward: suppressed cells take the city's share
    total = next(r for r in report.rows if r.code == "pop_total").value
    cells = list(CensusFigure.objects.filter(key_code__in=codes, census_year=2020, variable="pop_total")
                 .values_list("value", flat=True))
    if all(v is not None for v in cells):
        assert total == sum(cells)
    response = client.get("/area/", {"codes": ",".join(codes)})
    assert response.status_code == 200 and 'data-tier="ward"' not in response.content.decode()
    circle = client.get("/api/area/", {"lon": f"{report.geometry.centroid.x:.5f}",
                                       "lat": f"{report.geometry.centroid.y:.5f}", "radius": "600"})
    assert circle.status_code == 200, circle.content
    assert all(column["tier"] != "ward" for column in circle.json()["columns"])
