"""PDF downloads of the printable karte: one district, or every district of a ward."""
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from .models import District, Ward
from .printing.pdf import district_pdf, pdf_filename, ward_pdf


def _pdf_response(pdf: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    # RFC 6266: an ASCII fallback plus the Japanese name for browsers that read filename*.
    ascii_name = filename.encode("ascii", "ignore").decode().replace("__", "_") or "karte.pdf"
    response["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return response


def district_karte_pdf(request: HttpRequest, code: str) -> HttpResponse:
    district = get_object_or_404(District.objects.select_related("city", "ward"), code=code)
    return _pdf_response(district_pdf(district), pdf_filename(district=district))


def ward_karte_pdf(request: HttpRequest, code: str) -> HttpResponse:
    ward = get_object_or_404(Ward.objects.select_related("city"), code=code)
    if not District.objects.filter(ward=ward).exists():
        return HttpResponse(f"{ward.name_ja}には地区がありません。", status=404, content_type="text/plain; charset=utf-8")
    return _pdf_response(ward_pdf(ward), pdf_filename(ward=ward))
