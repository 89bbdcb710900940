"""The printed karte: real A4 PDFs checked with poppler (pdftotext, pdffonts, pdfinfo, pdftoppm)."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest
from django.core.management import CommandError, call_command

from karte.models import District, IndicatorValue, ResourceKind, Ward

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils missing (make test installs it)")


def _text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def _busiest_district() -> District:
    """A district with resources and candidates, so the page shows every part."""
    return max(District.objects.select_related("ward", "city"), key=lambda d: (d.resources.count(), d.code))


@pytest.fixture(scope="module")
def district_pdf_path(demo_db, django_db_blocker, tmp_path_factory, artifacts_dir) -> tuple[District, Path]:
    with django_db_blocker.unblock():
        district = _busiest_district()
        out = tmp_path_factory.mktemp("print") / "district.pdf"
        call_command("print_karte", district=district.code, out=out)
    shutil.copy(out, artifacts_dir / "karte_district.pdf")
    return district, out


def test_district_pdf_shows_name_ward_and_stored_ageing_rate(db, district_pdf_path):
    district, pdf = district_pdf_path
    text = _text(pdf)
    ageing = IndicatorValue.objects.filter(
        tier="district", area_code=district.code, indicator="ageing_rate"
    ).order_by("-year").first()
    assert ageing is not None and ageing.value is not None
    assert district.name_ja in text
    assert district.ward.name_ja in text
    assert f"{ageing.value:.1f}" in text
    assert "気づき・メモ" in text
    assert "出典" in text  # the footer names the sources
    assert re.search(r"1 / \d+", text), "page numbers in the footer"


def test_district_pdf_embeds_the_japanese_font_and_is_a4(db, district_pdf_path):
    _, pdf = district_pdf_path
    fonts = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout
    ipa_rows = [line for line in fonts.splitlines() if "IPAexGothic" in line]
    assert ipa_rows, fonts
    # pdffonts columns: name type encoding emb sub uni object ID — every IPAexGothic subset is embedded.
    assert all(line.split()[-5] == "yes" for line in ipa_rows), fonts
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    assert (round(width), round(height)) == (595, 842)  # A4 portrait in points
    assert 1 <= _pages(pdf) <= 2, "one district fits on one or two A4 pages"


def test_district_pdf_page_one_renders_to_png(db, district_pdf_path, artifacts_dir):
    _, pdf = district_pdf_path
    prefix = artifacts_dir / "karte_district_page"
    subprocess.run(["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", str(pdf), str(prefix)], check=True)
    png = next(artifacts_dir.glob("karte_district_page*.png"))
    assert png.stat().st_size > 30_000  # a page with a map, a table and a pyramid, not a blank sheet


def test_pdf_is_japanese_even_when_the_request_was_in_english(db, demo_db, tmp_path):
    """A facilitator who browses in English still prints the Japanese karte: resource kinds in the
    list (and the map legend) are the Japanese labels, not the English translations."""
    from django.utils import translation

    from karte.printing.pdf import district_pdf

    district = District.objects.filter(resources__kind=ResourceKind.PARK).distinct().first()
    assert district is not None
    with translation.override("en"):
        assert str(ResourceKind.PARK.label) == "Park"  # the English catalogue is active
        pdf = tmp_path / "english_request.pdf"
        pdf.write_bytes(district_pdf(district))
    text = _text(pdf)
    assert "公園（" in text
    assert "Park（" not in text


def test_ward_pdf_has_a_cover_and_every_district(db, demo_db, tmp_path, artifacts_dir):
    ward = max(Ward.objects.all(), key=lambda w: (w.districts.count(), w.code))
    districts = list(ward.districts.order_by("code"))
    out = tmp_path / "ward.pdf"
    call_command("print_karte", ward=ward.code, out=out)
    shutil.copy(out, artifacts_dir / "karte_ward.pdf")
    text = _text(out)
    pages = _pages(out)
    assert len(districts) + 1 <= pages <= 2 * len(districts) + 1
    cover = text.split("\f")[0]
    assert ward.name_ja in cover
    assert f"{len(districts)} 地区" in cover
    for district in districts:
        assert district.name_ja in cover
        assert district.name_ja in text.split("\f", 1)[1]


def test_pdf_download_from_the_district_page(client, db, demo_db):
    district = District.objects.select_related("ward").first()
    response = client.get(f"/districts/{district.code}/karte.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert district.name_ja in unquote(disposition.split("filename*=UTF-8''")[1])


def test_pdf_download_of_a_ward(client, db, demo_db):
    ward = Ward.objects.filter(districts__isnull=False).first()
    response = client.get(f"/wards/{ward.code}/karte.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    assert ward.code in response["Content-Disposition"]


def test_unknown_codes_are_refused_clearly(client, db, demo_db, tmp_path):
    assert client.get("/districts/NO-SUCH/karte.pdf").status_code == 404
    assert client.get("/wards/99999/karte.pdf").status_code == 404
    with pytest.raises(CommandError, match="no district with code 'NO-SUCH'"):
        call_command("print_karte", district="NO-SUCH", out=tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()
