"""What the pages show, assembled from :mod:`karte.layers` for the active language: the map's
configuration, a district's karte, a ward's table, the siting page.

Presentation only — labels, glyphs and colours of resource kinds, the basemap, the strings the
scripts show, the URLs they fetch (the public ``/api/``). Every figure comes from ``karte.layers``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from karte import layers
from karte.charts import ageing_trend_svg
from karte.layers import extensions
from karte.models import GATHERING_PLACE_KINDS, City, District, ResourceKind, SitingRun, Ward
from karte.pyramid import population_pyramid_svg

DEFAULT_INDICATOR = "ageing_rate"

# One short glyph per resource kind, so the map never tells kinds apart by colour alone.
KIND_GLYPHS = {
    "civic_hall": "館", "library": "図", "school": "学", "nursery": "保", "children_culture_centre": "子",
    "elderly_welfare_centre": "老", "ikoi_no_ie": "憩", "childcare_support_centre": "育", "welfare_facility": "福",
    "public_facility": "公", "park": "園", "community_hall": "会", "vacant_house": "空", "vacant_shop": "店",
    "cafe": "カ", "public_open_space": "広", "shrine_temple": "社", "farmland": "農", "green_space": "緑",
    "room": "室", "open_space": "場", "shop": "商", "group_circle": "団", "other": "他",
}
# Colours per kind group (ColorBrewer Dark2, distinguishable for most colour-vision types with the glyph).
KIND_COLOURS = {
    "civic_hall": "#1b9e77", "library": "#1b9e77", "children_culture_centre": "#1b9e77",
    "elderly_welfare_centre": "#1b9e77", "ikoi_no_ie": "#1b9e77", "childcare_support_centre": "#1b9e77",
    "community_hall": "#1b9e77", "cafe": "#1b9e77",
    "school": "#7570b3", "nursery": "#7570b3", "welfare_facility": "#7570b3", "public_facility": "#7570b3",
    "park": "#66a61e", "green_space": "#66a61e", "farmland": "#66a61e", "public_open_space": "#66a61e",
    "vacant_house": "#d95f02", "vacant_shop": "#d95f02",
    "shrine_temple": "#a6761d", "room": "#1b9e77", "open_space": "#66a61e", "shop": "#d95f02",
    "group_circle": "#e7298a", "other": "#666666",
}

TILE_LAYERS = {
    "gsi": {
        "url": "https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png",
        "attribution": '<a href="https://maps.gsi.go.jp/development/ichiran.html">地理院タイル</a>',
        "max_zoom": 18,
    },
    "osm": {
        "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "attribution": '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
        "max_zoom": 19,
    },
}


def english() -> bool:
    return (get_language() or "ja").startswith("en")


def language() -> str:
    return get_language() or "ja"


def tile_config() -> dict | None:
    """The basemap chosen by ``settings.KARTE_TILES`` (gsi / osm / none); None draws no tiles."""
    choice = str(getattr(settings, "KARTE_TILES", "gsi") or "none").strip().lower()
    return TILE_LAYERS.get(choice)


def kind_entries(kinds) -> list[dict]:
    """Resource kinds (in vocabulary order) with label, glyph, colour and whether each is a gathering place."""
    kinds = set(kinds)
    return [
        {"code": kind, "label": str(ResourceKind(kind).label), "glyph": KIND_GLYPHS.get(kind, "・"),
         "colour": KIND_COLOURS.get(kind, "#666666"), "gathering": kind in GATHERING_PLACE_KINDS}
        for kind in ResourceKind.values if kind in kinds
    ]


def ui_strings() -> dict[str, str]:
    """Strings the map scripts show, translated here so the scripts need no catalogue of their own."""
    return {
        "district": _("地区"), "ward": _("区"), "city": _("市"), "rank": _("順位"),
        "open_karte": _("カルテを開く"), "no_data": _("データなし"),
        "loading": _("読み込み中…"), "load_failed": _("地図データを読み込めませんでした"),
        "score": _("評価点"), "walk_circle": _("徒歩圏（半径）"), "candidate": _("候補地"),
        "chosen_site": _("選定された候補地"), "newly_covered": _("新たに届く高齢者"),
        "persons": _("人"), "address": _("所在地"), "legend_note": _("区分は市内全地区の値による"),
        "order": _("選定順"), "districts_shown": _("表示中の地区"), "contributed": _("住民の投稿"),
        "small_areas": _("小地域"), "suppressed": _("秘匿（値なし）"),
        "not_small_area": _("この指標は小地域の値がありません（地区の指標）"),
        "area_around": _("この地点の徒歩圏のカルテ"), "selected_areas": _("選んだ小地域"), "vertices": _("頂点"),
        "click_centre": _("地図で中心をクリック"),
        "diverging_note": _("前回の国勢調査からの変化（ポイント）。赤: 悪い方向、青: 良い方向、白に近いほど変化が小さい"),
    }


def map_urls() -> dict[str, str]:
    """Where the map fetches its layers: the public API (one contract for the map and for analysts)."""
    return {
        "districts": reverse("api:districts"),
        "resources": reverse("api:resources"),
        "candidates": reverse("api:candidates"),
        "wards": reverse("api:wards"),
        "siting": reverse("api:siting-latest"),
        "district_page": reverse("district", args=["__code__"]),
        "district_tiles": reverse("tilejson", args=["districts"]),
        "small_areas": reverse("api:small-areas"),
        "area_page": reverse("area"),
    }


CANDIDATES_SHOWN = 50  # the best-scored candidate sites drawn on the city map
RESOURCES_PAGE = 2000  # the API's largest page of resources


def map_layer_urls(indicators: list[dict], kinds: list[dict], *, tiled: bool = False, city: City | None = None) -> dict:
    """The exact requests the city map makes for its layers (so a cache warmed with them is the
    cache the map hits): districts with the offered indicators, the best candidates, resources by
    kind as points (first page; the map follows ``next``), ward lines, the latest siting run — of
    ``city`` when one is chosen among several loaded."""
    codes = ",".join(entry["code"] for entry in indicators)
    urls = map_urls()
    of_city = f"city={city.code}" if city else ""

    def url(base: str, *query: str) -> str:
        parts = [part for part in (*query, of_city) if part]
        return base + ("?" + "&".join(parts) if parts else "")

    return {
        # Drawn from vector tiles when there are many (then never requested as one GeoJSON).
        "districts": None if tiled else url(urls["districts"], f"indicators={codes}" if codes else ""),
        "candidates": url(urls["candidates"], f"limit={CANDIDATES_SHOWN}"),
        "resources": {kind["code"]: url(urls["resources"], f"geometry=point&limit={RESOURCES_PAGE}&kind={kind['code']}")
                      for kind in kinds},
        "wards": url(urls["wards"]),
        "siting": url(urls["siting"]),
    }


# ---------------------------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------------------------

def map_page(indicator: str | None, ward_code: str | None, city_code: str | None = None) -> dict[str, Any]:
    """The map: indicator choices (``indicator`` selected when offered), the city shown when several
    are loaded (``city_code``; all of them when none is chosen), ward filter, layers. Codes that name
    nothing are ignored (the page shows what it can)."""
    indicators = layers.map_indicators(english=english())
    codes = [entry["code"] for entry in indicators]
    if indicator not in codes:
        indicator = DEFAULT_INDICATOR if DEFAULT_INDICATOR in codes else (codes[0] if codes else "")
    cities = list(layers.lookups.cities())
    city = next((c for c in cities if c.code == city_code), None) if len(cities) > 1 else None
    wards = list(layers.lookups.wards(city))
    if ward_code not in {w.code for w in wards}:
        ward_code = ""
    kinds = kind_entries(layers.lookups.resource_kinds_present())
    districts = layers.lookups.districts(city=city)
    district_count = districts.count()
    tiled = district_count > settings.KARTE_MAP_TILES_ABOVE
    config = {
        "urls": map_urls(),
        "layer_urls": map_layer_urls(indicators, kinds, tiled=tiled, city=city),
        "tiles": tile_config(),
        "indicators": indicators,
        "indicator": indicator,
        "kinds": kinds,
        "has_candidates": layers.candidates(city=city).exists(),
        "has_siting_run": layers.siting_runs(published=True, city=city).exists(),
        "city": city.code if city else "",
        "ward": ward_code,
        "strings": ui_strings(),
        "language": language(),
    }
    return {
        "config": config,
        "indicators": indicators,
        "other_indicators": [entry for entry in indicators if not entry["headline"]],
        "selected_indicator": indicator,
        "wards": wards,
        "ward_filter": ward_code,
        "kinds": kinds,
        # A list of every district is a help for a city, not for all of Japan.
        "districts": [] if tiled else list(districts.order_by("city__code", "ward__code", "code")),
        "district_count": district_count,
        "cities": cities,
        "city": city,
        "class_counts": range(3, 8),
    }


def pyramid_svg(pyramid: layers.Pyramid | None) -> str:
    """The population pyramid drawn for the active language ("" when there is none)."""
    if pyramid is None:
        return ""
    title = f"{pyramid.year} (persons)" if english() else f"{pyramid.year}年（人）"
    return population_pyramid_svg(
        pyramid.male, pyramid.female, title=title,
        male_label=_("男"), female_label=_("女"), missing_label=_("灰色の年齢階級はデータなし"),
        earlier_male=pyramid.earlier_male, earlier_female=pyramid.earlier_female,
        earlier_label=(_("枠線: %(year)s年") % {"year": pyramid.earlier_year}) if pyramid.earlier_year else "",
    )


def trend_svg(trend: layers.AgeingTrend | None) -> str:
    """The ageing rate over the censuses and its projections, drawn for the active language."""
    return ageing_trend_svg(trend, title=_("高齢化率の推移と推計（%）"), projected_label=_("推計"))


def district_page(district: District) -> dict[str, Any]:
    """地区カルテ: the printed karte's report with labels in the page's language, and its map layers."""
    catalogue = layers.indicator_catalogue()
    report = layers.district_report(
        district, label=lambda code: layers.indicator_label(catalogue.get(code), code, english=english()))
    kinds = {entry["code"]: entry for entry in kind_entries([kind for kind, _ in report.resource_groups])}
    map_layers = {
        "district": layers.districts_collection(codes=[district.code], indicators=[], catalogue=catalogue),
        "resources": layers.resources_collection(report.resources, point_geometry=True),
        "candidates": layers.candidates_collection(report.candidates),
    }
    # What other apps add (karte.layers.extensions): drawn as labelled markers, listed as sections.
    extra_layers = [{"key": layer.key, "label": layer.label, "glyph": layer.glyph, "colour": layer.colour,
                     "collection": layer.collection} for layer in extensions.district_map_layers(district)]
    return {
        "district": district,
        "rows": report.rows,
        "years": report.years,
        "pyramid_svg": pyramid_svg(report.pyramid),
        "pyramid_year": report.pyramid.year if report.pyramid else None,
        "pyramid_earlier_year": report.pyramid.earlier_year if report.pyramid else None,
        "trend_svg": trend_svg(report.trend),
        "trend": report.trend,
        "earlier_year": report.earlier_year,
        "resources_by_kind": [(kinds[kind], items) for kind, items in report.resource_groups],
        "resource_count": len(report.resources),
        "candidates": report.candidates,
        "sources": report.sources,
        "extension_sections": extensions.district_sections(district),
        "map_config": {
            "tiles": tile_config(), "layers": map_layers, "strings": ui_strings(),
            "kinds": list(kinds.values()), "language": language(), "extra_layers": extra_layers,
            "urls": {"area_page": reverse("area")},
        },
    }


def area_urls(query: dict[str, str]) -> dict[str, str]:
    """The permalink, PDF and exports of an area karte (its area is in the query string)."""
    from urllib.parse import urlencode

    encoded = urlencode(query)
    api = reverse("api:area")
    return {"page": f"{reverse('area')}?{encoded}", "pdf": f"{reverse('area-karte-pdf')}?{encoded}",
            "json": f"{api}?{encoded}", "csv": f"{api}?{encoded}&format=csv", "geojson": f"{api}?{encoded}&format=geojson"}


def area_page(query) -> dict[str, Any]:
    """The karte of any area named in ``query`` (codes / geometry / lon,lat,radius; see
    :func:`karte.layers.parse_area_query`), laid out like a district's."""
    from karte.layers.encoding import geometry_to_geojson
    from karte.models import STORAGE_SRID

    catalogue = layers.indicator_catalogue()
    spec = layers.parse_area_query({name: query.get(name, "") for name in layers.AREA_PARAMETERS})
    report = layers.area_report(
        spec, label=lambda code: layers.indicator_label(catalogue.get(code), code, english=english()))
    kinds = {entry["code"]: entry for entry in kind_entries([kind for kind, _ in report.resource_groups])}
    outline = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name_ja": report.title},
         "geometry": geometry_to_geojson(report.geometry, source_srid=STORAGE_SRID)}]}
    pyramid_total = None
    if report.pyramid is not None:
        pyramid_total = sum(report.pyramid.male.values()) + sum(report.pyramid.female.values())
    return {
        "report": report,
        "rows": report.rows,
        "columns": report.columns,
        "method_label": {"whole": _("小地域の合計"), "area": _("面積按分"),
                         "dasymetric": _("ダシメトリック按分")}[report.method],
        "pyramid_svg": pyramid_svg(report.pyramid),
        "pyramid_total": pyramid_total,
        "resources_by_kind": [(kinds[kind], items) for kind, items in report.resource_groups],
        "resource_count": len(report.resources),
        "candidates": report.candidates,
        "sources": report.sources,
        "urls": area_urls(report.query),
        "map_config": {
            "tiles": tile_config(), "strings": ui_strings(), "kinds": list(kinds.values()), "language": language(),
            "extra_layers": [], "urls": {"area_page": reverse("area")},
            "layers": {"district": outline,
                       "resources": layers.resources_collection(report.resources, point_geometry=True),
                       "candidates": layers.candidates_collection(report.candidates)},
        },
    }


