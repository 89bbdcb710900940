"""Importers of resources (facilities, parks, cafés, temples, vacant houses) and of area-level
housing statistics. A resource gets its district by point-in-polygon on its ``location``."""
from __future__ import annotations


import numpy as np
from shapely.strtree import STRtree

from karte.models import AreaStatistic, Dataset, District, Resource
from loaders.boundaries import in_city
from loaders.housing import read_area_table
from loaders.resources import read_ksj_facilities, read_osm_export, read_points_csv, read_vacant_houses

from .base import BaseImporter, ImportSummary, from_geos, optional_float, to_geos

CSV_PREFIX = "csv"
FAR_TOLERANCE_M = 1000.0  # a facility just across the border still serves the city's residents


class _ResourceImporter(BaseImporter):
    dataset_kind = Dataset.Kind.RESOURCE

    def load_frame(self, extent):
        raise NotImplementedError

    def read(self):
        extent = self.reference_extent()
        tolerance = float(self.options.get("tolerance_m", FAR_TOLERANCE_M))
        data = self.load_frame(extent, tolerance)
        if extent is None:
            data.report.add("no city extent in the database: points far from the city were not checked")
        return data

    def persist(self, dataset, data, summary: ImportSummary) -> None:
        frame = data.frame
        city = self.city(required=False)
        districts = list(District.objects.filter(city=city).values_list("id", "geom")) if city else []
        polygons = [from_geos(g) for _, g in districts]
        tree = STRtree(polygons) if polygons else None
        district_ids = [None] * len(frame)
        if tree is not None:
            pts = np.asarray(frame["location"].values)
            hit_points, hit_polys = tree.query(pts, predicate="intersects")
            for p, q in zip(hit_points, hit_polys):
                if district_ids[p] is None:
                    district_ids[p] = districts[q][0]
        outside = sum(1 for d in district_ids if d is None)
        if tree is not None and outside:
            summary.messages.append(f"{outside} resource(s) lie in no school district (outside the city or in water)")
        rows = []
        for r, district_id in zip(frame.itertuples(), district_ids):
            area = optional_float(r.area_m2)
            rows.append({"source_key": r.source_key, "kind": r.kind, "name": (r.name or "")[:200],
                         "address": (r.address or "")[:300], "is_public": bool(r.is_public),
                         "geom": to_geos(r.geometry), "location": to_geos(r.location), "area_m2": area,
                         "city_id": city.id if city else None, "district_id": district_id,
                         "attributes": r.attributes})
        existing = Resource.objects.filter(source_key__in=[row["source_key"] for row in rows])
        scope = Resource.objects.filter(city=city) if city else Resource.objects.all()
        summary.add("Resource", *self.upsert(Resource, rows, ("source_key",), existing, dataset, scope=scope))


class KsjFacilityImporter(_ResourceImporter):
    product = ""

    def load_frame(self, extent, tolerance):
        return read_ksj_facilities(self.path, self.product, crs=self.crs, extent=extent, tolerance_m=tolerance,
                                   kind_rules=self.options.get("kind_rules"))


class P02Importer(KsjFacilityImporter):
    source, product, default_source_name = "p02", "p02", "国土数値情報 公共施設データ (P02)"


class P13Importer(KsjFacilityImporter):
    source, product, default_source_name = "p13", "p13", "国土数値情報 都市公園データ (P13)"


class P14Importer(KsjFacilityImporter):
    source, product, default_source_name = "p14", "p14", "国土数値情報 福祉施設データ (P14)"


class P29Importer(KsjFacilityImporter):
    source, product, default_source_name = "p29", "p29", "国土数値情報 学校データ (P29)"


class ResourceCsvImporter(_ResourceImporter):
    """A CSV with lat/lon columns; options: lat, lon, name, kind (column), fixed_kind, address, id,
    prefix (of the natural key, ``csv`` by default — not the file name, so that a list downloaded
    again under another name is the same list), kind_labels (dict label → kind), encoding."""

    source = "resource_csv"
    default_source_name = "施設一覧 CSV"

    def load_frame(self, extent, tolerance):
        o = self.options
        return read_points_csv(self.path, lat=o.get("lat", "緯度"), lon=o.get("lon", "経度"), name=o.get("name", "名称"),
                               kind=o.get("kind", "種別"), kind_labels=o.get("kind_labels"),
                               fixed_kind=o.get("fixed_kind"), address=o.get("address", "所在地"),
                               id_column=o.get("id"), prefix=o.get("prefix", CSV_PREFIX), crs=self.crs,
                               encoding=o.get("encoding"), extent=extent, tolerance_m=tolerance)


class OsmImporter(_ResourceImporter):
    source = "osm"
    default_source_name = "OpenStreetMap"

    def load_frame(self, extent, tolerance):
        return read_osm_export(self.path, crs=self.crs, extent=extent, tolerance_m=tolerance)


class VacantHouseImporter(_ResourceImporter):
    source = "vacant_houses"
    dataset_kind = Dataset.Kind.HOUSING
    default_source_name = "空き家 位置一覧"

    def load_frame(self, extent, tolerance):
        o = self.options
        return read_vacant_houses(self.path, lat=o.get("lat", "緯度"), lon=o.get("lon", "経度"),
                                  address=o.get("address", "所在地"), id_column=o.get("id"), crs=self.crs,
                                  extent=extent, tolerance_m=tolerance)


class HousingVacancyImporter(BaseImporter):
    """住宅・土地統計調査 area table → AreaStatistic (area_code × year × variable)."""

    source = "housing_vacancy"
    dataset_kind = Dataset.Kind.HOUSING
    default_source_name = "住宅・土地統計調査 空き家"
    needs_year = True

    def read(self):
        return read_area_table(self.path, columns=self.options.get("columns"), encoding=self.options.get("encoding"))

    def persist(self, dataset, data, summary: ImportSummary) -> None:
        frame = data.frame
        if self.city_code:
            frame = frame.loc[frame.area_code.map(lambda c: in_city(c, self.city_code))]
        rows = [{"area_code": r.area_code, "year": self.year, "variable": r.variable, "area_name": r.area_name,
                 "value": optional_float(r.value), "unit": r.unit,
                 "status": r.status} for r in frame.itertuples()]
        existing = AreaStatistic.objects.filter(year=self.year, area_code__in=list(frame.area_code.unique()))
        scope = AreaStatistic.objects.filter(year=self.year)
        if self.city_code:
            scope = scope.filter(area_code__in=self.ward_codes_of(self.city_code))
        summary.add(f"AreaStatistic {self.year}", *self.upsert(
            AreaStatistic, rows, ("area_code", "year", "variable"), existing, dataset, scope=scope))
