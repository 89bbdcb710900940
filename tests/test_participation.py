"""Participation: workshops, joining with a code, contributions, moderation, the audit trail, editions,
and where approved contributions appear (district page, printed karte, /api/, export, siting).

Security: the role × action matrix (who may do what, including another workshop's facilitator and a
closed workshop), CSRF, the per-participant rate limit, HTML shown as text, length and photo limits,
join codes. ``tests/test_participation_browser.py`` drives the same flow on a phone-sized Chromium.
"""
from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from PIL import Image

from karte.models import CandidateSite, Dataset, Resource
from participation import codes, services
from participation.models import AuditEntry, Contribution, Edition, Immutable, Participant, Workshop
from participation.permissions import FACILITATOR_GROUP, ensure_facilitator_group

from .test_pages import SampleCity, build_sample_city

# Points (WGS84 lon, lat): inside 大師地区 (1413101), inside the city but outside every district, and
# outside the city (the sample city is the square 139.64–139.76 E, 35.50–35.62 N).
INSIDE = (139.705, 35.525)
OUTSIDE_CITY = (139.90, 35.70)
# In 大師地区's north-east census area, beyond walking distance of its civic hall (the one gathering
# place near it), so a ひろば there reaches elderly nobody reaches yet.
UNSERVED = (139.714, 35.534)


@dataclass
class Cast:
    """Everyone the tests act as, around two workshops of the sample city."""

    city: SampleCity
    workshop: Workshop
    other_workshop: Workshop
    facilitator: User
    other_facilitator: User
    staff: User


def make_user(username: str, *, facilitator: bool = False, staff: bool = False) -> User:
    user = User.objects.create_user(username, password="workshop-pass-123", is_staff=staff)
    if facilitator:
        user.groups.add(ensure_facilitator_group())
    return user


def build_cast() -> Cast:
    city = build_sample_city()
    facilitator = make_user("fac-a", facilitator=True)
    other = make_user("fac-b", facilitator=True)
    staff = make_user("staff", staff=True)
    workshop = services.create_workshop(facilitator, district=city.districts[0], title="大師のひろばを考える会",
                                        held_on=date.today(), licence="CC BY 4.0")
    other_workshop = services.create_workshop(other, district=city.districts[2], title="日吉の会",
                                              held_on=date.today(), licence="CC BY-SA 4.0")
    return Cast(city, workshop, other_workshop, facilitator, other, staff)


@pytest.fixture
def cast(db) -> Cast:
    return build_cast()


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters live in the cache, keyed by participant id and address: start each test
    with none (ids repeat across tests as the database is rolled back)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def joined_client(workshop: Workshop, nickname: str = "さくら", show: bool = False) -> Client:
    client = Client()
    response = client.post("/participation/join/", {"code": codes.display(workshop.join_code), "nickname": nickname,
                                                    **({"show_nickname": "on"} if show else {})})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def voice(text: str = "坂が多くて買い物が大変", category: str = "trouble", point=INSIDE) -> dict:
    return {"type": "voice", "voice_category": category, "text": text, "lon": point[0], "lat": point[1]}


def resource(name: str = "喫茶みどり", kind: str = "cafe", could_host: bool = True, point=INSIDE) -> dict:
    data = {"type": "resource", "resource_kind": kind, "name": name, "note": "奥の部屋を貸してくれる",
            "availability": "平日の午後", "lon": point[0], "lat": point[1]}
    if could_host:
        data["could_host"] = "on"
    return data


def submit(client: Client, workshop: Workshop, data: dict):
    return client.post(f"/participation/w/{workshop.pk}/", data)


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# ---------------------------------------------------------------------------------------------
# Join codes
# ---------------------------------------------------------------------------------------------

def test_join_codes_are_unguessable_and_unambiguous():
    assert codes.BITS >= 40
    drawn = {codes.new_code() for _ in range(2000)}
    assert len(drawn) == 2000  # no repeats in a sample (collisions would mean a weak generator)
    assert all(len(code) == 10 and set(code) <= set(codes.ALPHABET) for code in drawn)
    assert not set("0O1IL") & set(codes.ALPHABET)
    assert codes.normalise(" abcde-fghjk ") == "ABCDEFGHJK"
    assert codes.normalise("ABCDE-FGHJ0") == ""  # 0 is not in the alphabet: a mistyped O


