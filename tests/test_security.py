"""Safe by default: DEBUG only when asked for, security headers and a Content-Security-Policy that the
pages keep (no inline scripts, handlers or style attributes; checked in Chromium too), HSTS only over
TLS and its subdomain/preload parts only when asked for, our own error pages without tracebacks, login
rate limiting and an admin for staff only."""
from __future__ import annotations

import json
import re

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.test import RequestFactory
from django.utils import translation

from karte import errorpages
from karte.views import context as views

from .conftest import ROOT, run_manage, subprocess_env
from .test_pages import SAMPLE_DISTRICTS, build_sample_city

PRODUCTION = {"KARTE_MODE": "production", "SECRET_KEY": "k8J#2mZ!qP0vX9rT4wL7yB1nC6sD3fG5hJ8kL0zX2cV4bN6mQ9wE1rT3yU5i",
              "ALLOWED_HOSTS": "karte.example.jp"}


def _settings_of(**env: str):
    """Selected settings as a subprocess with ``env`` sees them, or its one-line refusal."""
    script = ("from django.conf import settings\nimport json\n"
              "print('RESULT', json.dumps({name: getattr(settings, name, None) for name in "
              "['DEBUG', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_HSTS_PRELOAD', "
              "'SECURE_SSL_REDIRECT', 'SESSION_COOKIE_SECURE', 'CSRF_TRUSTED_ORIGINS']}))\n")
    result = run_manage("shell", "-c", script, env=subprocess_env(**env), timeout=120)
    if result.returncode != 0:
        return result.stderr.strip().splitlines()[-1]
    return json.loads(result.stdout.split("RESULT", 1)[1])


# ---------------------------------------------------------------------------------------------
# The environment contract
# ---------------------------------------------------------------------------------------------

def test_debug_is_off_unless_asked_for():
    assert _settings_of()["DEBUG"] is False
    assert _settings_of(DJANGO_DEBUG="1")["DEBUG"] is True
    assert "DJANGO_DEBUG must be 1 or 0" in _settings_of(DJANGO_DEBUG="maybe")
    assert "DJANGO_DEBUG=1 is refused in production" in _settings_of(DJANGO_DEBUG="1", **PRODUCTION)


def test_development_key_serves_loopback_only():
    refusal = _settings_of(ALLOWED_HOSTS="karte.example.jp")
    assert "ALLOWED_HOSTS ['karte.example.jp'] in development mode needs a SECRET_KEY of your own" in refusal
    assert _settings_of(ALLOWED_HOSTS="karte.example.jp", SECRET_KEY="x" * 60)["DEBUG"] is False


def test_secret_key_file(tmp_path):
    key_file = tmp_path / "secret"
    key_file.write_text("f" * 60 + "\n")
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    assert _settings_of(SECRET_KEY_FILE=str(key_file), **env)["DEBUG"] is False
    assert f"SECRET_KEY_FILE {tmp_path / 'none'}: cannot read it" in _settings_of(SECRET_KEY_FILE=str(tmp_path / "none"), **env)


