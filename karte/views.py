"""The web pages: the city map (/), a district's karte, a ward overview and the ひろば siting.

Views stay thin: they read what the loaders, ``karte.compute`` and ``karte.siting`` stored, pick
labels for the active language and hand the rest to templates. Large map layers are fetched by
the page's JavaScript from ``/map-data/`` (see ``views_map``); only the small layers of one district
or one siting run are inlined as JSON.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from . import geojson
from .models import (
    GATHERING_PLACE_KINDS,
    CandidateSite,
    City,
    District,
    IndicatorValue,
    Resource,
    ResourceKind,
    SitingRun,
    Ward,
)
from .pyramid import population_pyramid_svg
from .printing.report import Pyramid, district_report

# The indicators offered on the map, in the order a facilitator thinks about them; others that
# the database holds follow (census counts are left out: they are inputs, not indicators).
MAP_INDICATOR_ORDER = (
    "ageing_rate", "old_old_share", "elderly_alone_share", "isolation_index", "walk_coverage",
    "walk_coverage_alone", "resources_per_1000_elderly", "vacant_house_density",
    "vacant_houses_per_100_households", "child_share", "dependency_ratio", "apartment_share",
    "park_area_per_capita", "hazard_area_share", "ageing_rate_2028", "ageing_rate_2040",
)
DEFAULT_INDICATOR = "ageing_rate"
SITING_SOLVERS = ("greedy", "exact")

# One short glyph per resource kind, so the map never tells kinds apart by colour alone.
KIND_GLYPHS = {
    "civic_hall": "館", "library": "図", "school": "学", "nursery": "保", "children_culture_centre": "子",
    "elderly_welfare_centre": "老", "ikoi_no_ie": "憩", "childcare_support_centre": "育", "welfare_facility": "福",
    "public_facility": "公", "park": "園", "community_hall": "会", "vacant_house": "空", "vacant_shop": "店",
    "cafe": "カ", "public_open_space": "広", "shrine_temple": "社", "farmland": "農", "green_space": "緑", "other": "他",
}
# Colours per kind group (ColorBrewer Dark2, distinguishable for most colour-vision types with the glyph).
KIND_COLOURS = {
    "civic_hall": "#1b9e77", "library": "#1b9e77", "children_culture_centre": "#1b9e77",
    "elderly_welfare_centre": "#1b9e77", "ikoi_no_ie": "#1b9e77", "childcare_support_centre": "#1b9e77",
    "community_hall": "#1b9e77", "cafe": "#1b9e77",
    "school": "#7570b3", "nursery": "#7570b3", "welfare_facility": "#7570b3", "public_facility": "#7570b3",
    "park": "#66a61e", "green_space": "#66a61e", "farmland": "#66a61e", "public_open_space": "#66a61e",
    "vacant_house": "#d95f02", "vacant_shop": "#d95f02",
    "shrine_temple": "#a6761d", "other": "#666666",
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


# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------

def _english() -> bool:
    return (get_language() or "ja").startswith("en")


def indicator_label(spec: dict | None, code: str) -> str:
    """The indicator's label in the active language (Japanese when no English label exists)."""
    if not spec:
        return code
    if _english() and spec.get("label_en"):
        return spec["label_en"]
    return spec.get("label_ja") or code


def tile_config() -> dict | None:
    """The basemap chosen by ``settings.KARTE_TILES`` (gsi / osm / none); None draws no tiles."""
    choice = str(getattr(settings, "KARTE_TILES", "gsi") or "none").strip().lower()
    return TILE_LAYERS.get(choice)


def map_urls() -> dict[str, str]:
    """Where the map fetches its layers: districts from the public API (the contract), the rest from
    ``/map-data/`` (all resources of a kind unpaginated, ward lines, the latest siting run)."""
    return {
        "districts": reverse("api:districts"),
        "resources": reverse("map-data-resources"),
        "candidates": reverse("map-data-candidates"),
        "wards": reverse("map-data-wards"),
        "siting": reverse("map-data-siting", args=[0]),
        "district_page": reverse("district", args=["__code__"]),
    }


