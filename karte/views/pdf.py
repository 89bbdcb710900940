"""PDF downloads of the printable karte: one district, or every district of a ward."""
from __future__ import annotations

from urllib.parse import quote

from django.http import HttpRequest, HttpResponse

from karte import layers
from karte.httpcache import cached_read
from karte.printing.pdf import district_pdf, pdf_filename, ward_pdf

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