def ward_page(ward: Ward, user=None) -> dict[str, Any]:
    """A ward's districts side by side; ``user``: who asks (staff and facilitators may print the
    whole ward in the background)."""
    from .access import may_run_jobs

    return {**_side_by_side(lambda codes: layers.ward_overview(ward, codes)), "ward": ward,
            "other_wards": layers.lookups.wards(ward.city), "can_run_jobs": user is not None and may_run_jobs(user)}


def city_page(city_code: str, user=None) -> dict[str, Any]:
    """Every district of a city side by side (the 市域 tier; the overview of a 市 without wards);
    its printed karte at once when it is small enough, in the background for staff and facilitators."""
    from karte.printing.pdf import MAX_DISTRICTS_AT_ONCE

    from .access import may_run_jobs

    city = layers.get_city(city_code)
    page = {**_side_by_side(lambda codes: layers.city_overview(city, codes)), "city": city,
            "wards": layers.lookups.wards(city), "can_run_jobs": user is not None and may_run_jobs(user)}
    page["printable_at_once"] = 0 < len(page["table"]) <= MAX_DISTRICTS_AT_ONCE
    return page


def _side_by_side(overview_of: Callable[[list[str]], layers.WardOverview]) -> dict[str, Any]:
    """Districts side by side, headline indicators only (forty columns would be unreadable)."""
    every_indicator = layers.map_indicators(english=english())
    indicators = [entry for entry in every_indicator if entry["headline"]] or every_indicator
    overview = overview_of([entry["code"] for entry in indicators])
    return {"indicators": indicators, "table": overview.table, "ward_row": overview.ward_row,
            "city_row": overview.city_row, "district_total": overview.district_total}


