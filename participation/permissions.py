"""Who may do what in participation — the one place every view asks.

Roles:

- **staff** (``is_staff``): every workshop.
- **facilitator**: a member of the ``facilitator`` group. May create workshops, and manages (moderates,
  freezes, revokes the code of, exports) only the workshops listing them among ``facilitators`` —
  an object-level check written out here rather than a permission table per object: there is one
  kind of object, one relation, and the rule reads in one line.
- **participant**: a :class:`~participation.models.Participant` bound to the browser session that
  joined with the workshop's code (``session["participation"]`` maps workshop id → participant id;
  the session lives on the server, so it cannot be forged). Adds and edits their own contributions
  while the workshop is open.
- anyone else reads what is approved and never writes.
"""
from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, Group, Permission, User

from .models import Contribution, Participant, Workshop

FACILITATOR_GROUP = "facilitator"
SESSION_KEY = "participation"
# What a facilitator may do beyond their workshops: run and publish ひろば sitings, print a ward's
# karte in the background (karte's own rights).
FACILITATOR_PERMISSIONS = (("karte", "add_sitingrun"), ("karte", "publish_sitingrun"), ("karte", "add_backgroundjob"))


def ensure_facilitator_group(**kwargs) -> Group:
    """The facilitator group with its karte permissions (run after every migrate, and on use)."""
    group, _ = Group.objects.get_or_create(name=FACILITATOR_GROUP)
    wanted = Permission.objects.filter(
        content_type__app_label__in=[app for app, _ in FACILITATOR_PERMISSIONS],
        codename__in=[codename for _, codename in FACILITATOR_PERMISSIONS])
    group.permissions.add(*wanted)
    return group


def is_facilitator(user: User | AnonymousUser) -> bool:
    return bool(user.is_authenticated and user.is_active
                and (user.is_staff or user.groups.filter(name=FACILITATOR_GROUP).exists()))


def may_create_workshop(user: User | AnonymousUser) -> bool:
    return is_facilitator(user)


def may_manage(user: User | AnonymousUser, workshop: Workshop) -> bool:
    """Moderate, freeze, revoke the code, close and export ``workshop``: its facilitators and staff."""
    if not (user.is_authenticated and user.is_active):
        return False
    if user.is_staff:
        return True
    return is_facilitator(user) and workshop.facilitators.filter(pk=user.pk).exists()


def managed_workshops(user: User | AnonymousUser):
    if not is_facilitator(user):
        return Workshop.objects.none()
    workshops = Workshop.objects.select_related("district", "district__ward")
    return workshops if user.is_staff else workshops.filter(facilitators=user)


def participant_of(request, workshop: Workshop) -> Participant | None:
    """The participant this browser joined ``workshop`` as, or None."""
    joined = request.session.get(SESSION_KEY) or {}
    participant_id = joined.get(str(workshop.pk))
    if participant_id is None:
        return None
    return Participant.objects.filter(pk=participant_id, workshop=workshop).first()


def remember_participant(request, participant: Participant) -> None:
    joined = dict(request.session.get(SESSION_KEY) or {})
    joined[str(participant.workshop_id)] = participant.pk
    request.session[SESSION_KEY] = joined


def may_contribute(request, workshop: Workshop) -> Participant | None:
    """The participant who may add to ``workshop`` now (open, joined), or None."""
    return participant_of(request, workshop) if workshop.is_open else None


def may_edit_own(request, contribution: Contribution) -> bool:
    participant = may_contribute(request, contribution.workshop)
    return participant is not None and contribution.author_id == participant.pk


def may_see(request, contribution: Contribution) -> bool:
    """Approved ones are public; pending and rejected ones only to their author and the facilitators."""
    if contribution.status == "approved":
        return True
    if may_manage(request.user, contribution.workshop):
        return True
    participant = participant_of(request, contribution.workshop)
    return participant is not None and contribution.author_id == participant.pk
