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

from uuid import UUID

from django.http import HttpRequest, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_safe

from karte import health
from karte.models import BackgroundJob
from karte.tasks import status_document


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