def test_joining_binds_a_participant_to_the_session_with_a_nickname_only(cast):
    client = joined_client(cast.workshop, "さくら")
    participant = Participant.objects.get()
    assert participant.nickname == "さくら" and participant.show_nickname is False
    assert client.session["participation"] == {str(cast.workshop.pk): participant.pk}
    assert {f.name for f in Participant._meta.fields} == {"id", "workshop", "nickname", "show_nickname", "joined_at"}
    assert client.get(f"/participation/w/{cast.workshop.pk}/").status_code == 200


def test_a_revoked_code_no_longer_joins_and_the_new_one_does(cast):
    old = cast.workshop.join_code
    response = logged_in(cast.facilitator).post(f"/participation/workshops/{cast.workshop.pk}/revoke-code/")
    assert response.status_code == 302
    cast.workshop.refresh_from_db()
    assert cast.workshop.join_code != old
    refused = Client().post("/participation/join/", {"code": old, "nickname": "x"})
    assert refused.status_code == 400 and "無効になったコード" in refused.content.decode()
    joined_client(cast.workshop)
    entry = AuditEntry.objects.get(action="code_revoked")
    assert old not in json.dumps(entry.before) and entry.actor_user == cast.facilitator


def test_failed_join_attempts_are_rate_limited(cast, settings):
    settings.PARTICIPATION_JOIN_FAILURES_PER_WINDOW = 3
    client = Client()
    for _ in range(3):
        assert client.post("/participation/join/", {"code": "ABCDE-FGHJK", "nickname": "x"}).status_code == 400
    response = client.post("/participation/join/", {"code": codes.display(cast.workshop.join_code), "nickname": "x"})
    assert response.status_code == 400 and "10分ほど待って" in response.content.decode()
    assert not Participant.objects.exists()


# ---------------------------------------------------------------------------------------------
# Contributions: validation, limits, photos
# ---------------------------------------------------------------------------------------------

def test_a_point_outside_the_city_is_refused_with_a_message_and_the_text_kept(cast):
    client = joined_client(cast.workshop)
    response = submit(client, cast.workshop, voice("駅前のベンチが好き", "good", point=OUTSIDE_CITY))
    html = response.content.decode()
    assert response.status_code == 400
    assert "川崎市の外にあります" in html
    assert "駅前のベンチが好き" in html  # the bound form shows what was typed
    response = submit(client, cast.workshop, {**voice(), "lon": "", "lat": ""})
    assert response.status_code == 400 and "地図をタップして" in response.content.decode()
    for lon, lat in (("1e300", "35.5"), ("nan", "35.5"), ("139.7", "-inf"), ("abc", "35.5")):
        response = submit(client, cast.workshop, {**voice(), "lon": lon, "lat": lat})
        assert response.status_code == 400, (lon, lat)
    assert not Contribution.objects.exists()


def test_length_limits_say_the_limit_and_the_length(cast):
    client = joined_client(cast.workshop)
    response = submit(client, cast.workshop, voice("あ" * 401))
    html = response.content.decode()
    assert response.status_code == 400
    assert "400文字以内で入力してください（今は401文字）" in html
    assert not Contribution.objects.exists()


def test_a_type_needs_its_own_fields(cast):
    client = joined_client(cast.workshop)
    response = submit(client, cast.workshop, {"type": "proposal", "lon": INSIDE[0], "lat": INSIDE[1]})
    assert response.status_code == 400
    assert response.content.decode().count("入力してください。") >= 2  # place and activity


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (2400, 1200), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0132] = "2024:05:01 10:00:00"  # DateTime
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (35.0, 31.0, 30.0), 3: "E", 4: (139.0, 42.0, 18.0)})
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def test_photos_are_re_encoded_without_exif_or_gps(cast):
    original = _jpeg_with_gps()
    with Image.open(io.BytesIO(original)) as check:
        assert check.getexif().get_ifd(0x8825)  # the test image does carry a GPS position
    client = joined_client(cast.workshop)
    upload = io.BytesIO(original)
    upload.name = "photo.jpg"
    response = submit(client, cast.workshop, {**voice(), "photo": upload})
    assert response.status_code == 302, response.content.decode()[:800]
    stored = bytes(Contribution.objects.get().photo)
    assert b"Exif" not in stored and b"PhoneMaker" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG"
        assert not image.getexif() and "exif" not in image.info and "icc_profile" not in image.info
        assert max(image.size) == 1600  # scaled down
    # The author sees the photo; the public does not until it is approved.
    contribution = Contribution.objects.get()
    assert client.get(f"/participation/contributions/{contribution.pk}/photo.jpg").status_code == 200
    assert Client().get(f"/participation/contributions/{contribution.pk}/photo.jpg").status_code == 404


