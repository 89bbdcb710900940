"""Operational endpoints: ``/healthz`` and a background job's status ``/jobs/<id>/`` (JSON, never cached).

``GET /jobs/<public_id>/`` (``public_id``: the job's UUID, which the page that submitted the job got
from ``BackgroundJob.public_id``; ids are not guessable, so the address itself is the permission to
read, as for a private link) answers 200 with::

    {"id": "<uuid>", "kind": "siting", "status": "queued|running|done|failed|timed_out",
     "finished": false, "progress": 0-100, "message": "<what it is doing, in the request's language>",
     "attempts": 1, "time_limit_s": 900.0, "created_at": "<ISO 8601>", "started_at": "…"|null,
     "finished_at": "…"|null, "result": {…}|null (when done), "error": "<for a person>" (when failed or
     timed out, else ""), "poll_after_s": 1 (only while not finished)}

For ``kind`` siting, ``result`` is ``{"siting_run": <SitingRun id>, "sites", "solver", "k",
"demand_total", "covered_before", "covered_after", "gap", "runtime_s"}``. An unknown id answers 404
``{"error": "no such job"}``; methods other than GET/HEAD answer 405.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import get_language, gettext
from django.views.decorators.http import require_POST, require_safe

from karte import health
from karte.layers import NotFoundError, get_city, get_ward
from karte.models import BackgroundJob
from karte.tasks import KINDS, city_pdf_task, status_document, ward_pdf_task

from .access import may_run_jobs



def _no_store(response: JsonResponse) -> JsonResponse:
    add_never_cache_headers(response)
    return response


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 with every check when Karte can serve, 503 naming what is wrong (``karte.health``)."""
    healthy, document = health.report()
    return _no_store(JsonResponse(document, status=200 if healthy else 503))


@require_safe
def job_status(request: HttpRequest, public_id: UUID) -> JsonResponse:
    job = BackgroundJob.objects.filter(public_id=public_id).first()
    if job is None:
        return _no_store(JsonResponse({"error": "no such job"}, status=404))
    return _no_store(JsonResponse(status_document(job)))


def _job_or_404(public_id: UUID) -> BackgroundJob:
    job = BackgroundJob.objects.filter(public_id=public_id).first()
    if job is None:
        raise Http404("no such job")
    return job


def job_page(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """A job's progress for a person: the page polls ``/jobs/<id>/`` and offers the result when done."""
    job = _job_or_404(public_id)
    response = render(request, "karte/job.html", {
        "job": job, "label": KINDS[job.kind].label if job.kind in KINDS else job.kind,
        "config": {"status_url": reverse("job-status", args=[job.public_id]),
                   "file_url": reverse("job-file", args=[job.public_id]),
                   "siting_url": reverse("siting"), "language": get_language() or "ja",
                   "strings": {"done": gettext("完了しました"), "failed": gettext("失敗しました"),
                               "download": gettext("PDFをダウンロード"), "open_result": gettext("結果を開く")}},
    })
    add_never_cache_headers(response)
    return response


@require_safe
def job_file(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """The file a finished job left (a ward's printed karte); 404 until it is there."""
    job = _job_or_404(public_id)
    result = job.result or {}
    path = Path(settings.KARTE_JOB_FILES_DIR) / str(result.get("file", ""))
    if job.status != BackgroundJob.Status.DONE or not result.get("file") or not path.is_file():
        raise Http404("this job has left no file (yet)")
    filename = result.get("filename") or path.name
    response = FileResponse(path.open("rb"), content_type=result.get("content_type", "application/octet-stream"))
    ascii_name = filename.encode("ascii", "ignore").decode() or path.name
    response["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return response


def _start_batch(request: HttpRequest, task, parameter: str, find: Callable[[str], Any], code: str) -> HttpResponse:
    """Start printing every district of a ward or city in the background (staff and facilitators):
    an unknown code is a 404, anyone else is asked to log in."""
    if not may_run_jobs(request.user):
        return redirect_to_login(request.get_full_path())
    try:
        target = find(code)
    except NotFoundError:
        raise Http404(f"no such {parameter}") from None
    job = task.submit({parameter: target.code}, user=request.user)
    return redirect("job-page", public_id=job.public_id)


@require_POST
def ward_pdf_job(request: HttpRequest, code: str) -> HttpResponse:
    return _start_batch(request, ward_pdf_task, "ward", get_ward, code)


@require_POST
def city_pdf_job(request: HttpRequest, code: str) -> HttpResponse:
    return _start_batch(request, city_pdf_task, "city", get_city, code)