def siting_result(run: SitingRun, sites_layer: dict) -> dict:
    """The run's table: ``sites_layer`` is its :func:`layers.siting_collection` (shown on the map
    too; its properties are copied here, not changed)."""
    record = sites_layer[layers.METADATA_MEMBER]["siting_run"]
    sites = [dict(feature["properties"]) for feature in sites_layer["features"]]
    names = dict(layers.lookups.districts(codes=[s["district_code"] for s in sites if s.get("district_code")])
                 .values_list("code", "name_ja"))
    # run.chosen may carry persons newly within reach (elderly, elderly_alone) besides the weighted
    # gain that the optimisation maximised; show persons where the siting service recorded them.
    persons = {entry.get("resource_id"): entry for entry in (run.chosen or []) if isinstance(entry, dict)}
    for site in sites:
        site["district_name"] = names.get(site.get("district_code"), site.get("district_code"))
        entry = persons.get(site["resource_id"], {})
        site["elderly"] = entry.get("elderly")
        site["elderly_alone"] = entry.get("elderly_alone")
    with_persons = bool(sites) and all(site["elderly"] is not None for site in sites)
    return {
        "record": record,
        "sites": sites,
        "with_persons": with_persons,
        "elderly_reached": sum(site["elderly"] for site in sites) if with_persons else None,
        "elderly_alone_reached": sum(site["elderly_alone"] or 0 for site in sites) if with_persons else None,
        "weighted_gain": (run.covered_after or 0) - (run.covered_before or 0),
    }