def test_photos_that_are_not_images_or_too_large_are_refused_with_a_message(cast, settings):
    client = joined_client(cast.workshop)
    fake = io.BytesIO(b"%PDF-1.4 not an image")
    fake.name = "photo.jpg"
    response = submit(client, cast.workshop, {**voice(), "photo": fake})
    assert response.status_code == 400 and "JPEGかPNGの画像" in response.content.decode()
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, format="GIF")
    gif.seek(0)
    gif.name = "photo.gif"
    assert "GIF は使えません" in submit(client, cast.workshop, {**voice(), "photo": gif}).content.decode()
    settings.PARTICIPATION_PHOTO_MAX_BYTES = 1000
    big = io.BytesIO(_jpeg_with_gps())
    big.name = "big.jpg"
    response = submit(client, cast.workshop, {**voice(), "photo": big})
    assert response.status_code == 400 and "写真が大きすぎます" in response.content.decode()
    assert not Contribution.objects.exists()


def test_png_with_transparency_becomes_a_flat_jpeg(cast):
    client = joined_client(cast.workshop)
    png = io.BytesIO()
    Image.new("RGBA", (40, 30), (0, 0, 0, 0)).save(png, format="PNG")
    png.seek(0)
    png.name = "p.png"
    assert submit(client, cast.workshop, {**voice(), "photo": png}).status_code == 302
    with Image.open(io.BytesIO(bytes(Contribution.objects.get().photo))) as image:
        assert image.format == "JPEG" and image.size == (40, 30) and image.getpixel((5, 5)) == (255, 255, 255)


def test_submissions_are_rate_limited_per_participant_with_a_clear_message(cast, settings):
    settings.PARTICIPATION_SUBMISSIONS_PER_WINDOW = 2
    client = joined_client(cast.workshop)
    assert submit(client, cast.workshop, voice("一つ目")).status_code == 302
    assert submit(client, cast.workshop, voice("二つ目")).status_code == 302
    response = submit(client, cast.workshop, voice("三つ目"))
    html = response.content.decode()
    assert response.status_code == 400 and "投稿が多すぎます" in html and "三つ目" in html
    assert Contribution.objects.count() == 2
    # Another participant has a budget of their own.
    assert submit(joined_client(cast.workshop, "もも"), cast.workshop, voice("別の人")).status_code == 302


# ---------------------------------------------------------------------------------------------
# Moderation and visibility
# ---------------------------------------------------------------------------------------------

def test_pending_is_seen_by_author_and_facilitators_only_then_approved_is_public(cast):
    author = joined_client(cast.workshop)
    assert submit(author, cast.workshop, voice("公園に日陰がほしい", "idea")).status_code == 302
    contribution = Contribution.objects.get()
    assert contribution.status == "pending"
    page = f"/districts/{cast.city.districts[0].code}/"
    assert "公園に日陰がほしい" in author.get(f"/participation/w/{cast.workshop.pk}/").content.decode()
    assert "公園に日陰がほしい" not in Client().get(page).content.decode()
    assert "公園に日陰がほしい" not in joined_client(cast.workshop, "他の人").get(
        f"/participation/w/{cast.workshop.pk}/").content.decode()
    moderation = logged_in(cast.facilitator).get(f"/participation/workshops/{cast.workshop.pk}/").content.decode()
    assert "公園に日陰がほしい" in moderation
    assert Client().get("/api/contributions/").json()["features"] == []

    logged_in(cast.facilitator).post(f"/participation/contributions/{contribution.pk}/moderate/", {"action": "approve"})
    html = Client().get(page).content.decode()
    assert "地域の声" in html and "公園に日陰がほしい" in html and "アイデア" in html
    features = Client().get("/api/contributions/").json()["features"]
    assert [f["properties"]["text"] for f in features] == ["公園に日陰がほしい"]


