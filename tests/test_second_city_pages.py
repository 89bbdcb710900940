"""What a user of the second demo city (松本市 20202, a 市 without wards) sees: the karte page, the
printed karte and the API compare district and city only (no ward column, no empty 区 heading);
candidates, siting and the map follow a ``city``; the data report page is linked from the karte's
sources. The first city's pages are tested throughout the rest of the suite."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from django.test import Client

from karte.candidates import score_all_candidates
from karte.models import CandidateSite, City, District, IndicatorValue
from karte.siting import run_siting

from .test_pages import build_sample_city

CITY = "20202"


def _indicator_header(html: str) -> str:
    return re.search(r'<table class="data indicators" id="indicator-table">.*?</thead>', html, re.S).group(0)


def _busiest() -> District:
    return max(District.objects.filter(city__code=CITY), key=lambda d: (d.resources.count(), d.code))


def test_the_karte_page_compares_district_and_city_only(second_city_db, db, client):
    district = _busiest()
    html = client.get(f"/districts/{district.code}/").content.decode()
    header = _indicator_header(html)
    assert "松本市" in header and "区" not in header.replace("地区", "")
    assert "指標（地区・市の比較）" in html
    ageing = IndicatorValue.objects.get(tier="district", area_code=district.code, indicator="ageing_rate", year=2020)
    row = re.search(r'<tr data-indicator="ageing_rate">.*?</tr>', html, re.S).group(0)
    # indicator, unit, district, city, rank, source: one value cell per tier, no empty ward cell.
    assert len(re.findall(r'<td class="num', row)) == 3
    assert f"{ageing.value:.1f}" in row
    assert f'href="/cities/{CITY}/data/"' in html


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils missing (make test installs it)")
def test_the_printed_karte_has_no_ward_column(second_city_db, db, client, tmp_path):
    district = _busiest()
    response = client.get(f"/districts/{district.code}/karte.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = tmp_path / "karte.pdf"
    pdf.write_bytes(response.content)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert district.name_ja in text and "松本市" in text
    assert "地域・市域の比較" in text
    header = next(line for line in text.splitlines() if "単位" in line and "地域" in line)
    assert "市域" in header and "区域" not in header


def test_the_api_gives_no_ward_and_follows_the_city(second_city_db, db):
    api = Client()
    districts = api.get(f"/api/districts/?city={CITY}&indicators=ageing_rate").json()
    assert len(districts["features"]) == 9
    assert {f["properties"]["ward_code"] for f in districts["features"]} == {None}
    assert api.get(f"/api/wards/?city={CITY}").json()["features"] == []
    # Candidates of this city only, once another city with candidates is loaded beside it.
    other = build_sample_city()
    assert CandidateSite.objects.filter(resource__city=other.city).exists()
    candidates = api.get(f"/api/candidates/?city={CITY}&limit=1000").json()
    codes = set(District.objects.filter(city__code=CITY).values_list("code", flat=True))
    assert candidates["features"] and all(f["properties"]["district_code"] in codes | {None}
                                          for f in candidates["features"])
    assert candidates["karte:metadata"]["city_code"] == CITY
    mine = CandidateSite.objects.filter(resource__city__code=CITY, walk_distance_m=500).count()
    assert len(candidates["features"]) == mine
    bad = api.get("/api/candidates/?city=99999")
    assert bad.status_code == 400 and bad.json()["parameter"] == "city"


def test_siting_in_a_city_without_wards_and_its_latest_run_by_city(second_city_db, db):
    city = City.objects.get(code=CITY)
    if not CandidateSite.objects.filter(resource__city=city).exists():
        score_all_candidates(city)
    run = run_siting(city, k=2, solver="greedy")
    run.published = True
    run.save()
    assert run.ward is None and 1 <= len(run.chosen) <= 2
    other = build_sample_city()  # a newer published run of another city
    latest = Client().get(f"/api/siting/latest/?city={CITY}").json()
    assert latest["karte:metadata"]["siting_run"]["id"] == run.pk
    assert [f["properties"]["resource_id"] for f in latest["features"]] == [c["resource_id"] for c in run.chosen]
    assert Client().get("/api/siting/latest/").json()["karte:metadata"]["siting_run"]["id"] == other.run.pk
    latest_other = Client().get(f"/api/siting/latest/?city={other.city.code}").json()
    assert latest_other["karte:metadata"]["siting_run"]["id"] == other.run.pk


def test_the_map_offers_each_city_and_shows_the_chosen_one(second_city_db, db):
    sample = build_sample_city()
    page = Client().get("/").content.decode()
    assert 'id="city-select"' in page and f'value="{CITY}"' in page and f'value="{sample.city.code}"' in page
    chosen = Client().get(f"/?city={CITY}").content.decode()
    config = re.search(r'<script id="karte-map-config" type="application/json">(.*?)</script>', chosen, re.S).group(1)
    assert f"city={CITY}" in config and sample.districts[0].code not in chosen
    assert all(f'href="/districts/{code}/"' in chosen
               for code in District.objects.filter(city__code=CITY).values_list("code", flat=True))
    # A city without wards hides the ward filter and the ward lines.
    assert re.search(r'<div class="field" hidden>\s*<label for="ward-select">', chosen)
    # An unknown city shows every city, as without the parameter.
    assert Client().get("/?city=<b>").status_code == 200


def test_the_data_report_page(second_city_db, db, client):
    response = client.get(f"/cities/{CITY}/data/")
    html = response.content.decode()
    assert response.status_code == 200 and "データの信頼性" in html and "松本市" in html
    rows = re.findall(r'<tr data-district="([^"]+)">', html)
    assert sorted(rows) == sorted(District.objects.filter(city__code=CITY).values_list("code", flat=True))
    assert "地区にまたがる小地域" in html and re.search(r"国勢調査|境界", html)
    assert client.get("/cities/99999/data/").status_code == 404
    english = Client()
    english.get("/language/?language=en&next=/")
    assert "How far to trust the figures" in english.get(f"/cities/{CITY}/data/").content.decode()


def test_the_siting_form_offers_each_whole_city(second_city_db, db, client):
    from django.contrib.auth.models import User

    from karte.models import SitingRun

    build_sample_city()
    city = City.objects.get(code=CITY)
    if not CandidateSite.objects.filter(resource__city=city).exists():
        score_all_candidates(city)
    client.force_login(User.objects.create_user("planner-m", password="x-planner-pass", is_staff=True))
    page = client.get("/siting/").content.decode()
    assert f'<option value="{CITY}"' in page and '<option value="14130"' in page
    kinds = sorted(set(CandidateSite.objects.filter(resource__city=city).values_list("resource__kind", flat=True)))
    response = client.post("/siting/", {"kinds": kinds, "walk_distance_m": "500", "k": "2", "solver": "greedy",
                                        "ward": CITY})
    assert response.status_code == 302, response.content.decode()[:500]
    run = SitingRun.objects.order_by("-pk").first()
    assert run.city == city and run.ward is None
    bad = client.post("/siting/", {"kinds": kinds, "walk_distance_m": "500", "k": "2", "solver": "greedy",
                                   "ward": "99999"})
    assert bad.status_code == 400 and "その区は見つかりません" in bad.content.decode()


def test_the_city_page_sets_every_district_side_by_side(second_city_db, db, client):
    html = client.get(f"/cities/{CITY}/").content.decode()
    rows = re.findall(r'<tr data-code="([^"]+)">', html)
    assert sorted(rows) == sorted(District.objects.filter(city__code=CITY).values_list("code", flat=True))
    city_row = re.search(r'<tfoot>(.*?)</tfoot>', html, re.S).group(1)
    assert city_row.count('<tr class="summary">') == 1 and "松本市" in city_row  # no ward row
    ageing = IndicatorValue.objects.get(tier="city", area_code=CITY, indicator="ageing_rate", year=2020)
    assert f"{ageing.value:.1f}" in city_row
    assert f'href="/cities/{CITY}/"' in html  # the navigation leads here
    assert client.get("/cities/99999/").status_code == 404


def _pdf_text(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


def test_a_city_without_wards_prints_every_district_behind_a_cover(second_city_db, db, client, tmp_path, artifacts_dir):
    districts = list(District.objects.filter(city__code=CITY).order_by("code"))
    assert f'href="/cities/{CITY}/karte.pdf"' in client.get(f"/cities/{CITY}/").content.decode()
    response = client.get(f"/cities/{CITY}/karte.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert CITY in response["Content-Disposition"]
    pdf = tmp_path / "city.pdf"
    pdf.write_bytes(response.content)
    shutil.copy(pdf, artifacts_dir / "karte_city_20202.pdf")
    pages = _pdf_text(pdf).split("\f")
    cover = pages[0]
    assert "松本市" in cover and f"{len(districts)} 地区" in cover and "区域" not in cover
    assert all(d.name_ja in cover for d in districts)
    assert all(any(d.name_ja in page for page in pages[1:]) for d in districts)


def test_a_city_of_more_districts_than_one_request_prints_is_sent_to_the_background(second_city_db, db, client,
                                                                                     monkeypatch):
    from karte.models import bump_data_version
    from karte.printing import pdf

    bump_data_version()  # a new data version: nothing cached from another test answers here
    monkeypatch.setattr(pdf, "MAX_DISTRICTS_AT_ONCE", 2)
    response = client.get(f"/cities/{CITY}/karte.pdf")
    assert response.status_code == 400 and "background" in response.content.decode()
    assert "/karte.pdf" not in client.get(f"/cities/{CITY}/").content.decode()


def test_staff_print_a_city_in_the_background_and_the_public_may_not(second_city_db, db, client, tmp_path, settings):
    from django.contrib.auth.models import User

    from karte.models import BackgroundJob

    settings.KARTE_JOB_FILES_DIR = tmp_path
    assert "karte-job" not in client.get(f"/cities/{CITY}/").content.decode()
    refused = client.post(f"/cities/{CITY}/karte-job")
    assert refused.status_code == 302 and "/accounts/login/" in refused["Location"]
    assert not BackgroundJob.objects.exists()
    client.force_login(User.objects.create_user("office", password="a-long-passphrase-9", is_staff=True))
    assert f'action="/cities/{CITY}/karte-job"' in client.get(f"/cities/{CITY}/").content.decode()
    response = client.post(f"/cities/{CITY}/karte-job")
    job = BackgroundJob.objects.get(kind="city_pdf")
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.public_id}/view"
    assert job.status == "done"  # immediate mode in the tests
    assert job.result["districts"] == District.objects.filter(city__code=CITY).count()
    path = tmp_path / job.result["file"]
    assert "松本市" in _pdf_text(path).split("\f")[0]
    assert client.post("/cities/99999/karte-job").status_code == 404


def test_print_karte_prints_a_city(second_city_db, db, tmp_path):
    from django.core.management import CommandError, call_command

    out = tmp_path / "city.pdf"
    call_command("print_karte", city=CITY, out=out)
    cover = _pdf_text(out).split("\f")[0]
    assert all(d.name_ja in cover for d in District.objects.filter(city__code=CITY))
    with pytest.raises(CommandError, match="--city: no city with JIS code '99999'"):
        call_command("print_karte", city="99999", out=out)
