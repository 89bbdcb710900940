"""Every change participation makes, each in one transaction with its audit entry.

Views check who may act (:mod:`.permissions`) and what was typed (:mod:`.forms`), then call one
function here. Each function writes the change and an :class:`~participation.models.AuditEntry`
(who, when, the values before and after), and keeps karte's copy of a verified ひろば host in step
(:func:`karte.importers.contributed.save_contributed_resource` / ``withdraw_contributed_resource``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max
from django.utils import timezone, translation

from karte.importers.contributed import ContributedSource, save_contributed_resource, withdraw_contributed_resource
from karte.layers import district_report, report_record
from karte.layers.extensions import district_sections
from karte.models import District, bump_data_version
from karte.printing.pdf import district_pdf

from . import codes
from .models import AuditEntry, Contribution, ContributionType, Edition, Participant, Status, Workshop, edition_label

EDITABLE_FIELDS = ("type", "location", "resource_kind", "name", "note", "availability", "could_host",
                   "voice_category", "text", "place", "activity")
DEFAULT_OPEN_DAYS = 14


@dataclass(frozen=True)
class Actor:
    """Who acts: a logged-in user (facilitator, staff) or a participant."""

    user: User | None = None
    participant: Participant | None = None


# What residents do before a facilitator looks (joining, submitting, editing what is still pending)
# and a facilitator's export show nowhere public: the shared caches of pages, PDFs and /api/ stay
# valid. (Authors and facilitators carry a session, so they never read those caches.)
_PRIVATE_ACTIONS = frozenset({AuditEntry.Action.JOINED, AuditEntry.Action.SUBMITTED, AuditEntry.Action.EXPORTED})


def _audit(workshop: Workshop, action: str, actor: Actor, *, contribution: Contribution | None = None,
           before: dict | None = None, after: dict | None = None, reason: str = "",
           public: bool | None = None) -> AuditEntry:
    """Record a change; every change goes through here, in the transaction of the change, which is
    also where karte's readers learn that what the public karte shows may have changed (cached pages,
    PDFs and API answers are keyed by the data version). ``public`` overrides the rule by action."""
    if public if public is not None else action not in _PRIVATE_ACTIONS:
        bump_data_version()
    return AuditEntry.objects.create(
        workshop=workshop, contribution=contribution, action=action, actor_user=actor.user,
        actor_participant=actor.participant, reason=reason, before=before, after=after,
    )


def workshop_record(workshop: Workshop) -> dict:
    return {"title": workshop.title, "district": workshop.district.code, "held_on": workshop.held_on.isoformat(),
            "licence": workshop.licence, "closes_at": workshop.closes_at.isoformat(),
            "closed": workshop.closed_at is not None}


# ---------------------------------------------------------------------------------------------
# Workshops
# ---------------------------------------------------------------------------------------------

@transaction.atomic
def create_workshop(user: User, *, district: District, title: str, held_on, licence: str,
                    closes_at: datetime | None = None) -> Workshop:
    """A workshop for ``district`` with ``user`` as its facilitator and a fresh join code; residents
    may join until ``closes_at`` (default: two weeks after the day it is held)."""
    if closes_at is None:
        end_of_day = datetime.combine(held_on, datetime.max.time())
        closes_at = timezone.make_aware(end_of_day) + timedelta(days=DEFAULT_OPEN_DAYS)
    workshop = Workshop.objects.create(district=district, title=title, held_on=held_on, licence=licence,
                                       closes_at=closes_at, created_by=user)
    workshop.facilitators.add(user)
    _audit(workshop, AuditEntry.Action.WORKSHOP_CREATED, Actor(user=user), after=workshop_record(workshop))
    return workshop


@transaction.atomic
def revoke_code(workshop: Workshop, user: User) -> str:
    """Replace the join code: the old one (and every printed QR carrying it) stops working at once;
    participants who already joined stay in."""
    old = workshop.join_code
    workshop.join_code = codes.new_code()
    workshop.save(update_fields=["join_code"])
    # The codes themselves are credentials: the audit keeps only that one replaced the other.
    _audit(workshop, AuditEntry.Action.CODE_REVOKED, Actor(user=user),
           before={"code_ends_with": old[-2:]}, after={"code_ends_with": workshop.join_code[-2:]})
    return workshop.join_code


@transaction.atomic
def close_workshop(workshop: Workshop, user: User) -> None:
    """No more joining, adding or editing; moderation, editions and exports go on."""
    if workshop.closed_at is not None:
        return
    before = workshop_record(workshop)
    workshop.closed_at = timezone.now()
    workshop.save(update_fields=["closed_at"])
    _audit(workshop, AuditEntry.Action.WORKSHOP_CLOSED, Actor(user=user), before=before,
           after=workshop_record(workshop))


@transaction.atomic
def join(workshop: Workshop, nickname: str, show_nickname: bool) -> Participant:
    participant = Participant.objects.create(workshop=workshop, nickname=nickname, show_nickname=show_nickname)
    _audit(workshop, AuditEntry.Action.JOINED, Actor(participant=participant),
           after={"nickname": nickname, "show_nickname": show_nickname})
    return participant


# ---------------------------------------------------------------------------------------------
# Contributions
# ---------------------------------------------------------------------------------------------

def _apply(contribution: Contribution, values: dict) -> None:
    for name in EDITABLE_FIELDS:
        if name in values:
            setattr(contribution, name, values[name])
    # Fields of the other types are cleared, so a voice turned into a resource keeps no stale text.
    kind = contribution.type
    if kind != ContributionType.RESOURCE:
        contribution.resource_kind = contribution.name = contribution.note = contribution.availability = ""
        contribution.could_host = False
    if kind != ContributionType.VOICE:
        contribution.voice_category = contribution.text = ""
    if kind != ContributionType.PROPOSAL:
        contribution.place = contribution.activity = ""
    if not contribution.could_host:
        contribution.host_verified_at = None
        contribution.host_verified_by = None


def karte_source(workshop: Workshop) -> ContributedSource:
    """How karte records the resources of ``workshop`` (a Dataset with the workshop's licence)."""
    return ContributedSource(
        key=f"participation:workshop:{workshop.pk}",
        source_name=f"ワークショップ「{workshop.title}」（{workshop.district.name_ja}）の投稿",
        licence=workshop.licence, attribution=f"{workshop.title} {workshop.held_on:%Y-%m-%d} 参加者",
        vintage=workshop.held_on.year,
    )


def sync_karte_resource(contribution: Contribution) -> None:
    """A verified host candidate is a karte Resource (a candidate site of its kind); nothing else is."""
    if contribution.is_host_candidate:
        save_contributed_resource(
            karte_source(contribution.workshop), source_key=contribution.karte_source_key,
            kind=contribution.resource_kind or "other", name=contribution.name, location=contribution.location,
            attributes={"availability": contribution.availability, "note": contribution.note,
                        "workshop_id": contribution.workshop_id, "contribution_id": contribution.pk},
        )
    else:
        withdraw_contributed_resource(contribution.karte_source_key)


@transaction.atomic
def submit(participant: Participant, values: dict, photo: bytes | None = None) -> Contribution:
    contribution = Contribution(workshop=participant.workshop, author=participant)
    _apply(contribution, values)
    contribution.photo = photo
    contribution.save()
    _audit(participant.workshop, AuditEntry.Action.SUBMITTED, Actor(participant=participant),
           contribution=contribution, after=contribution.record())
    return contribution


@transaction.atomic
def edit_by_author(contribution: Contribution, participant: Participant, values: dict,
                   photo: bytes | None = None, remove_photo: bool = False) -> Contribution:
    """The author's change: it goes back to pending (a facilitator looks at it again)."""
    before = contribution.record()
    was_public = contribution.status == Status.APPROVED
    _apply(contribution, values)
    if photo is not None:
        contribution.photo = photo
    elif remove_photo:
        contribution.photo = None
    contribution.status = Status.PENDING
    contribution.host_verified_at = None
    contribution.host_verified_by = None
    contribution.save()
    sync_karte_resource(contribution)
    # Editing what was approved takes it off the public karte until it is looked at again.
    _audit(contribution.workshop, AuditEntry.Action.EDITED_BY_AUTHOR, Actor(participant=participant),
           contribution=contribution, before=before, after=contribution.record(), public=was_public)
    return contribution


def _moderate(contribution: Contribution, user: User, action: str, *, status: str | None = None,
              values: dict | None = None, reason: str = "", verify: bool | None = None) -> Contribution:
    before = contribution.record()
    if values:
        _apply(contribution, values)
    if status is not None:
        contribution.status = status
    if verify is not None:
        contribution.host_verified_at = timezone.now() if verify else None
        contribution.host_verified_by = user if verify else None
    if status == Status.REJECTED:
        contribution.host_verified_at = None
        contribution.host_verified_by = None
    contribution.moderated_at = timezone.now()
    contribution.moderated_by = user
    if reason or status is not None:
        contribution.moderation_reason = reason
    contribution.save()
    sync_karte_resource(contribution)
    _audit(contribution.workshop, action, Actor(user=user), contribution=contribution, before=before,
           after=contribution.record(), reason=reason)
    return contribution


@transaction.atomic
def approve(contribution: Contribution, user: User) -> Contribution:
    return _moderate(contribution, user, AuditEntry.Action.APPROVED, status=Status.APPROVED)


@transaction.atomic
def reject(contribution: Contribution, user: User, reason: str = "") -> Contribution:
    """Hidden from the public (never deleted): the author and facilitators still see it."""
    return _moderate(contribution, user, AuditEntry.Action.REJECTED, status=Status.REJECTED, reason=reason)


@transaction.atomic
def edit_by_facilitator(contribution: Contribution, user: User, values: dict, reason: str) -> Contribution:
    """A facilitator's correction (a typo, a name that should not be public…); ``reason`` is required."""
    if not reason.strip():
        raise ValueError("a facilitator's edit needs a reason")
    return _moderate(contribution, user, AuditEntry.Action.EDITED_BY_FACILITATOR, values=values, reason=reason)


@transaction.atomic
def verify_host(contribution: Contribution, user: User, verified: bool = True) -> Contribution:
    """Confirm (or withdraw) that an approved resource could host a ひろば: confirmed, it becomes a
    karte Resource and so a candidate site of its kind."""
    if verified and not (contribution.type == ContributionType.RESOURCE and contribution.could_host
                         and contribution.status == Status.APPROVED):
        raise ValueError("only an approved resource marked 'could host' can be verified")
    action = AuditEntry.Action.HOST_VERIFIED if verified else AuditEntry.Action.HOST_WITHDRAWN
    return _moderate(contribution, user, action, verify=verified)


# ---------------------------------------------------------------------------------------------
# Editions and exports
# ---------------------------------------------------------------------------------------------

@transaction.atomic
def freeze_edition(workshop: Workshop, user: User) -> Edition:
    """Freeze the karte of the workshop's district as it is now: what it shows (the report and every
    section apps add, as JSON) and the PDF it prints, kept unchanged as the next 版."""
    district = workshop.district
    # Lock the district's editions so that two freezes at once do not take the same number.
    list(Edition.objects.select_for_update().filter(district=district).values_list("pk", flat=True))
    number = (Edition.objects.filter(district=district).aggregate(top=Max("number"))["top"] or 0) + 1
    frozen_at = timezone.now()
    with translation.override("ja"):  # the karte is a Japanese document, whoever presses the button
        label = edition_label(number, frozen_at)
        report = district_report(district)
        snapshot = {
            "edition": number, "label": label, "frozen_at": frozen_at.isoformat(),
            "workshop": {"id": workshop.pk, **workshop_record(workshop)},
            "report": report_record(report),
            "sections": {section.key: section.snapshot for section in district_sections(district)
                         if section.snapshot is not None},
        }
        pdf = district_pdf(district, edition=label)
    edition = Edition.objects.create(district=district, workshop=workshop, number=number, frozen_at=frozen_at,
                                     frozen_by=user, snapshot=snapshot, pdf=pdf)
    _audit(workshop, AuditEntry.Action.EDITION_FROZEN, Actor(user=user), after={"edition": number, "label": label})
    return edition


def record_export(workshop: Workshop, user: User, fmt: str, count: int) -> None:
    _audit(workshop, AuditEntry.Action.EXPORTED, Actor(user=user), after={"format": fmt, "features": count})