def test_reject_hides_but_keeps_and_edit_needs_a_reason(cast):
    author = joined_client(cast.workshop)
    submit(author, cast.workshop, voice("田中さんの家がうるさい", "worry"))
    contribution = Contribution.objects.get()
    facilitator = logged_in(cast.facilitator)
    url = f"/participation/contributions/{contribution.pk}/moderate/"
    facilitator.post(url, {"action": "approve"})
    # An edit without a reason is refused; with one it changes the text and records both.
    facilitator.post(url, {"action": "edit", "type": "voice", "voice_category": "worry", "text": "近所の音が気になる",
                           "lon": INSIDE[0], "lat": INSIDE[1], "reason": ""})
    contribution.refresh_from_db()
    assert contribution.text == "田中さんの家がうるさい"
    facilitator.post(url, {"action": "edit", "type": "voice", "voice_category": "worry", "text": "近所の音が気になる",
                           "lon": INSIDE[0], "lat": INSIDE[1], "reason": "個人名を除いた"})
    contribution.refresh_from_db()
    assert contribution.text == "近所の音が気になる"
    entry = AuditEntry.objects.get(action="edited_by_facilitator")
    assert entry.reason == "個人名を除いた" and entry.actor_user == cast.facilitator
    assert entry.before["text"] == "田中さんの家がうるさい" and entry.after["text"] == "近所の音が気になる"
    facilitator.post(url, {"action": "reject", "reason": "地域と関係がない"})
    contribution.refresh_from_db()
    assert contribution.status == "rejected" and Contribution.objects.count() == 1
    assert "近所の音が気になる" not in Client().get(f"/districts/{cast.city.districts[0].code}/").content.decode()
    mine = author.get(f"/participation/w/{cast.workshop.pk}/").content.decode()
    assert "非掲載" in mine and "地域と関係がない" in mine
    assert [a.action for a in AuditEntry.objects.filter(contribution=contribution)] == [
        "submitted", "approved", "edited_by_facilitator", "rejected"]


def test_an_authors_edit_goes_back_to_pending(cast):
    author = joined_client(cast.workshop)
    submit(author, cast.workshop, voice("ベンチがほしい", "idea"))
    contribution = Contribution.objects.get()
    services.approve(contribution, cast.facilitator)
    response = author.post(f"/participation/contributions/{contribution.pk}/edit/", voice("ベンチと日陰がほしい", "idea"))
    assert response.status_code == 302
    contribution.refresh_from_db()
    assert contribution.text == "ベンチと日陰がほしい" and contribution.status == "pending"
    entry = AuditEntry.objects.get(action="edited_by_author")
    assert entry.before["status"] == "approved" and entry.after["status"] == "pending"


# ---------------------------------------------------------------------------------------------
# The audit trail is append-only; nothing is hard-deleted
# ---------------------------------------------------------------------------------------------

def test_audit_entries_and_editions_cannot_be_changed_or_deleted(cast):
    entry = AuditEntry.objects.filter(workshop=cast.workshop).first()
    entry.reason = "changed"
    with pytest.raises(Immutable):
        entry.save()
    with pytest.raises(Immutable):
        entry.delete()
    with pytest.raises(Immutable):
        AuditEntry.objects.filter(pk=entry.pk).update(reason="changed")
    with pytest.raises(Immutable):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).reason == ""
    with pytest.raises(Immutable):
        cast.workshop.delete()
    participant = services.join(cast.workshop, "x", False)
    contribution = services.submit(participant, {"type": "voice", "voice_category": "good", "text": "t",
                                                 "location": _point()})
    with pytest.raises(Immutable):
        contribution.delete()
    edition = services.freeze_edition(cast.workshop, cast.facilitator)
    edition.snapshot = {}
    with pytest.raises(Immutable):
        edition.save()
    with pytest.raises(Immutable):
        Edition.objects.filter(pk=edition.pk).delete()


def _point(lon_lat: tuple[float, float] = INSIDE):
    from django.contrib.gis.geos import Point

    return Point(*lon_lat, srid=4326).transform(6668, clone=True)


def test_every_change_leaves_one_audit_entry_with_who_and_when(cast):
    before = AuditEntry.objects.count()
    author = joined_client(cast.workshop)
    submit(author, cast.workshop, resource())
    contribution = Contribution.objects.get()
    facilitator = logged_in(cast.facilitator)
    for action in ("approve", "verify", "unverify", "reject"):
        facilitator.post(f"/participation/contributions/{contribution.pk}/moderate/", {"action": action})
    facilitator.post(f"/participation/workshops/{cast.workshop.pk}/close/")
    actions = list(AuditEntry.objects.order_by("pk").values_list("action", flat=True)[before:])
    assert actions == ["joined", "submitted", "approved", "host_verified", "host_withdrawn", "rejected",
                       "workshop_closed"]
    assert all(entry.at is not None for entry in AuditEntry.objects.all())


# ---------------------------------------------------------------------------------------------
# Where approved contributions appear
# ---------------------------------------------------------------------------------------------

