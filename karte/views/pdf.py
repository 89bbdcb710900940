"""PDF downloads of the printable karte: one district, every district of a ward or of a small city, or any area."""
from __future__ import annotations

from urllib.parse import quote

from django.http import HttpRequest, HttpResponse

from karte import layers
from karte.httpcache import cached_read
from karte.printing.pdf import area_pdf, city_pdf, district_pdf, pdf_filename, ward_pdf

from .errors import page_errors


def _pdf_response(pdf: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    # RFC 6266: an ASCII fallback plus the Japanese name for browsers that read filename*.
    ascii_name = filename.encode("ascii", "ignore").decode().replace("__", "_") or "karte.pdf"
    response["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return response


@cached_read(shared=True)
@page_errors
def district_karte_pdf(request: HttpRequest, code: str) -> HttpResponse:
    district = layers.get_district(code)
    return _pdf_response(district_pdf(district), pdf_filename(district=district))


@cached_read(shared=True)
@page_errors
def ward_karte_pdf(request: HttpRequest, code: str) -> HttpResponse:
    ward = layers.get_ward(code)
    return _pdf_response(ward_pdf(ward), pdf_filename(ward=ward))


@cached_read(shared=True)
@page_errors
def city_karte_pdf(request: HttpRequest, code: str) -> HttpResponse:
    """Every district of a city (a 市 without wards prints this instead of a ward's batch); a city of
    more districts than one request may print answers 400 and points to the background job."""
    city = layers.get_city(code)
    return _pdf_response(city_pdf(city, at_once=True), pdf_filename(city=city))


@cached_read(shared=True)
@page_errors
def area_karte_pdf(request: HttpRequest) -> HttpResponse:
    """The printed karte of any area (the area in the query string, as on its page)."""
    spec = layers.parse_area_query({name: request.GET.get(name, "") for name in layers.AREA_PARAMETERS})
    report = layers.area_report(spec)
    return _pdf_response(area_pdf(report), pdf_filename(area=report))
