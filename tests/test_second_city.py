"""The second demo city (issue 17 part 3): 松本市 (20202), a 市 without wards in another prefecture,
school districts from the city's own shapefile (plane rectangular zone VIII), a district where
nobody is 65 or older, an enclave, small areas split across districts. Loaded and computed like the
first city, with two tiers (district, city) and the population conserved between them."""
from __future__ import annotations

import math

import shapely
from django.db.models import Sum

from karte.demo import load_demo
from karte.layers.encoding import shapely_from_geos
from karte.models import CensusArea, CensusFigure, City, Dataset, District, IndicatorValue, Resource, Ward

CITY = "20202"
CAMPUS, ENCLAVE, SURROUNDING = "M08", "M09", "M01"


def _values(code: str) -> dict[str, float | None]:
    return dict(IndicatorValue.objects.filter(area_code=code, year=2020).values_list("indicator", "value"))


def test_a_city_without_wards_has_no_ward_tier(second_city_db, db):
    city = City.objects.get(code=CITY)
    assert city.name_ja == "松本市" and city.projected_srid == 6676  # 長野県 → zone VIII
    assert City.objects.count() == 1  # the neighbour in the same N03 file is not loaded
    assert not Ward.objects.exists()
    summary = second_city_db["cities"][CITY]
    assert summary["districts"] == 9 and summary["years"] == [2020] and summary["values_stored"] > 500
    tiers = set(IndicatorValue.objects.filter(city=city).values_list("tier", flat=True))
    assert tiers == {"district", "city"}
    assert IndicatorValue.objects.filter(tier="city", area_code=CITY, indicator="ageing_rate").exists()


def test_school_districts_come_from_the_city_shapefile(second_city_db, db):
    districts = District.objects.filter(city__code=CITY)
    assert districts.count() == 9 and not districts.filter(ward__isnull=False).exists()
    assert not districts.filter(name_romaji="").exists()
    dataset = Dataset.objects.get(pk=districts.first().dataset_id)
    assert "松本市" in dataset.source_name and dataset.file_name.endswith(".shp")
    assert dataset.notes["facts"]["source_crs"] == "EPSG:6676"
    assert districts.get(code=SURROUNDING).school_name == "開智小学校"


def test_population_is_conserved_between_small_areas_districts_and_city(second_city_db, db):
    for variable in ("pop_total", "pop_65_plus", "households_total"):
        districts = IndicatorValue.objects.filter(tier="district", indicator=variable, year=2020).aggregate(
            s=Sum("value"))["s"]
        city = IndicatorValue.objects.get(tier="city", indicator=variable, area_code=CITY, year=2020).value
        assert math.isclose(districts, city, rel_tol=1e-9), variable
    published = CensusFigure.objects.filter(census_year=2020, variable="pop_total", key_code__startswith=CITY)
    assert not published.filter(value=None).exists()
    city_total = IndicatorValue.objects.get(tier="city", indicator="pop_total", area_code=CITY, year=2020).value
    assert math.isclose(published.aggregate(s=Sum("value"))["s"], city_total, rel_tol=1e-9)


def test_the_enclave_lies_inside_its_surrounding_district(second_city_db, db):
    inner = shapely_from_geos(District.objects.get(code=ENCLAVE).geom)
    outer = shapely_from_geos(District.objects.get(code=SURROUNDING).geom)
    assert any(len(part.interiors) for part in outer.geoms)  # the enclave is a hole in it
    assert shapely.Polygon(max(outer.geoms, key=lambda g: g.area).exterior).contains(inner)
    assert inner.intersection(outer).area < 1e-10  # they only touch
    enclave = _values(ENCLAVE)
    assert enclave["pop_total"] > 500 and 10 < enclave["ageing_rate"] < 50
    assert Resource.objects.filter(district__code=ENCLAVE, kind="civic_hall").exists()


def test_the_district_without_elderly_divides_by_nobody(second_city_db, db):
    """Nobody in the campus district is 65 or older: its ageing rate is 0 (to within the slivers of
    neighbouring small areas its boundary cuts), the ratios over its elderly are unknown (None), not
    a division by zero or noise, and every stored value is a finite number or None."""
    campus = _values(CAMPUS)
    assert campus["pop_total"] > 300
    assert campus["pop_65_plus"] < 0.01 and campus["ageing_rate"] < 0.01
    assert campus["elderly_alone_share"] is None and campus["walk_coverage"] is None
    assert campus["walk_coverage_alone"] is None
    values = IndicatorValue.objects.filter(city__code=CITY).exclude(value=None).values_list("value", flat=True)
    assert all(math.isfinite(v) for v in values)


def test_small_areas_are_split_across_districts(second_city_db, db):
    districts = [shapely_from_geos(d.geom) for d in District.objects.filter(city__code=CITY)]
    split = 0
    for area in CensusArea.objects.filter(census_year=2020):
        geom = shapely_from_geos(area.geom)
        shares = [geom.intersection(d).area / geom.area for d in districts]
        split += sum(s > 0.01 for s in shares) > 1
    assert split >= 10


def test_loading_the_second_city_again_changes_nothing(second_city_db, db):
    again = load_demo(city=CITY)
    assert all(s.created == 0 and s.updated == 0 for s in again)


def test_data_report_of_the_second_city(second_city_db, db):
    from karte.layers import data_report

    report = data_report(CITY)
    assert math.isclose(report.population_in_districts, report.population_total, rel_tol=1e-9)
    by_code = {d.code: d for d in report.districts}
    assert by_code[CAMPUS].split_areas == [] and by_code[CAMPUS].small_areas == 2
    assert by_code[ENCLAVE].split_areas and all(share < 1 for _, _, share in by_code[ENCLAVE].split_areas)
    assert len(report.split_areas) >= 10


def test_the_map_page_lists_districts_of_a_city_without_wards(second_city_db, db, client):
    # A district with no ward once made the map page answer 500 (place_name of None).
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    codes = list(District.objects.filter(city__code=CITY).values_list("code", flat=True))
    assert codes and all(f'href="/districts/{code}/"' in html for code in codes)


def test_a_city_with_one_census_shows_no_change_and_no_projection(second_city_db, db, client):
    # 松本市's demo has the 2020 census only: no 2015 column, no outline, no projection chart — and no error.
    from karte.layers.report import district_report

    district = District.objects.filter(city__code=CITY).order_by("code").first()
    report = district_report(district)
    assert report.rows and report.earlier_year is None and report.trend is None
    assert all(row.change is None for row in report.rows)
    assert report.pyramid is None or report.pyramid.earlier_year is None
    html = client.get(f"/districts/{district.code}/").content.decode()
    assert "change-value" not in html and "trend-chart" not in html and "pyramid-earlier" not in html
    assert client.get(f"/districts/{district.code}/karte.pdf").status_code == 200
    found = client.get("/api/search/", {"q": district.name_ja, "city": CITY}).json()["results"]
    assert found[0]["code"] == district.code and found[0]["url"] == f"/districts/{district.code}/"
