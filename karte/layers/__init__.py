"""Karte's read side: everything that turns stored data into what pages, the API, printed karte and
exports show.

- :mod:`.frames` — the database as GeoDataFrames (storage CRS), what the compute step and notebooks read;
- :mod:`.errors` — the one bad-input error (:class:`ParameterError`, HTTP status and parameter name);
- :mod:`.encoding` — GeoJSON / CSV / JSON encoding, pure (no Django);
- :mod:`.lookups` — codes to cities, wards, districts, siting runs; resource and candidate querysets;
- :mod:`.provenance` — the datasets behind a figure;
- :mod:`.catalogue` — the indicator catalogue and class breaks (via ``spatial.compare``);
- :mod:`.collections` — the layers as FeatureCollections (districts, wards, resources, candidates, sites);
- :mod:`.report` — what one district's karte shows, and a ward's districts side by side;
- :mod:`.area` — the karte of any area (small areas picked, a drawn polygon, a walking circle);
- :mod:`.small_areas` — the census small areas as a map layer with their own ratios;
- :mod:`.change` — the previous census of any set of small areas, through the correspondence table;
- :mod:`.placenames` (pure) and :mod:`.search` — the place search;
- :mod:`.extensions` — what other apps add to a karte (sections, map layers, published layers);
- :mod:`.trust` — how far to trust a city's figures (coverage, suppressed cells, splits, sources).

It reads the models (and the spatial core's registry and classifier) and is read by ``karte.views``,
``karte.api``, ``karte.printing`` and ``karte.export``; it imports none of those.
"""
from .area import (
    AREA_PARAMETERS,
    AreaReport,
    AreaSpec,
    area_csv_rows,
    area_feature,
    area_record,
    area_report,
    parse_area_json,
    parse_area_query,
)
from .small_areas import SMALL_AREA_INDICATORS, small_areas_collection
from .catalogue import (
    CLASS_SCHEMES,
    MAP_INDICATOR_ORDER,
    catalogue_payload,
    indicator_breaks,
    default_indicator_codes,
    indicator_catalogue,
    indicator_label,
    map_indicators,
    stored_indicator_codes,
)
from .collections import (
    LAYERS,
    MAX_SIMPLIFY_M,
    build_collection,
    candidates_collection,
    districts_collection,
    kind_label,
    resources_collection,
    siting_collection,
    siting_run_record,
    wards_collection,
)
from .trust import DataReport, data_report
from .encoding import (
    METADATA_MEMBER,
    clean_number,
    collection_to_csv,
    frame_to_feature_collection,
    rows_collection,
    to_json,
)
from .errors import NotFoundError, ParameterError
from .lookups import (
    candidates,
    default_walk_distance,
    get_city,
    get_district,
    get_ward,
    resolve_city,
    resolve_ward,
    resources,
    siting_run,
    siting_runs,
    validate_kinds,
)
from .provenance import dataset_record, sources_for
from .report import (
    AgeingTrend,
    DistrictReport,
    IndicatorRow,
    Pyramid,
    WardOverview,
    district_report,
    report_record,
    city_overview,
    ward_overview,
)

__all__ = [
    "AREA_PARAMETERS", "AreaReport", "AreaSpec", "area_csv_rows", "area_feature", "area_record", "area_report",
    "parse_area_json", "parse_area_query", "SMALL_AREA_INDICATORS", "small_areas_collection",
    "AgeingTrend", "CLASS_SCHEMES", "LAYERS", "MAP_INDICATOR_ORDER", "MAX_SIMPLIFY_M", "METADATA_MEMBER",
    "DataReport", "DistrictReport", "IndicatorRow", "NotFoundError", "ParameterError", "Pyramid", "WardOverview",
    "build_collection", "candidates", "candidates_collection", "catalogue_payload", "indicator_breaks",
    "clean_number", "collection_to_csv", "data_report", "dataset_record", "default_indicator_codes", "default_walk_distance",
    "district_report", "districts_collection", "frame_to_feature_collection", "get_city", "get_district", "get_ward",
    "indicator_catalogue", "indicator_label", "kind_label", "map_indicators", "resolve_city", "resolve_ward",
    "report_record", "resources", "resources_collection", "rows_collection", "siting_collection", "siting_run", "siting_run_record",
    "siting_runs", "sources_for", "stored_indicator_codes", "to_json", "validate_kinds", "city_overview", "ward_overview",
    "wards_collection",
]
