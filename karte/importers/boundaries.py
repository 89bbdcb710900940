"""Importers of polygons: N03 wards and city, e-Stat small areas, A27 school districts."""
from __future__ import annotations

from django.conf import settings

from karte.models import CensusArea, City, Dataset, District, Ward
from loaders.boundaries import in_city, read_census_boundary, read_district_names, read_n03, read_school_districts

from .base import BaseImporter, PersistError, ImportSummary, from_geos, to_geos, upsert


class WardsImporter(BaseImporter):
    """国土数値情報 N03 → City (union of its wards) and Ward."""

    source = "n03"
    dataset_kind = Dataset.Kind.ADMIN_BOUNDARY
    default_source_name = "国土数値情報 行政区域データ (N03)"

    def read(self):
        return read_n03(self.path, crs=self.crs, city_code=self.city_code,
                        extent=self.reference_extent(named_city_only=True))

    def persist(self, dataset, data, summary: ImportSummary) -> None:
        cities = data.extra["cities"]
        # The plane rectangular zone comes from the prefecture; --option projected_srid=EPSG overrides
        # it (island cities in another zone).
        zone = self.options.get("projected_srid")
        city_rows = [{"code": r.code, "name_ja": r.name_ja, "name_en": r.name_en or "",
                      "projected_srid": int(zone or r.projected_srid), "geom": to_geos(r.geometry)}
                     for r in cities.itertuples()]
        summary.add("City", upsert(City, city_rows, ("code",), City.objects.filter(code__in=list(cities.code)), None))
        city_ids = dict(City.objects.filter(code__in=list(cities.code)).values_list("code", "id"))
        ward_rows = [{"code": r.code, "city_id": city_ids[r.city_code], "name_ja": r.name_ja, "name_en": r.name_en or "",
                      "geom": to_geos(r.geometry)} for r in data.frame.itertuples()]
        summary.add("Ward", upsert(Ward, ward_rows, ("code",), Ward.objects.filter(code__in=list(data.frame.code)), None))


class CensusBoundaryImporter(BaseImporter):
    """e-Stat 境界データ 小地域 → CensusArea of one census year (never touches another year)."""

    source = "census_boundary"
    dataset_kind = Dataset.Kind.CENSUS_BOUNDARY
    default_source_name = "e-Stat 境界データ 小地域（町丁・字等別）"
    needs_year = True

    def read(self):
        city = self.city(required=False)
        # Areas are measured in the city's plane rectangular zone; before its N03 is loaded, in the
        # configured default zone.
        srid = city.projected_srid if city else settings.KARTE_DEFAULT_PROJECTED_SRID
        return read_census_boundary(self.path, crs=self.crs, metric_epsg=srid,
                                    city_code=city.code if city else self.city_code, extent=self.reference_extent())

    def persist(self, dataset, data, summary: ImportSummary) -> None:
        frame = data.frame
        city = self.city(required=False)
        if city is not None:
            keep = frame["city_code"].map(lambda c: in_city(c, city.code))
            dropped = int((~keep).sum())
            if dropped:
                summary.messages.append(f"{dropped} area(s) outside city {city.code} skipped")
            frame = frame.loc[keep]
        rows = [{"key_code": r.key_code, "census_year": self.year, "name_ja": r.name_ja, "city_code": r.city_code,
                 "hcode": int(r.hcode), "area_m2": float(r.area_m2), "geom": to_geos(r.geometry)}
                for r in frame.itertuples()]
        existing = CensusArea.objects.filter(census_year=self.year, key_code__in=list(frame.key_code))
        scope = CensusArea.objects.filter(census_year=self.year)
        if city is not None:
            scope = scope.filter(city_code__in=self.ward_codes_of(city.code))
        summary.add(f"CensusArea {self.year}", *self.upsert(CensusArea, rows, ("key_code", "census_year"), existing,
                                                            dataset, scope=scope))