def _approved_set(cast: Cast) -> list[Contribution]:
    shown = services.join(cast.workshop, "見える名前", True)
    hidden = services.join(cast.workshop, "隠す名前", False)
    items = [
        services.submit(shown, {"type": "voice", "voice_category": "good", "text": "商店街の人が優しい", "location": _point()}),
        services.submit(hidden, {"type": "resource", "resource_kind": "shrine_temple",
                                 "name": "大師の寺の広間", "note": "月曜は空いている", "availability": "月曜",
                                 "could_host": True, "location": _point(UNSERVED)}),
        services.submit(hidden, {"type": "proposal", "place": "旧駄菓子屋", "activity": "子どもと高齢者の将棋の会",
                                 "location": _point()}),
    ]
    for item in items:
        services.approve(item, cast.facilitator)
    return items


def test_api_and_export_carry_the_licence_and_only_agreed_nicknames(cast, client):
    from tests.test_api import validate_against_openapi

    _approved_set(cast)
    response = client.get(f"/api/contributions/?workshop={cast.workshop.pk}")
    validate_against_openapi("/api/contributions/", response)
    collection = response.json()
    meta = collection["karte:metadata"]
    assert meta["licence"] == "CC BY 4.0" and meta["workshops"][0]["title"] == "大師のひろばを考える会"
    nicknames = {f["properties"]["text"]: f["properties"]["nickname"] for f in collection["features"]}
    assert nicknames["商店街の人が優しい"] == "見える名前"
    assert nicknames["月曜は空いている"] is None and "隠す名前" not in response.content.decode()
    csv_text = client.get("/api/contributions/?format=csv&type=voice").content.decode()
    assert "商店街の人が優しい" in csv_text and "CC BY 4.0" in csv_text and "大師の寺の広間" not in csv_text
    assert client.get("/api/contributions/?workshop=abc").status_code == 400
    assert client.get("/api/contributions/?workshop=999999").status_code == 404
    assert client.get("/api/contributions/?type=rumour").status_code == 400
    document = client.get("/api/openapi.json").json()
    assert "/api/contributions/" in document["paths"]


def test_workshop_export_for_the_records_has_every_status_and_no_unagreed_nickname(cast, tmp_path):
    items = _approved_set(cast)
    services.reject(items[2], cast.facilitator, "重複")
    facilitator = logged_in(cast.facilitator)
    collection = json.loads(facilitator.get(f"/participation/workshops/{cast.workshop.pk}/export.geojson").content)
    assert {f["properties"]["status"] for f in collection["features"]} == {"approved", "rejected"}
    assert collection["karte:metadata"]["licence"] == "CC BY 4.0"
    assert "隠す名前" not in json.dumps(collection, ensure_ascii=False)
    csv_response = facilitator.get(f"/participation/workshops/{cast.workshop.pk}/export.csv")
    assert csv_response["Content-Type"].startswith("text/csv") and "重複" in csv_response.content.decode("utf-8-sig")
    assert AuditEntry.objects.filter(action="exported").count() == 2
    # The export command writes the public layer with the same metadata.
    from django.core.management import call_command

    out = tmp_path / "contributions.geojson"
    call_command("export_geojson", "--what", "contributions", "--out", str(out), "--param", f"workshop={cast.workshop.pk}")
    written = json.loads(out.read_text(encoding="utf-8"))
    assert len(written["features"]) == 2 and written["karte:metadata"]["licence"] == "CC BY 4.0"


def test_district_page_shows_voices_by_category_contributed_resources_and_a_map_layer(cast, client):
    _approved_set(cast)
    html = client.get(f"/districts/{cast.city.districts[0].code}/").content.decode()
    assert "地域の声" in html and "良いところ" in html and "商店街の人が優しい" in html
    assert "大師の寺の広間" in html and "住民の投稿" in html and "子どもと高齢者の将棋の会" in html
    config = json.loads(re.search(r'id="karte-district-config" type="application/json">(.*?)</script>', html, re.S).group(1))
    layer = config["extra_layers"][0]
    assert layer["key"] == "contributions" and len(layer["collection"]["features"]) == 3
    # Another district's page shows none of them.
    assert "商店街の人が優しい" not in client.get(f"/districts/{cast.city.districts[2].code}/").content.decode()


