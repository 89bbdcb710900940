"""Importers of census figures and the KEY_CODE correspondence between vintages."""
from __future__ import annotations

from django.db.models import Q

from karte.models import CensusArea, CensusAreaCorrespondence, CensusFigure, Dataset
from loaders.boundaries import in_city
from loaders.census import read_census_table, read_correspondence

from .base import BaseImporter, ImportSummary, optional_float


class CensusTableImporter(BaseImporter):
    """e-Stat 小地域集計 CSV → CensusFigure (key_code × year × variable). The census year comes
    from the table's declarative mapping; --year must agree. A second vintage adds its own rows
    and never overwrites another year's."""

    source = "census_table"
    dataset_kind = Dataset.Kind.CENSUS_TABLE
    default_source_name = "国勢調査 小地域集計"

    def read(self):
        data = read_census_table(self.path, year=self.year, encoding=self.options.get("encoding"))
        if not self.provenance.get("source_name"):
            self.provenance["source_name"] = f"国勢調査 {data.year} 小地域集計 {data.table.table_id} {data.table.title}"
        return data

    def vintage(self, data) -> int:
        return data.year

    def persist(self, dataset, data, summary: ImportSummary) -> None:
        figures = data.figures
        city = self.city(required=False)
        if city is not None:
            keep = figures["key_code"].str[:5].map(lambda c: in_city(c, city.code))
            figures = figures.loc[keep]
        rows = [{"key_code": r.key_code, "census_year": data.year, "variable": r.variable,
                 "value": optional_float(r.value),
                 "status": r.status, "merged_into": r.merged_into or ""}
                for r in figures.itertuples()]
        existing = CensusFigure.objects.filter(census_year=data.year, variable__in=data.table.variables,
                                               key_code__in=list(figures.key_code.unique()))
        scope = CensusFigure.objects.filter(census_year=data.year, variable__in=data.table.variables)
        if city is not None:
            city_keys = Q()
            for code in self.ward_codes_of(city.code):
                city_keys |= Q(key_code__startswith=code)
            scope = scope.filter(city_keys)
        summary.add(f"CensusFigure {data.year}", *self.upsert(
            CensusFigure, rows, ("key_code", "census_year", "variable"), existing, dataset, scope=scope))
        areas = set(CensusArea.objects.filter(census_year=data.year).values_list("key_code", flat=True))
        if areas:
            orphans = sorted(set(figures.key_code) - areas)
            if orphans:
                summary.messages.append(f"{len(orphans)} KEY_CODE(s) without a {data.year} boundary, e.g. {orphans[0]}")
        summary.facts["table"] = data.table.table_id


class CorrespondenceImporter(BaseImporter):
    source = "census_correspondence"
    dataset_kind = Dataset.Kind.CENSUS_BOUNDARY
    default_source_name = "小地域コード対応表"

    def read(self):
        return read_correspondence(self.path)

    def vintage(self, data) -> int:
        return int(data.frame.new_year.max())

    def persist(self, dataset, data, summary: ImportSummary) -> None:
        table = data.frame
        rows = [{"old_year": int(r.old_year), "old_key_code": r.old_key_code, "new_year": int(r.new_year),
                 "new_key_code": r.new_key_code, "relation": r.relation, "area_share": float(r.area_share)}
                for r in table.itertuples()]
        existing = CensusAreaCorrespondence.objects.filter(old_key_code__in=list(table.old_key_code))
        summary.add("CensusAreaCorrespondence", *self.upsert(
            CensusAreaCorrespondence, rows, ("old_year", "old_key_code", "new_year", "new_key_code"), existing, dataset,
            scope=CensusAreaCorrespondence.objects.all()))