def _largest_overlap(geom, candidates: list[tuple[str, object]]) -> str | None:
    best, best_area = None, 0.0
    for code, other in candidates:
        if geom.intersects(other):
            area = geom.intersection(other).area
            if area > best_area:
                best, best_area = code, area
    return best


class SchoolDistrictImporter(BaseImporter):
    """A27 小学校区 (or a municipality's own file via ``options['fields']``, e.g. a shapefile with
    学区ID/学校名) → District, linked to its ward by municipality code, or by overlay (largest
    shared area) where the code is missing; in a city without wards, to the city only."""

    source = "a27"
    dataset_kind = Dataset.Kind.SCHOOL_DISTRICT
    default_source_name = "国土数値情報 小学校区データ (A27)"

    def read(self):
        fields = self.options.get("fields")
        return read_school_districts(self.path, crs=self.crs, fields=fields, city_code=self.city_code,
                                     extent=self.reference_extent())

    def persist(self, dataset, data, summary: ImportSummary) -> None:
        city = self.city(required=True)
        wards = {w.code: w for w in Ward.objects.filter(city=city)}
        ward_shapes = [(code, from_geos(w.geom)) for code, w in wards.items() if w.geom is not None]
        city_shape = from_geos(city.geom) if city.geom is not None else None
        rows = []
        for r in data.frame.itertuples():
            ward_code = r.ward_code if isinstance(r.ward_code, str) else None
            if ward_code and ward_code not in wards and ward_code != city.code:
                summary.messages.append(f"feature {r.feature}: ward {ward_code} is not loaded: linked by overlay")
                ward_code = None
            if (not ward_code or ward_code == city.code) and ward_shapes:
                ward_code = _largest_overlap(r.geometry, ward_shapes)
                summary.messages.append(f"feature {r.feature} ({r.code}): ward {ward_code or 'not found'} by overlay")
            elif ward_code == city.code:
                ward_code = None  # a city without wards: districts belong to the city directly
            if city_shape is not None and not r.geometry.intersects(city_shape):
                summary.messages.append(f"feature {r.feature} ({r.code}) lies outside {city.name_ja}: skipped")
                continue
            rows.append({"code": r.code, "city_id": city.id, "ward_id": wards[ward_code].id if ward_code else None,
                         "name_ja": r.name_ja, "school_name": r.school_name, "school_address": r.school_address,
                         "geom": to_geos(r.geometry)})
        existing = District.objects.filter(code__in=[row["code"] for row in rows])
        summary.add("District", *self.upsert(District, rows, ("code",), existing, dataset,
                                             scope=District.objects.filter(city=city)))


class DistrictNamesImporter(BaseImporter):
    """Karte's romaji table → District.name_romaji (and name_ja where given)."""

    source = "district_names"
    dataset_kind = Dataset.Kind.SCHOOL_DISTRICT
    default_source_name = "小学校区 名称表 (Karte)"

    def read(self):
        return read_district_names(self.path)

    def persist(self, dataset, data, summary: ImportSummary) -> None:
        frame = data.frame
        known = {d.code: d for d in District.objects.filter(code__in=list(frame.district_code))}
        missing = sorted(set(frame.district_code) - set(known))
        if missing:
            raise PersistError(f"unknown district code(s) {', '.join(missing[:5])}: load the districts first",
                               path=self.path, row=int(frame.loc[frame.district_code == missing[0], "row"].iloc[0]),
                               field="district_code")
        changed = unchanged = 0
        for r in frame.itertuples():
            district = known[r.district_code]
            new = {"name_romaji": r.name_romaji}
            if "name_ja" in frame.columns and r.name_ja:
                new["name_ja"] = r.name_ja
            if all(getattr(district, k) == v for k, v in new.items()):
                unchanged += 1
                continue
            for k, v in new.items():
                setattr(district, k, v)
            district.save(update_fields=list(new))
            changed += 1
        summary.add("District names", (0, changed, unchanged))
