"""The web pages: the city map (/), a district's karte, a ward overview and the ひろば siting.

Each view parses its request, calls one function (:mod:`.context` builds the page from
:mod:`karte.layers`), and renders. Large map layers are fetched by the page's JavaScript from the
public ``/api/``; only the small layers of one district or one siting run are inlined as JSON.
"""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from karte import layers
from karte.httpcache import cached_read

from . import context
from .access import may_publish_siting, may_run_siting
from .errors import page_errors
from .forms import SitingForm


@cached_read(shared=False)
@page_errors
def home(request: HttpRequest) -> HttpResponse:
    """The city map: a choropleth of one indicator, with resource, candidate and siting layers."""
    page = context.map_page(request.GET.get("indicator"), request.GET.get("ward"), request.GET.get("city"))
    return render(request, "karte/map.html", page)


@cached_read(shared=False)
@page_errors
def district_detail(request: HttpRequest, code: str) -> HttpResponse:
    """地区カルテ: one district's map, indicators against ward and city, pyramid, resources, candidates."""
    page = context.district_page(layers.get_district(code))
    return render(request, "karte/district.html", page)


@cached_read(shared=False)
def area_detail(request: HttpRequest) -> HttpResponse:
    """The karte of any area (``?codes=…``, ``?geometry=…`` or ``?lon=&lat=&radius=``): the same
    layout as a district's; a bad, too large or out-of-city area gets the page with its message (400)."""
    try:
        page = context.area_page(request.GET)
    except layers.ParameterError as error:
        return render(request, "karte/area.html", {"error": error.message, "parameter": error.parameter}, status=400)
    return render(request, "karte/area.html", page)


@cached_read(shared=False)
@page_errors
def ward_detail(request: HttpRequest, code: str) -> HttpResponse:
    """A ward's districts side by side: one sortable row per district, one column per indicator."""
    return render(request, "karte/ward.html", context.ward_page(layers.get_ward(code), request.user))


@cached_read(shared=False)
@page_errors
def city_detail(request: HttpRequest, code: str) -> HttpResponse:
    """A city's districts side by side: one sortable row per district, the city's row below."""
    return render(request, "karte/city.html", context.city_page(code, request.user))


@cached_read(shared=False)
@page_errors
def city_data_report(request: HttpRequest, code: str) -> HttpResponse:
    """How far to trust a city's figures: coverage, suppressed and merged cells, split small areas, sources."""
    return render(request, "karte/data_report.html", context.data_report_page(code))


def _siting_job(data: dict, user):
    """Queue the siting the form asks for as a background job (karte.tasks.run_siting_task)."""
    from karte.tasks import run_siting_task

    return run_siting_task.submit({
        "city": data["city"].code, "ward": data["ward"].code if data["ward"] else None, "kinds": data["kinds"],
        "walk_distance_m": data["walk_distance_m"], "k": data["k"], "solver": data["solver"],
    }, user=user)


def _shown_run(request: HttpRequest):
    """The run named by ``?run=`` (404 for anything but an existing run's id), or None."""
    run_id = request.GET.get("run")
    if not run_id:
        return None
    if not run_id.isascii() or not run_id.isdigit():
        raise Http404("bad run id")
    return layers.siting_run(int(run_id))


def _initial_form(run) -> SitingForm:
    """An unbound form: the run's own parameters (to adjust and re-run), or the defaults."""
    from karte.siting import DEFAULT_CANDIDATE_KINDS  # the siting service's own default

    if run is not None:
        initial = {"kinds": list(run.candidate_kinds or []), "walk_distance_m": run.walk_distance_m, "k": run.k,
                   "solver": run.solver, "ward": run.ward.code if run.ward else run.city.code}
    else:
        initial = {"kinds": [str(kind) for kind in DEFAULT_CANDIDATE_KINDS], "walk_distance_m": 500, "k": 5,
                   "solver": "greedy", "ward": ""}
    return SitingForm(initial=initial)


@page_errors
def siting(request: HttpRequest) -> HttpResponse:
    """Choose k ひろば sites: staff and facilitators post the form, the run is queued as a background
    job, and its progress page leads to the stored run (post/redirect/get); a ``fetch`` caller gets
    JSON with the job's status URL. Everyone may read a run by its id (``?run=``)."""
    wants_json = request.headers.get("Accept", "").startswith("application/json")
    if request.method == "POST" and not may_run_siting(request.user):
        if wants_json or request.user.is_authenticated:
            return JsonResponse({"error": _("ひろばの配置計算には担当者のログインが必要です。")}, status=403)
        return redirect_to_login(reverse("siting"))
    if request.method == "POST":
        form = SitingForm(request.POST)
        error = ""
        if form.is_valid():
            # The run goes to the task worker (the exact solver can take minutes); the page follows
            # its progress and offers the result. A job already finished (a worker was quick, or
            # jobs run in the caller) leads straight to the result.
            job = _siting_job(form.cleaned_data, request.user)
            if job.status == job.Status.DONE:
                target = f"{reverse('siting')}?run={job.result['siting_run']}"
            elif job.finished:
                target, error = None, _("計算できませんでした: %(reason)s") % {"reason": job.error}
            else:
                target = reverse("job-page", args=[job.public_id])
            if target is not None:
                if wants_json:
                    return JsonResponse({"job": str(job.public_id), "status": job.status, "url": target,
                                         "status_url": reverse("job-status", args=[job.public_id])})
                return redirect(target)
        else:
            error = form.first_error()
        if wants_json:
            return JsonResponse({"error": error}, status=400)
        return render(request, "karte/siting.html", _siting_page(request, form, None, error), status=400)
    run = _shown_run(request)
    return render(request, "karte/siting.html", _siting_page(request, _initial_form(run), run))


def _siting_page(request: HttpRequest, form, run, error: str = "") -> dict:
    return {**context.siting_page(form, run, error),
            "may_run": may_run_siting(request.user), "may_publish": may_publish_siting(request.user)}


@require_POST
@page_errors
def siting_publish(request: HttpRequest, run_id: int) -> HttpResponse:
    """Publish a run (the home map and ``/api/siting/latest/`` show the latest published one), or
    withdraw it (``action=withdraw``). Needs the right to publish."""
    if not may_publish_siting(request.user):
        if not request.user.is_authenticated:
            return redirect_to_login(f"{reverse('siting')}?run={run_id}")
        return HttpResponse(_("公開する権限がありません。"), status=403, content_type="text/plain; charset=utf-8")
    run = layers.siting_run(run_id)
    publish = request.POST.get("action", "publish") != "withdraw"
    run.published = publish
    run.published_at = timezone.now() if publish else None
    run.published_by = request.user if publish else None
    run.save(update_fields=["published", "published_at", "published_by"])
    return redirect(f"{reverse('siting')}?run={run.pk}")


def language(request: HttpRequest) -> HttpResponse:
    """Switch the pages' language (``?language=en&next=/districts/…/``) by a link or a GET form.

    Only a preference cookie changes, so the pages carry no CSRF token for it and stay cacheable;
    an unknown language is ignored and ``next`` must stay on this site."""
    code = request.GET.get("language", "")
    target = request.GET.get("next", "/")
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        target = "/"
    response = HttpResponseRedirect(target)
    if code in dict(settings.LANGUAGES):
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, code, max_age=settings.LANGUAGE_COOKIE_AGE,
                            path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN,
                            samesite=settings.LANGUAGE_COOKIE_SAMESITE or "Lax",
                            secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY)
    return response