def test_html_in_contributions_is_shown_as_text_on_the_page_and_in_the_pdf(cast, client, tmp_path):
    script = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    participant = services.join(cast.workshop, "<b>bold</b>", True)
    item = services.submit(participant, {"type": "voice", "voice_category": "idea", "text": script, "location": _point()})
    services.approve(item, cast.facilitator)
    for url in (f"/districts/{cast.city.districts[0].code}/", f"/participation/workshops/{cast.workshop.pk}/"):
        viewer = logged_in(cast.facilitator) if "workshops" in url else client
        html = viewer.get(url).content.decode()
        assert "<script>alert('x')</script>" not in html and "<img src=x" not in html and "<b>bold</b>" not in html
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    # In the JSON the map reads, "<" is escaped too (json_script), and the popup draws it as text.
    html = client.get(f"/districts/{cast.city.districts[0].code}/").content.decode()
    assert "\\u003Cscript\\u003E" in html
    if shutil.which("pdftotext"):
        pdf = client.get(f"/districts/{cast.city.districts[0].code}/karte.pdf").content
        path = tmp_path / "k.pdf"
        path.write_bytes(pdf)
        text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout
        assert "<script>alert('x')</script>" in text  # printed as the characters typed, not run or dropped


def test_pdf_karte_has_voices_resources_and_the_join_qr(cast, client, artifacts_dir):
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils missing")
    _approved_set(cast)
    pdf = client.get(f"/districts/{cast.city.districts[0].code}/karte.pdf").content
    path = artifacts_dir / "participation_karte.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout
    compact = re.sub(r"\s+", "", text)
    assert "地域の声" in compact and "商店街の人が優しい" in compact and "大師の寺の広間" in compact
    assert re.sub(r"\s+", "", codes.display(cast.workshop.join_code)) in compact
    assert "/participation/join/" in text


def test_freezing_an_edition_keeps_what_it_showed_and_prints_the_same_later(cast, client):
    items = _approved_set(cast)
    response = logged_in(cast.facilitator).post(f"/participation/workshops/{cast.workshop.pk}/freeze/")
    assert response.status_code == 302
    edition = Edition.objects.get()
    assert edition.number == 1 and edition.snapshot["label"].startswith("第1版")
    texts = {c["text"] for c in edition.snapshot["sections"]["voices"]["contributions"]}
    assert "商店街の人が優しい" in texts
    assert any(row["code"] == "ageing_rate" for row in edition.snapshot["report"]["rows"])
    frozen_pdf = bytes(edition.pdf)
    assert frozen_pdf.startswith(b"%PDF")
    # Later changes do not touch the frozen edition.
    services.reject(items[0], cast.facilitator, "後で取り下げ")
    downloaded = client.get(f"/participation/editions/{edition.pk}/karte.pdf").content
    assert downloaded == frozen_pdf
    assert "商店街の人が優しい" in client.get(f"/participation/editions/{edition.pk}.json").content.decode()
    page = client.get(f"/districts/{cast.city.districts[0].code}/").content.decode()
    assert "これまでの版" in page and "第1版" in page
    logged_in(cast.facilitator).post(f"/participation/workshops/{cast.workshop.pk}/freeze/")
    assert list(Edition.objects.order_by("number").values_list("number", flat=True)) == [1, 2]


def test_a_verified_host_becomes_a_candidate_site_of_its_kind(cast):
    from karte.candidates import score_all_candidates
    from karte.siting import run_siting

    items = _approved_set(cast)
    temple = items[1]
    assert not Resource.objects.filter(source_key=temple.karte_source_key).exists()  # approved, not verified
    services.verify_host(temple, cast.facilitator)
    resource_row = Resource.objects.get(source_key=temple.karte_source_key)
    assert resource_row.kind == "shrine_temple" and resource_row.is_public is False
    assert resource_row.district == cast.city.districts[0]
    assert resource_row.dataset.kind == Dataset.Kind.CONTRIBUTED and resource_row.dataset.licence == "CC BY 4.0"
    assert "大師のひろばを考える会" in resource_row.dataset.source_name
    score_all_candidates(cast.city.city, walk_distance_m=500, kinds=["shrine_temple", "vacant_house"])
    candidate = CandidateSite.objects.get(resource=resource_row, walk_distance_m=500)
    assert candidate.score > 0
    run = run_siting(cast.city.city, kinds=["shrine_temple"], k=1)
    assert run.chosen[0]["resource_id"] == resource_row.pk
    # The district page lists it among the district's resources, marked as contributed.
    html = Client().get(f"/districts/{cast.city.districts[0].code}/").content.decode()
    assert re.search(r"大師の寺の広間</li>|大師の寺の広間 <span class=\"contributed-mark\">", html)
    # Withdrawn (or rejected): no longer a resource, and its candidate score goes with it.
    services.reject(temple, cast.facilitator, "貸せなくなった")
    assert not Resource.objects.filter(source_key=temple.karte_source_key).exists()
    assert not CandidateSite.objects.filter(resource_id=resource_row.pk).exists()
    assert Contribution.objects.filter(pk=temple.pk).exists()


