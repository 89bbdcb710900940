"""The pages of a workshop: the facilitator's (dashboard, new workshop, moderation, code, editions,
export) and the participant's (join, add, edit own, see own pending).

Each view checks the role in one call to :mod:`.permissions` (a client without it gets 403, or the
login / join page), parses with :mod:`.forms`, calls one function of :mod:`.services` and renders or
redirects. Writes are POST only and CSRF-checked (Django's middleware); a failed form is shown again
with what was typed and a message saying what to change.
"""
from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from karte.layers import collection_to_csv, districts_collection, lookups, to_json
from karte.views.context import tile_config

from . import forms, permissions, ratelimit, services
from .karte_extensions import contributions_collection, join_url, qr_svg
from .models import Contribution, Edition, Status, Workshop


def _forbidden(message: str) -> HttpResponse:
    return HttpResponseForbidden(message, content_type="text/plain; charset=utf-8")


def _get(model, pk: int):
    found = model.objects.filter(pk=pk).first() if 0 < pk < 2**63 else None
    if found is None:
        raise Http404("not found")
    return found


def managed(view):
    """The workshop of ``workshop_id``, for its facilitators and staff only (others: 403)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, workshop_id: int, *args, **kwargs):
        workshop = _get(Workshop, workshop_id)
        if not permissions.may_manage(request.user, workshop):
            return _forbidden(_("このワークショップの進行役ではありません。"))
        return view(request, workshop, *args, **kwargs)

    return wrapper


# ---------------------------------------------------------------------------------------------
# Facilitators
# ---------------------------------------------------------------------------------------------

@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    if not permissions.is_facilitator(request.user):
        return _forbidden(_("ワークショップの進行役だけが使えるページです。"))
    return render(request, "participation/dashboard.html", {
        "workshops": permissions.managed_workshops(request.user).order_by("-held_on", "-pk"),
    })


@login_required
@require_http_methods(["GET", "POST"])
def workshop_new(request: HttpRequest) -> HttpResponse:
    if not permissions.may_create_workshop(request.user):
        return _forbidden(_("ワークショップを作れるのは進行役だけです。"))
    form = forms.WorkshopForm(request.POST or None, initial={"district": request.GET.get("district", "")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        workshop = services.create_workshop(request.user, district=data["district"], title=data["title"],
                                            held_on=data["held_on"], licence=data["licence"],
                                            closes_at=data["closes_at"])
        return redirect("participation:workshop", workshop.pk)
    return render(request, "participation/workshop_new.html",
                  {"form": form, "districts": lookups.districts().order_by("ward__code", "code")},
                  status=400 if form.is_bound else 200)


@managed
@require_GET
def workshop_detail(request: HttpRequest, workshop: Workshop) -> HttpResponse:
    contributions = (workshop.contributions.select_related("author", "moderated_by")
                     .order_by("status", "-created_at"))
    by_status = {status: [c for c in contributions if c.status == status] for status in Status.values}
    return render(request, "participation/workshop.html", {
        "workshop": workshop,
        "join_url": join_url(workshop),
        "qr_svg": qr_svg(join_url(workshop), scale=4),
        "pending": by_status[Status.PENDING], "approved": by_status[Status.APPROVED],
        "rejected": by_status[Status.REJECTED],
        "editions": workshop.district.editions.defer("pdf", "snapshot").order_by("-number"),
        "audit": workshop.audit_entries.select_related("actor_user", "actor_participant", "contribution")
                 .order_by("-at", "-pk")[:50],
        "participant_count": workshop.participants.count(),
    })


@require_POST
def moderate(request: HttpRequest, contribution_id: int) -> HttpResponse:
    """approve / reject / edit (with a reason) / verify / unverify one contribution."""
    contribution = _get(Contribution, contribution_id)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not permissions.may_manage(request.user, contribution.workshop):
        return _forbidden(_("このワークショップの進行役ではありません。"))
    form = forms.ModerationForm(request.POST)
    target = reverse("participation:workshop", args=[contribution.workshop_id]) + f"#contribution-{contribution.pk}"
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect(target)
    action, reason = form.cleaned_data["action"], form.cleaned_data["reason"]
    if action == "approve":
        services.approve(contribution, request.user)
    elif action == "reject":
        services.reject(contribution, request.user, reason)
    elif action in ("verify", "unverify"):
        try:
            services.verify_host(contribution, request.user, verified=action == "verify")
        except ValueError:
            messages.error(request, _("ひろば候補として確認できるのは、承認済みで「まちのひろばに使えそう」の資源だけです。"))
            return redirect(target)
    else:
        edit = forms.ContributionForm(request.POST, city=contribution.workshop.district.city)
        if not edit.is_valid():
            messages.error(request, " ".join(str(e) for errors in edit.errors.values() for e in errors))
            return redirect(target)
        services.edit_by_facilitator(contribution, request.user, edit.values(), reason)
    messages.success(request, _("投稿 #%(id)d を更新しました。") % {"id": contribution.pk})
    return redirect(target)


@managed
@require_POST
def revoke_code(request: HttpRequest, workshop: Workshop) -> HttpResponse:
    services.revoke_code(workshop, request.user)
    messages.success(request, _("参加コードを新しくしました。前のコードとQRコードはもう使えません。"))
    return redirect("participation:workshop", workshop.pk)


@managed
@require_POST
def close(request: HttpRequest, workshop: Workshop) -> HttpResponse:
    services.close_workshop(workshop, request.user)
    messages.success(request, _("受付を終了しました。"))
    return redirect("participation:workshop", workshop.pk)


@managed
@require_POST
def freeze(request: HttpRequest, workshop: Workshop) -> HttpResponse:
    edition = services.freeze_edition(workshop, request.user)
    messages.success(request, _("%(label)sを確定しました。") % {"label": edition.snapshot["label"]})
    return redirect("participation:workshop", workshop.pk)


@managed
@require_GET
def export(request: HttpRequest, workshop: Workshop, fmt: str) -> HttpResponse:
    """Every contribution of the workshop, with its status, for the city's records."""
    contributions = workshop.contributions.select_related("workshop", "workshop__district", "author")
    collection = contributions_collection(contributions.order_by("created_at", "pk"), with_status=True,
                                          layer_metadata={"workshop_id": workshop.pk})
    services.record_export(workshop, request.user, fmt, len(collection["features"]))
    name = f"workshop-{workshop.pk}-contributions.{fmt}"
    if fmt == "csv":
        response = HttpResponse(collection_to_csv(collection, bom=True), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(to_json(collection), content_type="application/geo+json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# ---------------------------------------------------------------------------------------------
# Participants
# ---------------------------------------------------------------------------------------------

def _client_key(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")


@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, code: str = "") -> HttpResponse:
    """Join with the code and a nickname: the join code is the participant's credential."""
    form = forms.JoinForm(request.POST or None, initial={"code": code})
    limit = settings.PARTICIPATION_JOIN_FAILURES_PER_WINDOW
    if request.method == "POST":
        if ratelimit.over(f"join:{_client_key(request)}", limit):
            form.is_valid()
            form.add_error(None, _("参加コードの入力に何度も失敗しました。10分ほど待ってからもう一度試してください。"))
        elif form.is_valid():
            workshop = Workshop.objects.filter(join_code=form.cleaned_data["code"]).first()
            if workshop is None:
                ratelimit.allow(f"join:{_client_key(request)}", limit, 600)
                form.add_error("code", _("この参加コードのワークショップはありません（無効になったコードかもしれません）。"))
            elif not workshop.is_open:
                form.add_error("code", _("このワークショップの受付は終了しました。"))
            else:
                participant = services.join(workshop, form.cleaned_data["nickname"], form.cleaned_data["show_nickname"])
                permissions.remember_participant(request, participant)
                return redirect("participation:contribute", workshop.pk)
    return render(request, "participation/join.html", {"form": form}, status=400 if form.errors else 200)


def _map_config(workshop: Workshop, contribution_point=None) -> dict:
    district = workshop.district
    return {
        "tiles": tile_config(),
        "district": districts_collection(codes=[district.code], indicators=[]),
        "strings": {"placed": _("ここに印を置きました"), "tap": _("地図をタップして場所を選んでください"),
                    "draft_restored": _("前に入力した内容を戻しました。"), "locate": _("現在地")},
        "draft_key": f"karte-participation-draft-{workshop.pk}",
    }


def _participant_page(request, workshop, participant, form, *, contribution=None, submitted=None, status=200):
    mine = participant.contributions.order_by("-created_at", "-pk")
    return render(request, "participation/contribute.html", {
        "workshop": workshop, "participant": participant, "form": form, "contribution": contribution,
        "mine": mine, "submitted": submitted, "map_config": _map_config(workshop),
        "max_photo_mb": settings.PARTICIPATION_PHOTO_MAX_BYTES // (1024 * 1024),
    }, status=status)


@require_http_methods(["GET", "POST"])
def contribute(request: HttpRequest, workshop_id: int) -> HttpResponse:
    workshop = _get(Workshop, workshop_id)
    participant = permissions.participant_of(request, workshop)
    if participant is None:
        if request.method == "POST":
            return _forbidden(_("このワークショップに参加していません。参加コードで参加してください。"))
        return redirect("participation:join")
    city = workshop.district.city
    if not workshop.is_open:
        if request.method == "POST":
            return _forbidden(_("このワークショップの受付は終了しました。"))
        return _participant_page(request, workshop, participant, None)
    if request.method == "GET":
        submitted = participant.contributions.filter(pk=request.GET.get("submitted") or 0).first() \
            if (request.GET.get("submitted") or "").isdigit() else None
        return _participant_page(request, workshop, participant, forms.ContributionForm(city=city), submitted=submitted)
    form = forms.ContributionForm(request.POST, request.FILES, city=city)
    rate = settings.PARTICIPATION_SUBMISSIONS_PER_WINDOW, settings.PARTICIPATION_SUBMISSION_WINDOW_S
    if form.is_valid():
        if not ratelimit.allow(f"submit:{participant.pk}", *rate):
            form.add_error(None, _("短い時間に投稿が多すぎます（%(minutes)d分に%(limit)d件まで）。少し待ってから送ってください。入力した内容は残っています。")
                           % {"minutes": rate[1] // 60, "limit": rate[0]})
        else:
            contribution = services.submit(participant, form.values(), form.cleaned_data.get("photo"))
            return redirect(reverse("participation:contribute", args=[workshop.pk]) + f"?submitted={contribution.pk}")
    return _participant_page(request, workshop, participant, form, status=400)


@require_http_methods(["GET", "POST"])
def edit_own(request: HttpRequest, contribution_id: int) -> HttpResponse:
    contribution = _get(Contribution, contribution_id)
    workshop = contribution.workshop
    participant = permissions.participant_of(request, workshop)
    if not permissions.may_edit_own(request, contribution):
        if participant is None and request.method == "GET":
            return redirect("participation:join")
        return _forbidden(_("自分の投稿だけを、受付中に直せます。"))
    city = workshop.district.city
    if request.method == "GET":
        form = forms.ContributionForm(initial=forms.ContributionForm.initial_from(contribution), city=city)
        return _participant_page(request, workshop, participant, form, contribution=contribution)
    form = forms.ContributionForm(request.POST, request.FILES, city=city)
    if form.is_valid():
        services.edit_by_author(contribution, participant, form.values(), form.cleaned_data.get("photo"),
                                remove_photo=request.POST.get("remove_photo") == "1")
        return redirect(reverse("participation:contribute", args=[workshop.pk]) + f"?submitted={contribution.pk}")
    return _participant_page(request, workshop, participant, form, contribution=contribution, status=400)


@require_GET
def photo(request: HttpRequest, contribution_id: int) -> HttpResponse:
    contribution = _get(Contribution, contribution_id)
    if not contribution.photo or not permissions.may_see(request, contribution):
        raise Http404("no photo")
    response = HttpResponse(bytes(contribution.photo), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=300"
    return response


@require_GET
def edition_pdf(request: HttpRequest, edition_id: int) -> HttpResponse:
    """A frozen edition's PDF, byte for byte as it was printed when frozen."""
    edition = _get(Edition, edition_id)
    response = HttpResponse(bytes(edition.pdf), content_type="application/pdf")
    response["Content-Disposition"] = (f'attachment; filename="karte_{edition.district.code}_edition{edition.number}.pdf"')
    return response


@require_GET
def edition_json(request: HttpRequest, edition_id: int) -> HttpResponse:
    edition = _get(Edition, edition_id)
    return HttpResponse(to_json(edition.snapshot), content_type="application/json; charset=utf-8")


__all__ = ["dashboard", "workshop_new", "workshop_detail", "moderate", "revoke_code", "close", "freeze", "export",
           "join", "contribute", "edit_own", "photo", "edition_pdf", "edition_json"]