def test_https_and_hsts_follow_the_operator():
    https = _settings_of(**PRODUCTION)
    assert https["SECURE_HSTS_SECONDS"] == 31536000 and https["SECURE_SSL_REDIRECT"] and https["SESSION_COOKIE_SECURE"]
    assert https["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False and https["SECURE_HSTS_PRELOAD"] is False
    assert https["CSRF_TRUSTED_ORIGINS"] == ["https://karte.example.jp"]
    asked = _settings_of(KARTE_HSTS_INCLUDE_SUBDOMAINS="1", KARTE_HSTS_PRELOAD="1", **PRODUCTION)
    assert asked["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True and asked["SECURE_HSTS_PRELOAD"] is True
    assert "KARTE_HSTS_PRELOAD=1 needs KARTE_HSTS_INCLUDE_SUBDOMAINS=1" in _settings_of(KARTE_HSTS_PRELOAD="1", **PRODUCTION)
    plain = _settings_of(KARTE_HTTPS="0", **PRODUCTION)
    assert plain["SECURE_HSTS_SECONDS"] == 0 and not plain["SECURE_SSL_REDIRECT"] and not plain["SESSION_COOKIE_SECURE"]
    assert plain["CSRF_TRUSTED_ORIGINS"] == ["http://karte.example.jp"]


def test_check_deploy_over_plain_http_names_what_is_missing():
    """Clean with TLS (tests/test_foundation.py); over plain HTTP it says exactly what HTTPS would add."""
    result = run_manage("check", "--deploy", env=subprocess_env(KARTE_HTTPS="0", **PRODUCTION), timeout=120)
    found = set(re.findall(r"\(security\.(W\d+)\)", result.stderr + result.stdout))
    assert found == {"W004", "W008", "W012", "W016"}, result.stderr


def test_hsts_header_only_over_tls():
    script = ("from django.test import Client\n"
              "r = Client().get('/healthz', secure=True, HTTP_HOST='karte.example.jp')\n"
              "print('RESULT', r.headers.get('Strict-Transport-Security'))\n")
    header = run_manage("shell", "-c", script, env=subprocess_env(**PRODUCTION)).stdout.split("RESULT", 1)[1].strip()
    assert header == "max-age=31536000"
    asked = run_manage("shell", "-c", script, env=subprocess_env(
        KARTE_HSTS_INCLUDE_SUBDOMAINS="1", KARTE_HSTS_PRELOAD="1", **PRODUCTION)).stdout.split("RESULT", 1)[1].strip()
    assert asked == "max-age=31536000; includeSubDomains; preload"


# ---------------------------------------------------------------------------------------------
# Headers and the Content-Security-Policy
# ---------------------------------------------------------------------------------------------

@pytest.fixture
def sample(db):
    return build_sample_city()


def _csp(response) -> dict[str, list[str]]:
    directives = [part.strip().split() for part in response["Content-Security-Policy"].split(";") if part.strip()]
    return {words[0]: words[1:] for words in directives}


def test_security_headers_on_every_page(client, sample):
    code = SAMPLE_DISTRICTS[0][0]
    for path in ["/", f"/districts/{code}/", "/wards/14131/", "/siting/", "/api/districts/", "/healthz", "/nope/"]:
        response = client.get(path)
        assert response["X-Content-Type-Options"] == "nosniff", path
        assert response["Referrer-Policy"] == "same-origin", path
        assert response["X-Frame-Options"] == "DENY", path
        csp = _csp(response)
        assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"], path
        assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"], path
        assert not any("unsafe" in source for sources in csp.values() for source in sources), path


def test_csp_allows_exactly_the_configured_basemap():
    """The tile hosts in the CSP and the tile URLs the map uses (karte.views.context.TILE_LAYERS) agree."""
    assert set(django_settings.TILE_ORIGINS) == set(views.TILE_LAYERS)
    for name, layer in views.TILE_LAYERS.items():
        assert layer["url"].startswith(django_settings.TILE_ORIGINS[name] + "/")
    img = django_settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"]
    assert img == ["'self'", "data:", django_settings.TILE_ORIGINS[django_settings.KARTE_TILES]]


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.I)


def _inline_code(html: str) -> list[str]:
    return [m.group(0) for pattern in (INLINE_SCRIPT, INLINE_HANDLER, STYLE_ATTRIBUTE) for m in pattern.finditer(html)]


def test_templates_and_scripts_carry_no_inline_code():
    """Web templates (not print/, which WeasyPrint renders and no browser sees) and the pages' scripts:
    nothing a strict CSP would refuse."""
    templates = [p for p in (ROOT / "karte" / "templates").rglob("*.html") if "print" not in p.parts]
    assert len(templates) >= 10
    for path in templates:
        assert _inline_code(path.read_text(encoding="utf-8")) == [], path
    for path in (ROOT / "karte" / "static" / "karte").glob("*.js"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"style=|\son[a-z]+=|eval\(|new Function", text), path


def test_rendered_pages_carry_no_inline_code(client, sample):
    code = SAMPLE_DISTRICTS[0][0]
    for path in ["/", f"/districts/{code}/", "/wards/14131/", f"/siting/?run={sample.run.pk}", "/nope/"]:
        html = client.get(path).content.decode()
        assert _inline_code(html) == [], path
        assert html.count('type="application/json"') == html.count("<script") - html.count("<script src="), path


# ---------------------------------------------------------------------------------------------
# Error pages
# ---------------------------------------------------------------------------------------------

def test_404_page_in_japanese_and_english(client, db):
    response = client.get("/districts/nope/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "ページが見つかりません (404)" in html and "Traceback" not in html
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get("/no/such/page/").content.decode()
    assert "Page not found (404)" in html and 'lang="en"' in html


@pytest.fixture
def failing_home(monkeypatch):
    """The map page raising, as a bug would (the URLconf resolves karte.views.pages.home at request time)."""
    def broken(request):
        raise RuntimeError("secret detail of a bug")

    import karte.urls

    pattern = next(p for p in karte.urls.urlpatterns if getattr(p, "name", None) == "home")
    monkeypatch.setattr(pattern, "callback", broken)


def test_500_page_in_japanese_and_english_without_traceback(client, db, failing_home):
    client.raise_request_exception = False
    response = client.get("/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "サーバーのエラー (500)" in html
    assert "secret detail" not in html and "Traceback" not in html and "RuntimeError" not in html
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "Server error (500)" in client.get("/").content.decode()


def test_500_page_does_not_touch_the_database(db, django_assert_num_queries):
    request = RequestFactory().get("/")
    with django_assert_num_queries(0), translation.override("ja"):
        response = errorpages.server_error(request)
    assert response.status_code == 500 and "サーバーのエラー (500)" in response.content.decode()
    assert "区の一覧" not in response.content.decode()  # the ward menu (a query) is left out


def test_500_page_falls_back_when_its_template_breaks(monkeypatch):
    def broken(name):
        raise ValueError("Missing staticfiles manifest entry for 'karte/karte.css'")

    monkeypatch.setattr(errorpages.loader, "get_template", broken)
    response = errorpages.server_error(RequestFactory().get("/"))
    assert response.status_code == 500 and response.content.decode() == errorpages.FALLBACK


# ---------------------------------------------------------------------------------------------
# Logins: rate limited, admin for staff only
# ---------------------------------------------------------------------------------------------

@pytest.fixture
def staff(db):
    User.objects.create_user("resident", password="resident-pass-123")
    return User.objects.create_user("planner", password="correct-horse-battery", is_staff=True, is_superuser=True)


def _login(client, username, password, address="10.0.0.1"):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password},
                       REMOTE_ADDR=address)


def test_admin_is_for_staff_only(client, staff):
    assert client.get("/admin/").status_code == 302  # to the login page
    refused = _login(client, "resident", "resident-pass-123")
    assert refused.status_code == 200 and refused.context["form"].non_field_errors()  # "… staff account …"
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302
    assert _login(client, "planner", "correct-horse-battery").status_code == 302
    assert client.get("/admin/").status_code == 200


def test_repeated_failed_logins_lock_that_user_from_that_address(client, staff, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(4):
        assert _login(client, "planner", "wrong").status_code == 200
    locked = _login(client, "planner", "wrong")
    assert locked.status_code == 429
    html = locked.content.decode()
    assert "ログインを一時停止しています" in html and "Traceback" not in html
    # Even the right password is refused now, from this address …
    assert _login(client, "planner", "correct-horse-battery").status_code == 429
    # … but a colleague behind the same address, and the same user from elsewhere, can still log in.
    User.objects.create_user("colleague", password="another-good-pass", is_staff=True)
    assert _login(client, "colleague", "another-good-pass").status_code == 302
    client.logout()
    assert _login(client, "planner", "correct-horse-battery", address="10.0.0.2").status_code == 302
