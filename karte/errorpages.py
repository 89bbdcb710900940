"""Karte's 500 page. Django's default handler renders ``500.html`` and lets a failure of that rendering
escape; a 500 may come from a missing static manifest or a broken template, which would break the
error page too. This handler never reads the database or the request (500.html overrides the blocks
of base.html that would) and falls back to a fixed bilingual page; the traceback goes to the log only.
"""
from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponseServerError
from django.template import loader

logger = logging.getLogger(__name__)

FALLBACK = (
    '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><title>サーバーのエラー / Server error</title>'
    '</head><body><h1>サーバーのエラー (500)</h1><p>ページを表示できませんでした。時間をおいてもう一度お試しください。</p>'
    '<h1 lang="en">Server error (500)</h1><p lang="en">The page could not be shown. Please try again later.</p>'
    '<p><a href="/">地図 / Map</a></p></body></html>'
)


def server_error(request: HttpRequest) -> HttpResponseServerError:
    try:
        body = loader.get_template("500.html").render()
    except Exception:  # noqa: BLE001 — whatever broke the page may break this one; answer anyway
        logger.exception("500.html could not be rendered; answered the fixed page")
        body = FALLBACK
    return HttpResponseServerError(body)