def siting_page(form, run: SitingRun | None, error: str = "") -> dict[str, Any]:
    """The siting page: the form (bound or with the run's own parameters), the run's result and map."""
    sites_layer = layers.siting_collection(run) if run else None
    values = {name: form[name].value() for name in form.fields}
    return {
        "form": values,
        "error": error,
        "kinds": kind_entries(ResourceKind.values),
        "wards": layers.lookups.wards(),
        # Several cities loaded: each is a choice of its own (its JIS code), beside the wards.
        "cities": list(layers.lookups.cities()) if layers.lookups.cities().count() > 1 else [],
        "solvers": form.fields["solver"].choices,
        "run": run,
        "result": siting_result(run, sites_layer) if run else None,
        "recent_runs": layers.siting_runs()[:10],
        "map_config": {
            "tiles": tile_config(), "strings": ui_strings(), "language": language(),
            "layers": {"sites": sites_layer} if run else {},
            "walk_distance_m": run.walk_distance_m if run else None,
            "urls": {"wards": reverse("api:wards")},
        },
    }


__all__ = ["map_page", "district_page", "area_page", "ward_page", "siting_page", "tile_config", "kind_entries", "ui_strings"]


def data_report_page(city_code: str) -> dict[str, Any]:
    """How far to trust a city's figures (:func:`karte.layers.data_report`), for the page linked
    from every karte's sources."""
    city = layers.get_city(city_code)
    report = layers.data_report(city)
    return {"city": city, "report": report,
            "districts": [{"trust": d, "imputed_65": d.uncertain_share.get("pop_65_plus")} for d in report.districts]}

