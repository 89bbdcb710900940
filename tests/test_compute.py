"""compute_all on a small hand-built city: stored values against an independent recomputation from
CensusFigure rows, city-total conservation, three-tier ratios, provenance, idempotence."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.core.management import call_command

from karte.compute import compute_all
from karte.layers import ParameterError
from karte.models import (
    CensusArea,
    CensusFigure,
    City,
    Dataset,
    District,
    IndicatorValue,
    Resource,
    ResourceKind,
    Ward,
)
from spatial.indicators import BANDS

METRIC = 6677
X0, Y0 = -15_000.0, -55_000.0  # EPSG:6677 metres, inside Kawasaki
SQUARE = 1000.0
# Small areas: a 3 × 2 grid of 1 km squares; columns 0–1 lie in ward 14131, column 2 in 14132.
AREAS = [(f"14131{c}{r}00", c, r, "14131") if c < 2 else (f"14132{c}{r}00", c, r, "14132")
         for r in range(2) for c in range(3)]
# Districts cut the grid at x = 1.5 km, so they do not nest in the small areas.
DISTRICTS = [("D01", 0.0, 1500.0, "14131"), ("D02", 1500.0, 3000.0, "14132")]
SUPPRESSED = ("141311000", 2020, "households_elderly_alone")  # square (1, 0)


def to_storage(geometry: shapely.Geometry) -> MultiPolygon:
    series = gpd.GeoSeries([geometry], crs=METRIC).to_crs(6668)
    geos = GEOSGeometry(series.iloc[0].wkt, srid=6668)
    return geos if isinstance(geos, MultiPolygon) else MultiPolygon(geos, srid=6668)


def square(c: int, r: int) -> shapely.Geometry:
    return shapely.box(X0 + c * SQUARE, Y0 + r * SQUARE, X0 + (c + 1) * SQUARE, Y0 + (r + 1) * SQUARE)


def area_figures(seed: int, year: int) -> dict[str, float]:
    rng = np.random.default_rng(seed + year)
    figures: dict[str, float] = {}
    older = 1.0 if year == 2015 else 1.15
    for band_number, band in enumerate(BANDS):
        scale = 60 if band_number < 13 else 40 * older
        male, female = float(rng.integers(5, scale)), float(rng.integers(5, scale))
        figures[f"pop_m_{band}"], figures[f"pop_f_{band}"] = male, female
        figures[f"pop_t_{band}"] = male + female
    total = lambda bands: sum(figures[f"pop_t_{b}"] for b in bands)  # noqa: E731
    figures["pop_0_14"] = total(BANDS[:3])
    figures["pop_15_64"] = total(BANDS[3:13])
    figures["pop_65_plus"] = total(BANDS[13:])
    figures["pop_75_plus"] = total(BANDS[15:])
    figures["pop_total"] = figures["pop_0_14"] + figures["pop_15_64"] + figures["pop_65_plus"] + 7  # 7 age unknown
    figures["households_total"] = float(rng.integers(400, 600))
    figures["households_with_elderly"] = float(rng.integers(100, 200))
    figures["households_elderly_alone"] = float(rng.integers(20, 60))
    figures["dwelling_households_total"] = figures["households_total"] - 5
    figures["dwelling_households_apartment"] = float(rng.integers(100, 300))
    return figures


@pytest.fixture
def small_city(db):
    census_ds = {
        year: Dataset.objects.create(kind=Dataset.Kind.CENSUS_TABLE, source_name=f"国勢調査 {year} テスト表",
                                     vintage=year, licence="CC BY 4.0", checksum=f"c{year}")
        for year in (2015, 2020)
    }
    boundary_ds = Dataset.objects.create(kind=Dataset.Kind.CENSUS_BOUNDARY, source_name="小地域境界 テスト",
                                         vintage=2020, licence="CC BY 4.0", checksum="b")
    district_ds = Dataset.objects.create(kind=Dataset.Kind.SCHOOL_DISTRICT, source_name="A27 テスト",
                                         vintage=2021, licence="CC BY 4.0", checksum="a")
    resource_ds = Dataset.objects.create(kind=Dataset.Kind.RESOURCE, source_name="資源 テスト", licence="CC BY 4.0",
                                         checksum="r")
    city = City.objects.create(code="14130", name_ja="川崎市", projected_srid=METRIC,
                               geom=to_storage(shapely.box(X0, Y0, X0 + 3000, Y0 + 2000)))
    wards = {
        "14131": Ward.objects.create(city=city, code="14131", name_ja="川崎区",
                                     geom=to_storage(shapely.box(X0, Y0, X0 + 2000, Y0 + 2000))),
        "14132": Ward.objects.create(city=city, code="14132", name_ja="幸区",
                                     geom=to_storage(shapely.box(X0 + 2000, Y0, X0 + 3000, Y0 + 2000))),
    }
    for code, x_lo, x_hi, ward in DISTRICTS:
        District.objects.create(city=city, ward=wards[ward], code=code, name_ja=f"{code}小学校区",
                                geom=to_storage(shapely.box(X0 + x_lo, Y0, X0 + x_hi, Y0 + 2000)),
                                dataset=district_ds)
    figures = {}
    for year in (2015, 2020):
        for n, (key, c, r, ward) in enumerate(AREAS):
            CensusArea.objects.create(key_code=key, census_year=year, city_code=ward, geom=to_storage(square(c, r)),
                                      area_m2=SQUARE ** 2, dataset=boundary_ds)
            values = area_figures(n, year)
            figures[(key, year)] = values
            CensusFigure.objects.bulk_create([
                CensusFigure(key_code=key, census_year=year, variable=variable,
                             value=None if (key, year, variable) == SUPPRESSED else value,
                             status="suppressed" if (key, year, variable) == SUPPRESSED else "ok",
                             dataset=census_ds[year])
                for variable, value in values.items()
            ])

    def resource(key: str, kind: str, x: float, y: float, area: float | None = None) -> None:
        point = to_storage(shapely.Point(X0 + x, Y0 + y).buffer(1)).centroid
        Resource.objects.create(source_key=key, kind=kind, name=key, geom=point, location=point, area_m2=area,
                                city=city, dataset=resource_ds)

    resource("lib", ResourceKind.LIBRARY, 500, 500)
    resource("hall", ResourceKind.COMMUNITY_HALL, 2500, 1500)
    resource("park1", ResourceKind.PARK, 1700, 300, area=3000.0)
    resource("park2", ResourceKind.PARK, 2800, 1800, area=1200.0)
    resource("akiya1", ResourceKind.VACANT_HOUSE, 200, 1900)
    resource("akiya2", ResourceKind.VACANT_HOUSE, 1200, 100)
    return {"city": city, "figures": figures, "datasets": census_ds}


def independent_district_counts(figures: dict, year: int, variable: str) -> dict[str, float]:
    """Σ_i value_i × |area_i ∩ district| / |area_i|, straight from the figures, with geopandas.overlay."""
    areas = gpd.GeoDataFrame({"key": [a[0] for a in AREAS],
                              "value": [figures[(a[0], year)][variable] for a in AREAS]},
                             geometry=[square(a[1], a[2]) for a in AREAS], crs=METRIC)
    districts = gpd.GeoDataFrame({"code": [d[0] for d in DISTRICTS]},
                                 geometry=[shapely.box(X0 + d[1], Y0, X0 + d[2], Y0 + 2000) for d in DISTRICTS],
                                 crs=METRIC)
    # Round trip through the storage CRS as the database does, so both sides see the same polygons.
    areas = areas.to_crs(6668).to_crs(METRIC)
    districts = districts.to_crs(6668).to_crs(METRIC)
    pieces = gpd.overlay(areas, districts, how="intersection")
    own_area = areas.set_index("key").area
    pieces["share"] = pieces.area / pieces["key"].map(own_area)
    return (pieces["value"] * pieces["share"]).groupby(pieces["code"]).sum().to_dict()


def stored(tier: str, area: str, indicator: str, year: int = 2020) -> IndicatorValue:
    return IndicatorValue.objects.get(tier=tier, area_code=area, indicator=indicator, year=year)


@pytest.mark.django_db
def test_district_values_match_an_independent_recomputation(small_city):
    compute_all()
    figures = small_city["figures"]
    for variable in ("pop_total", "pop_65_plus", "pop_m_80_84"):
        expected = independent_district_counts(figures, 2020, variable)
        for code, value in expected.items():
            assert stored("district", code, variable).value == pytest.approx(value, rel=1e-9), (variable, code)
    elderly = independent_district_counts(figures, 2020, "pop_65_plus")
    known = {code: sum(independent_district_counts(figures, 2020, v)[code] for v in ("pop_0_14", "pop_15_64",
                                                                                   "pop_65_plus"))
             for code in elderly}
    for code in elderly:
        row = stored("district", code, "ageing_rate")
        assert row.value == pytest.approx(100 * elderly[code] / known[code], rel=1e-9)
        assert row.unit == "%"
        assert row.rank in (1, 2)


@pytest.mark.django_db
def test_city_total_is_conserved_and_wards_are_exact_sums(small_city):
    compute_all()
    figures = small_city["figures"]
    city_total = sum(figures[(a[0], 2020)]["pop_total"] for a in AREAS)
    assert stored("city", "14130", "pop_total").value == pytest.approx(city_total, rel=1e-12)
    district_sum = sum(stored("district", d[0], "pop_total").value for d in DISTRICTS)
    assert district_sum == pytest.approx(city_total, rel=1e-9)
    ward_areas = [a[0] for a in AREAS if a[3] == "14132"]
    elderly = sum(figures[(k, 2020)]["pop_65_plus"] for k in ward_areas)
    known = sum(figures[(k, 2020)][v] for k in ward_areas for v in ("pop_0_14", "pop_15_64", "pop_65_plus"))
    assert stored("ward", "14132", "ageing_rate").value == pytest.approx(100 * elderly / known, rel=1e-12)
    # The city ratio is recomputed from summed counts, not the mean of the district ratios.
    district_rates = [stored("district", d[0], "ageing_rate").value for d in DISTRICTS]
    city_rate = stored("city", "14130", "ageing_rate").value
    all_elderly = sum(figures[(a[0], 2020)]["pop_65_plus"] for a in AREAS)
    all_known = sum(figures[(a[0], 2020)][v] for a in AREAS for v in ("pop_0_14", "pop_15_64", "pop_65_plus"))
    assert city_rate == pytest.approx(100 * all_elderly / all_known, rel=1e-12)
    assert min(district_rates) <= city_rate <= max(district_rates)


@pytest.mark.django_db
def test_suppressed_cell_is_imputed_and_flagged_uncertain(small_city):
    compute_all()
    # Square (1, 0) is shared by both districts; its elderly-alone count is suppressed in 2020.
    for code, _, _, _ in DISTRICTS:
        row = stored("district", code, "households_elderly_alone")
        assert row.value is not None and row.value > 0
        assert 0 < row.uncertain_share < 1
        assert stored("district", code, "elderly_alone_share").uncertain_share > 0
    assert stored("district", "D01", "pop_total").uncertain_share == 0
    assert stored("ward", "14132", "households_elderly_alone").uncertain_share == 0
    assert stored("ward", "14131", "households_elderly_alone").uncertain_share > 0


@pytest.mark.django_db
def test_resources_changes_projection_and_isolation_are_stored(small_city):
    summary = compute_all()
    assert summary["values_stored"] > 0
    assert stored("district", "D01", "resources_library").value == 1
    assert stored("district", "D02", "resources_park").value == 2
    assert stored("district", "D02", "park_area_per_capita").value == pytest.approx(
        4200 / stored("district", "D02", "pop_total").value)
    assert stored("district", "D01", "vacant_houses").value == 2
    assert stored("district", "D01", "vacant_house_density").value == pytest.approx(2 / 3.0, rel=1e-3)
    assert stored("city", "14130", "resources_total").value == 6
    change = stored("district", "D01", "ageing_rate_change")
    before = stored("district", "D01", "ageing_rate", year=2015).value
    assert change.value == pytest.approx(stored("district", "D01", "ageing_rate").value - before)
    assert change.unit == "pt"
    for tier, code in (("district", "D01"), ("ward", "14131"), ("city", "14130")):
        projected = stored(tier, code, "ageing_rate_2040").value
        assert 0 < projected < 100
        assert stored(tier, code, "ageing_rate_2028").value is not None
    indices = [stored("district", d[0], "isolation_index").value for d in DISTRICTS]
    assert sum(indices) == pytest.approx(0.0, abs=1e-9)  # z-scores of two districts are ±1 per component


@pytest.mark.django_db
def test_provenance_units_and_idempotence(small_city):
    compute_all()
    count = IndicatorValue.objects.count()
    row = stored("district", "D01", "ageing_rate")
    names = {d["source_name"] for d in row.inputs["datasets"]}
    assert "国勢調査 2020 テスト表" in names and "A27 テスト" in names
    assert row.inputs["year"] == 2020 and row.inputs["method_id"]
    assert all({"id", "source_name", "vintage", "licence"} <= set(d) for d in row.inputs["datasets"])
    assert row.method
    assert not IndicatorValue.objects.filter(tier="district", rank__isnull=True, value__isnull=False).exists()
    call_command("compute_indicators", "--city", "14130")
    assert IndicatorValue.objects.count() == count
    assert stored("district", "D01", "ageing_rate").value == row.value


@pytest.mark.django_db
def test_year_filter_and_unknown_city(small_city):
    summary = compute_all(city="14130", year=2020)
    assert summary["cities"]["14130"]["years"] == [2020]
    assert not IndicatorValue.objects.filter(year=2015).exists()
    assert IndicatorValue.objects.filter(indicator="ageing_rate_change", year=2020).exists()
    with pytest.raises(ParameterError, match="99999"):
        compute_all(city="99999")


@pytest.mark.django_db
def test_command_prints_a_summary_and_refuses_bad_arguments(small_city):
    from io import StringIO

    from django.core.management.base import CommandError

    out = StringIO()
    call_command("compute_indicators", "--year", "2020", "--walk-distance", "400", stdout=out)
    text = out.getvalue()
    assert "compute_indicators 14130:" in text and "2 districts" in text and "census years 2020" in text
    assert IndicatorValue.objects.filter(indicator="walk_coverage", year=2020, tier="city").exists()
    with pytest.raises(CommandError, match="walk-distance"):
        call_command("compute_indicators", "--walk-distance", "0")
    with pytest.raises(CommandError, match="99999"):
        call_command("compute_indicators", "--city", "99999")
