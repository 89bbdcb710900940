"""A4 PDFs of district karte: one district, a whole ward or a whole city (with a cover page listing
its districts), or any area."""
from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field

from django.template.loader import render_to_string
from django.utils import timezone, translation
from weasyprint import HTML

from karte.layers import AreaReport, DistrictReport, NotFoundError, ParameterError, district_report, lookups
from karte.layers.extensions import DistrictSection, district_sections
from karte.models import City, District, Ward

from karte.charts import ageing_trend_svg

from .maps import area_map_png, district_map_png


@dataclass
class KartePage:
    report: DistrictReport
    map_src: str
    pyramid_svg: str
    trend_svg: str = ""
    sections: list[DistrictSection] = field(default_factory=list)  # added by other apps (extensions)


def _pyramid_svg(report: DistrictReport) -> str:
    if report.pyramid is None:
        return ""
    from karte.pyramid import population_pyramid_svg  # shared with the district page

    pyramid = report.pyramid
    return population_pyramid_svg(
        pyramid.male, pyramid.female, title=f"{pyramid.year}年（人）",
        earlier_male=pyramid.earlier_male, earlier_female=pyramid.earlier_female,
        earlier_label=f"枠線: {pyramid.earlier_year}年" if pyramid.earlier_year else "",
    )


def _page(district: District) -> KartePage:
    report = district_report(district)
    png = district_map_png(district, report.resources, [c.resource for c in report.candidates])
    return KartePage(
        report=report,
        map_src="data:image/png;base64," + base64.b64encode(png).decode("ascii"),
        pyramid_svg=_pyramid_svg(report),
        trend_svg=ageing_trend_svg(report.trend, title="高齢化率の推移と推計（%）", width=380, height=140),
        sections=district_sections(district),
    )


# A city printed in one request (a link on its page): more districts take longer than a server
# thread may run, so they are printed as a background job (``karte.tasks.city_pdf_task``).
MAX_DISTRICTS_AT_ONCE = 40


@dataclass
class Cover:
    """The cover page of a batch: whose districts (a ward of a city, or a city) they are."""

    name: str
    parent: str = ""


def render_karte_pdf(districts: list[District], *, cover: Cover | None = None, edition: str = "",
                     progress: Callable[[int, int], None] | None = None) -> bytes:
    """Renders the karte of ``districts`` as one A4 PDF; with a ``cover`` (a ward's, a city's), a cover page lists them;
    ``edition`` (e.g. 「第2版 2025年3月1日」) is printed in place of the printing date;
    ``progress(done, total)`` is called after each district's page is gathered.

    The printed karte is a Japanese document for the workshop table, whatever language the
    requesting page was in, so labels (resource kinds, map legend) are rendered in Japanese."""
    with translation.override("ja"):
        pages = []
        for district in districts:
            pages.append(_page(district))
            if progress is not None:
                progress(len(pages), len(districts))
        title = f"{cover.name} 地区カルテ" if cover else f"{districts[0].name_ja} 地区カルテ"
        html = render_to_string(
            "karte/print/karte.html",
            {"pages": pages, "cover": cover, "title": title, "printed_on": timezone.localdate(), "edition": edition},
        )
    return HTML(string=html).write_pdf()


def district_pdf(district: District, *, edition: str = "") -> bytes:
    return render_karte_pdf([district], edition=edition)


def ward_pdf(ward: Ward, progress: Callable[[int, int], None] | None = None) -> bytes:
    districts = list(lookups.districts(ward=ward))
    if not districts:
        raise NotFoundError(f"{ward.name_ja}には地区がありません (ward {ward.code} has no districts to print)", "code")
    return render_karte_pdf(districts, cover=Cover(ward.name_ja, ward.city.name_ja), progress=progress)


def city_pdf(city: City, progress: Callable[[int, int], None] | None = None, *, at_once: bool = False) -> bytes:
    """Every district of ``city`` with a cover page (what a city without wards prints instead of a
    ward's batch). ``at_once``: printed within one request, so at most :data:`MAX_DISTRICTS_AT_ONCE`."""
    districts = list(lookups.districts(city=city))
    if not districts:
        raise NotFoundError(f"{city.name_ja}には地区がありません (city {city.code} has no districts to print)", "code")
    if at_once and len(districts) > MAX_DISTRICTS_AT_ONCE:
        raise ParameterError(f"{city.name_ja} has {len(districts)} districts, more than {MAX_DISTRICTS_AT_ONCE} "
                             "printed at once: print its wards, or start the city's batch in the background", "code")
    return render_karte_pdf(districts, cover=Cover(city.name_ja), progress=progress)


def area_pdf(report: AreaReport) -> bytes:
    """The A4 karte of any area (:func:`karte.layers.area_report`), laid out as a district's."""
    from django.contrib.gis.geos import GEOSGeometry

    from karte.models import STORAGE_SRID
    from karte.pyramid import population_pyramid_svg

    with translation.override("ja"):
        geom = GEOSGeometry(report.geometry.wkt, srid=STORAGE_SRID)
        png = area_map_png(geom, report.city, report.resources, [c.resource for c in report.candidates],
                           name=report.title)
        pyramid = "" if report.pyramid is None else population_pyramid_svg(
            report.pyramid.male, report.pyramid.female, title=f"{report.pyramid.year}年（人）")
        html = render_to_string("karte/print/area.html", {
            "report": report, "title": f"{report.title} カルテ", "printed_on": timezone.localdate(),
            "map_src": "data:image/png;base64," + base64.b64encode(png).decode("ascii"), "pyramid_svg": pyramid,
        })
    return HTML(string=html).write_pdf()


def pdf_filename(district: District | None = None, ward: Ward | None = None, area: AreaReport | None = None,
                 city: City | None = None) -> str:
    """A file name a facilitator recognises, e.g. ``karte_14131_川崎区.pdf``."""
    date = timezone.localdate().strftime("%Y%m%d")
    if area is not None:
        return f"karte_area_{area.city.code}_{date}.pdf"
    if district is not None:
        return f"karte_{district.code}_{district.name_ja}_{date}.pdf"
    if city is not None:
        return f"karte_{city.code}_{city.name_ja}_{date}.pdf"
    assert ward is not None
    return f"karte_{ward.code}_{ward.name_ja}_{date}.pdf"


__all__ = ["MAX_DISTRICTS_AT_ONCE", "Cover", "area_pdf", "city_pdf", "district_pdf", "ward_pdf", "render_karte_pdf",
           "pdf_filename"]
