"""The database as the loaders leave it, in a comparable form: tests take one before and after a
load that must change nothing (a refused file, a dry run, a failed download)."""
from __future__ import annotations

from django.apps import apps

from karte.models import (AreaStatistic, CensusArea, CensusAreaCorrespondence, CensusFigure, City, Dataset, District,
                          RasterLayer, Resource, Ward)

MODELS = (City, Ward, District, CensusArea, CensusFigure, CensusAreaCorrespondence, Resource, AreaStatistic,
          RasterLayer, Dataset)


def snapshot() -> dict:
    """Everything the loaders write, in a comparable form."""
    return {
        "counts": {m.__name__: m.objects.count() for m in MODELS},
        "all_models": {m.__name__: m.objects.count() for m in apps.get_app_config("karte").get_models()},
        "figures": sorted(CensusFigure.objects.values_list("key_code", "census_year", "variable", "value", "status",
                                                           "merged_into", "dataset_id")),
        "districts": sorted((d.code, d.ward_id, d.name_romaji, d.geom.wkb.hex()) for d in District.objects.all()),
        "resources": sorted((r.source_key, r.kind, r.district_id, r.is_public, r.location.wkt)
                            for r in Resource.objects.all()),
        "areas": sorted((a.key_code, a.census_year, a.hcode, round(a.area_m2, 3)) for a in CensusArea.objects.all()),
        "stats": sorted(AreaStatistic.objects.values_list("area_code", "year", "variable", "value", "status")),
        "datasets": sorted(Dataset.objects.values_list("id", "checksum", "rows_created", "rows_updated")),
    }