def map_indicators() -> list[dict]:
    """Indicators offered on the map: those with district values stored, in ``MAP_INDICATOR_ORDER``."""
    catalogue = geojson.indicator_catalogue()
    stored = set(
        IndicatorValue.objects.filter(tier=IndicatorValue.Tier.DISTRICT).values_list("indicator", flat=True).distinct()
    )
    derived = set(geojson.default_indicator_codes(stored, catalogue))
    ordered = [c for c in MAP_INDICATOR_ORDER if c in stored] + sorted(derived - set(MAP_INDICATOR_ORDER))
    return [
        {
            "code": code,
            "label": indicator_label(catalogue.get(code), code),
            "unit": (catalogue.get(code) or {}).get("unit") or "",
            "higher_is": (catalogue.get(code) or {}).get("higher_is") or "neutral",
            "headline": code in MAP_INDICATOR_ORDER,
        }
        for code in ordered
    ]


def kind_entries(kinds) -> list[dict]:
    kinds = set(kinds)
    return [
        {"code": kind, "label": str(ResourceKind(kind).label), "glyph": KIND_GLYPHS.get(kind, "・"),
         "colour": KIND_COLOURS.get(kind, "#666666"), "gathering": kind in GATHERING_PLACE_KINDS}
        for kind in ResourceKind.values if kind in kinds
    ]


def _ui_strings() -> dict[str, str]:
    """Strings the map scripts show, translated here so the scripts need no catalogue of their own."""
    return {
        "district": _("地区"), "ward": _("区"), "city": _("市"), "rank": _("順位"),
        "rank_suffix": _("位"), "open_karte": _("カルテを開く"), "no_data": _("データなし"),
        "loading": _("読み込み中…"), "load_failed": _("地図データを読み込めませんでした"),
        "score": _("評価点"), "walk_circle": _("徒歩圏（半径）"), "candidate": _("候補地"),
        "chosen_site": _("選定された候補地"), "newly_covered": _("新たに届く高齢者"),
        "persons": _("人"), "address": _("所在地"), "legend_note": _("区分は市内全地区の値による"),
        "order": _("選定順"), "districts_shown": _("表示中の地区"),
    }


# ---------------------------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------------------------

def home(request: HttpRequest) -> HttpResponse:
    """The city map: a choropleth of one indicator, with resource, candidate and siting layers."""
    indicators = map_indicators()
    codes = [entry["code"] for entry in indicators]
    selected = request.GET.get("indicator")
    if selected not in codes:
        selected = DEFAULT_INDICATOR if DEFAULT_INDICATOR in codes else (codes[0] if codes else "")
    kinds_present = Resource.objects.values_list("kind", flat=True).distinct()
    wards = list(Ward.objects.order_by("code"))
    ward_filter = request.GET.get("ward", "")
    if ward_filter and ward_filter not in {w.code for w in wards}:
        ward_filter = ""
    districts = list(District.objects.select_related("ward").order_by("ward__code", "code"))
    config = {
        "urls": map_urls(),
        "tiles": tile_config(),
        "indicators": indicators,
        "indicator": selected,
        "kinds": kind_entries(kinds_present),
        "has_candidates": CandidateSite.objects.exists(),
        "has_siting_run": SitingRun.objects.exists(),
        "ward": ward_filter,
        "strings": _ui_strings(),
        "language": get_language() or "ja",
    }
    context = {
        "config": config,
        "indicators": indicators,
        "other_indicators": [entry for entry in indicators if not entry["headline"]],
        "selected_indicator": selected,
        "wards": wards,
        "ward_filter": ward_filter,
        "kinds": config["kinds"],
        "districts": districts,
        "cities": City.objects.all(),
        "class_counts": range(3, 8),
    }
    return render(request, "karte/map.html", context)


def _pyramid_svg(pyramid: Pyramid | None) -> tuple[str, int | None]:
    if pyramid is None:
        return "", None
    title = f"{pyramid.year}年（人）" if not _english() else f"{pyramid.year} (persons)"
    svg = population_pyramid_svg(
        pyramid.male, pyramid.female, title=title,
        male_label=_("男"), female_label=_("女"), missing_label=_("灰色の年齢階級はデータなし"),
    )
    return svg, pyramid.year