def test_verification_needs_an_approved_could_host_resource(cast):
    participant = services.join(cast.workshop, "x", False)
    item = services.submit(participant, {"type": "resource", "resource_kind": "room", "name": "集会室",
                                         "could_host": False, "location": _point()})
    services.approve(item, cast.facilitator)
    with pytest.raises(ValueError):
        services.verify_host(item, cast.facilitator)
    assert not Resource.objects.filter(source_key=item.karte_source_key).exists()


# ---------------------------------------------------------------------------------------------
# Roles × actions
# ---------------------------------------------------------------------------------------------

ROLES = ("anonymous", "participant", "other_participant", "facilitator", "other_facilitator", "staff")
ALLOWED = {
    "create_workshop": {"facilitator", "other_facilitator", "staff"},
    "submit": {"participant"},
    "edit_own": {"participant"},
    "edit_others": set(),
    "approve": {"facilitator", "staff"},
    "reject": {"facilitator", "staff"},
    "edit_with_reason": {"facilitator", "staff"},
    "freeze": {"facilitator", "staff"},
    "revoke_code": {"facilitator", "staff"},
    "export": {"facilitator", "staff"},
}
# On a closed workshop residents can no longer write; facilitators finish moderating and freezing.
CLOSED_ALLOWED = {**ALLOWED, "submit": set(), "edit_own": set()}


def _client_for(role: str, cast: Cast) -> Client:
    if role == "anonymous":
        return Client()
    if role == "participant":
        return joined_client(cast.workshop, "本人")
    if role == "other_participant":
        return joined_client(cast.other_workshop, "よその人")
    return logged_in({"facilitator": cast.facilitator, "other_facilitator": cast.other_facilitator,
                      "staff": cast.staff}[role])


def _state() -> tuple:
    return (Workshop.objects.count(), Contribution.objects.count(), Edition.objects.count(),
            AuditEntry.objects.exclude(action="joined").count(),
            tuple(Workshop.objects.order_by("pk").values_list("join_code", flat=True)),
            tuple(Contribution.objects.order_by("pk").values_list("status", "text", "updated_at")))


def _act(action: str, client: Client, cast: Cast, own: Contribution, others: Contribution):
    w = cast.workshop.pk
    moderate = f"/participation/contributions/{own.pk}/moderate/"
    return {
        "create_workshop": lambda: client.post("/participation/workshops/new/", {
            "district": cast.city.districts[1].code, "title": "新しい会", "held_on": "2030-01-01", "licence": "CC BY 4.0"}),
        "submit": lambda: submit(client, cast.workshop, voice("新しい声")),
        "edit_own": lambda: client.post(f"/participation/contributions/{own.pk}/edit/", voice("本人が直した")),
        "edit_others": lambda: client.post(f"/participation/contributions/{others.pk}/edit/", voice("他人が直した")),
        "approve": lambda: client.post(moderate, {"action": "approve"}),
        "reject": lambda: client.post(moderate, {"action": "reject", "reason": "r"}),
        "edit_with_reason": lambda: client.post(moderate, {**voice("進行役が直した"), "action": "edit", "reason": "誤字"}),
        "freeze": lambda: client.post(f"/participation/workshops/{w}/freeze/"),
        "revoke_code": lambda: client.post(f"/participation/workshops/{w}/revoke-code/"),
        "export": lambda: client.get(f"/participation/workshops/{w}/export.csv"),
    }[action]()


@pytest.mark.parametrize("closed", [False, True], ids=["open", "closed"])
@pytest.mark.parametrize("role", ROLES)
def test_role_action_matrix(db, role, closed):
    cast = build_cast()
    expected = CLOSED_ALLOWED if closed else ALLOWED
    for action, allowed_roles in expected.items():
        client = _client_for(role, cast)  # fresh per action: a participant joins before the workshop closes
        author = (Participant.objects.filter(nickname="本人").latest("pk") if role == "participant"
                  else services.join(cast.workshop, "本人", False))
        own = services.submit(author, {"type": "voice", "voice_category": "idea", "text": "元の声", "location": _point()})
        someone = services.join(cast.workshop, "誰か", False)
        others = services.submit(someone, {"type": "voice", "voice_category": "idea", "text": "誰かの声", "location": _point()})
        if closed:
            cast.workshop.closes_at = timezone.now() - timedelta(minutes=1)  # expired, not just closed by hand
            cast.workshop.save(update_fields=["closes_at"])
        before = _state()
        exports_before = AuditEntry.objects.filter(action="exported").count()
        response = _act(action, client, cast, own, others)
        changed = _state() != before or AuditEntry.objects.filter(action="exported").count() != exports_before
        allowed = role in allowed_roles
        if allowed:
            assert response.status_code in (200, 302) and changed, f"{role} {action}: {response.status_code}"
        else:
            assert not changed, f"{role} must not {action} (closed={closed})"
            assert response.status_code in (302, 403, 404), f"{role} {action}: {response.status_code}"
            if response.status_code == 302:
                assert "/login/" in response["Location"] or "/join/" in response["Location"]
        if closed:
            cast.workshop.closes_at = timezone.now() + timedelta(days=1)
            cast.workshop.save(update_fields=["closes_at"])


def test_joining_a_closed_workshop_is_refused(cast):
    services.close_workshop(cast.workshop, cast.facilitator)
    response = Client().post("/participation/join/", {"code": cast.workshop.join_code, "nickname": "遅刻"})
    assert response.status_code == 400 and "受付は終了" in response.content.decode()
    assert not Participant.objects.exists()


def test_writes_need_the_csrf_token(cast):
    participant_client = Client(enforce_csrf_checks=True)
    page = participant_client.get("/participation/join/")
    token = page.cookies["csrftoken"].value
    assert participant_client.post("/participation/join/", {"code": cast.workshop.join_code, "nickname": "a"}).status_code == 403
    joined = participant_client.post("/participation/join/", {"code": cast.workshop.join_code, "nickname": "a",
                                                              "csrfmiddlewaretoken": token})
    assert joined.status_code == 302
    assert participant_client.post(f"/participation/w/{cast.workshop.pk}/", voice()).status_code == 403
    assert not Contribution.objects.exists()
    token = participant_client.cookies["csrftoken"].value
    assert participant_client.post(f"/participation/w/{cast.workshop.pk}/",
                                   {**voice(), "csrfmiddlewaretoken": token}).status_code == 302
    facilitator = Client(enforce_csrf_checks=True)
    facilitator.force_login(cast.facilitator)
    contribution = Contribution.objects.get()
    assert facilitator.post(f"/participation/contributions/{contribution.pk}/moderate/",
                            {"action": "approve"}).status_code == 403
    assert facilitator.post(f"/participation/workshops/{cast.workshop.pk}/freeze/").status_code == 403
    contribution.refresh_from_db()
    assert contribution.status == "pending" and not Edition.objects.exists()


def test_facilitator_pages_show_the_code_and_qr(cast):
    html = logged_in(cast.facilitator).get(f"/participation/workshops/{cast.workshop.pk}/").content.decode()
    assert codes.display(cast.workshop.join_code) in html and "<svg" in html
    assert logged_in(cast.other_facilitator).get(f"/participation/workshops/{cast.workshop.pk}/").status_code == 403
    assert Client().get(f"/participation/workshops/{cast.workshop.pk}/").status_code == 302
    dashboard = logged_in(cast.other_facilitator).get("/participation/").content.decode()
    assert "日吉の会" in dashboard and "大師のひろばを考える会" not in dashboard
    assert logged_in(make_user("plain")).get("/participation/").status_code == 403


def test_the_facilitator_group_can_run_and_publish_sitings(cast):
    assert cast.facilitator.has_perm("karte.add_sitingrun") and cast.facilitator.has_perm("karte.publish_sitingrun")
    assert not make_user("plain2").has_perm("karte.add_sitingrun")
    assert FACILITATOR_GROUP == "facilitator"


def test_only_what_the_public_karte_shows_changes_the_data_version(cast):
    """Residents joining and submitting leave the cached public pages valid (they never show
    pending work); approving, and an author's edit of what was approved, invalidate them."""
    from karte.models import DataVersion

    def version() -> int:
        return DataVersion.objects.get(pk=1).version

    start = version()
    author = joined_client(cast.workshop)
    submit(author, cast.workshop, voice("ベンチがほしい", "idea"))
    contribution = Contribution.objects.get()
    author.post(f"/participation/contributions/{contribution.pk}/edit/", voice("ベンチと日陰がほしい", "idea"))
    assert version() == start
    services.approve(contribution, cast.facilitator)
    approved = version()
    assert approved > start
    author.post(f"/participation/contributions/{contribution.pk}/edit/", voice("ベンチと花壇がほしい", "idea"))
    assert version() > approved