def district_detail(request: HttpRequest, code: str) -> HttpResponse:
    """地区カルテ: one district's map, indicators against ward and city, pyramid, resources, candidates."""
    district = get_object_or_404(District.objects.select_related("city", "ward", "dataset"), code=code)
    catalogue = geojson.indicator_catalogue()
    # The same report as the printed karte, with indicator labels in the page's language.
    report = district_report(district, label=lambda c: indicator_label(catalogue.get(c) or {}, c))
    rows, years, candidates, resources = report.rows, report.years, report.candidates, report.resources
    pyramid_svg, pyramid_year = _pyramid_svg(report.pyramid)  # the printed karte's pyramid, labelled here
    kinds = {entry["code"]: entry for entry in kind_entries([kind for kind, _ in report.resource_groups])}
    resources_by_kind = [(kinds[kind], items) for kind, items in report.resource_groups]
    layers = {
        "district": geojson.districts_collection(codes=[district.code], indicators=[], catalogue=catalogue),
        "resources": geojson.resources_collection(
            Resource.objects.filter(pk__in=[r.pk for r in resources]), point_geometry=True),
        "candidates": geojson.candidates_collection(
            CandidateSite.objects.filter(pk__in=[c.pk for c in candidates]).order_by("-score", "pk")
        ),
    }
    # Every source once, numbered; each indicator row cites its sources by number.
    sources = report.sources
    number_of = {dataset.pk: number for number, dataset in enumerate(sources, start=1)}
    for row in rows:
        row.source_numbers = sorted(number_of[i] for i in row.dataset_ids if i in number_of)

    context = {
        "district": district,
        "rows": rows,
        "years": years,
        "pyramid_svg": pyramid_svg,
        "pyramid_year": pyramid_year,
        "resources_by_kind": resources_by_kind,
        "resource_count": len(resources),
        "candidates": candidates,
        "sources": sources,
        "map_config": {
            "tiles": tile_config(), "layers": layers, "strings": _ui_strings(),
            "kinds": list(kinds.values()), "language": get_language() or "ja",
        },
    }
    return render(request, "karte/district.html", context)


def ward_detail(request: HttpRequest, code: str) -> HttpResponse:
    """A ward's districts side by side: one sortable row per district, one column per indicator."""
    ward = get_object_or_404(Ward.objects.select_related("city"), code=code)
    districts = list(District.objects.filter(ward=ward).order_by("code"))
    every_indicator = map_indicators()
    # The headline indicators only: forty columns side by side would be unreadable.
    indicators = [entry for entry in every_indicator if entry["headline"]] or every_indicator
    codes = [entry["code"] for entry in indicators]
    values = IndicatorValue.objects.filter(
        tier=IndicatorValue.Tier.DISTRICT, area_code__in=[d.code for d in districts], indicator__in=codes
    ).order_by("year")
    by_district: dict[str, dict[str, IndicatorValue]] = defaultdict(dict)
    for iv in values:  # the latest year wins
        by_district[iv.area_code][iv.indicator] = iv
    upper = IndicatorValue.objects.filter(indicator__in=codes).filter(
        tier__in=[IndicatorValue.Tier.WARD, IndicatorValue.Tier.CITY], area_code__in=[ward.code, ward.city.code]
    ).order_by("year")
    ward_values: dict[str, float | None] = {}
    city_values: dict[str, float | None] = {}
    for iv in upper:
        (ward_values if iv.tier == IndicatorValue.Tier.WARD else city_values)[iv.indicator] = iv.value
    table = [
        {"district": d, "cells": [by_district[d.code].get(code) for code in codes]} for d in districts
    ]
    context = {
        "ward": ward,
        "indicators": indicators,
        "table": table,
        "ward_row": [ward_values.get(code) for code in codes],
        "city_row": [city_values.get(code) for code in codes],
        "district_total": District.objects.filter(city=ward.city).count(),
        "other_wards": Ward.objects.filter(city=ward.city).order_by("code"),
    }
    return render(request, "karte/ward.html", context)


# ---------------------------------------------------------------------------------------------
# Siting
# ---------------------------------------------------------------------------------------------

class SitingFormError(ValueError):
    pass


def _parse_siting_form(data) -> dict:
    """Checked parameters for ``karte.siting.run_siting``; raises SitingFormError with a user message."""
    kinds = [k for k in data.getlist("kinds") if k in ResourceKind.values]
    if not kinds:
        raise SitingFormError(_("候補とする資源の種類を1つ以上選んでください。"))
    try:
        walk = int(data.get("walk_distance_m", "500"))
        k = int(data.get("k", "5"))
    except ValueError:
        raise SitingFormError(_("徒歩距離と箇所数は整数で入力してください。")) from None
    if not 100 <= walk <= 2000:
        raise SitingFormError(_("徒歩距離は100〜2000 mの範囲で入力してください。"))
    if not 1 <= k <= 50:
        raise SitingFormError(_("箇所数は1〜50の範囲で入力してください。"))
    solver = data.get("solver", "greedy")
    if solver not in SITING_SOLVERS:
        raise SitingFormError(_("解法を選んでください。"))
    ward = None
    if data.get("ward"):
        ward = Ward.objects.filter(code=data["ward"]).first()
        if ward is None:
            raise SitingFormError(_("その区は見つかりません。"))
    city = ward.city if ward else City.objects.order_by("code").first()
    if city is None:
        raise SitingFormError(_("データが読み込まれていません。"))
    return {"city": city, "ward": ward, "kinds": kinds, "walk_distance_m": walk, "k": k, "solver": solver}


def _run_siting(params: dict) -> SitingRun:
    from .siting import run_siting  # imported on use: the siting service loads the solver stack

    return run_siting(
        params["city"], ward=params["ward"], kinds=params["kinds"],
        walk_distance_m=params["walk_distance_m"], k=params["k"], solver=params["solver"],
    )


def siting(request: HttpRequest) -> HttpResponse:
    """Choose k ひろば sites: the form posts, the run is stored, and the page shows it (post/redirect/get).

    The run takes seconds (greedy) up to a minute (exact MILP); the page's script shows a busy
    indicator with the elapsed time meanwhile, and a ``fetch`` caller gets JSON with the result URL.
    """
    wants_json = request.headers.get("Accept", "").startswith("application/json")
    form_values: dict[str, Any] = {
        "kinds": _default_candidate_kinds(), "walk_distance_m": 500, "k": 5,
        "solver": "greedy", "ward": "",
    }
    error = ""
    if request.method == "POST":
        form_values = {
            "kinds": request.POST.getlist("kinds"), "walk_distance_m": request.POST.get("walk_distance_m", ""),
            "k": request.POST.get("k", ""), "solver": request.POST.get("solver", "greedy"),
            "ward": request.POST.get("ward", ""),
        }
        try:
            params = _parse_siting_form(request.POST)
            run = _run_siting(params)
        except SitingFormError as exc:
            error = str(exc)
        except ValueError as exc:  # run_siting refuses impossible requests with a ValueError
            error = _("計算できませんでした: %(reason)s") % {"reason": exc}
        else:
            target = f"{reverse('siting')}?run={run.pk}"
            if wants_json:
                return JsonResponse({"run": run.pk, "url": target})
            return redirect(target)
        if wants_json:
            return JsonResponse({"error": error}, status=400)

    run = None
    run_id = request.GET.get("run")
    if run_id:
        if not run_id.isdigit():
            raise Http404("bad run id")
        run = get_object_or_404(SitingRun.objects.select_related("city", "ward"), pk=int(run_id))
        if request.method != "POST":  # the form shows the run's own parameters, to adjust and re-run
            form_values = {
                "kinds": list(run.candidate_kinds or []), "walk_distance_m": run.walk_distance_m, "k": run.k,
                "solver": run.solver, "ward": run.ward.code if run.ward else "",
            }
    sites_layer = geojson.siting_collection(run) if run else None
    result = _siting_result(run, sites_layer) if run else None
    context = {
        "form": form_values,
        "error": error,
        "kinds": kind_entries(ResourceKind.values),
        "wards": Ward.objects.order_by("code"),
        "solvers": [("greedy", _("貪欲法（速い）")), ("exact", _("厳密解（MILP・HiGHS）"))],
        "run": run,
        "result": result,
        "recent_runs": SitingRun.objects.select_related("ward").order_by("-created_at", "-pk")[:10],
        "map_config": {
            "tiles": tile_config(), "strings": _ui_strings(), "language": get_language() or "ja",
            "layers": {"sites": sites_layer} if run else {},
            "walk_distance_m": run.walk_distance_m if run else None,
            "urls": {"wards": reverse("map-data-wards")},
        },
    }
    return render(request, "karte/siting.html", context, status=400 if error else 200)


def _default_candidate_kinds() -> list[str]:
    from .siting import DEFAULT_CANDIDATE_KINDS  # the siting service's own default

    return [str(kind) for kind in DEFAULT_CANDIDATE_KINDS]


def _siting_result(run: SitingRun, sites_layer: dict) -> dict:
    """The run's table: ``sites_layer`` is its :func:`geojson.siting_collection` (shown on the map
    too; its properties are copied here, not changed)."""
    record = sites_layer["karte:metadata"]["siting_run"]
    sites = [dict(feature["properties"]) for feature in sites_layer["features"]]
    names = dict(District.objects.filter(code__in=[s["district_code"] for s in sites if s.get("district_code")])
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
