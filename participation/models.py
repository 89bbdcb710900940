"""Workshops, their participants, contributions, the audit trail and frozen editions of a karte.

Nothing here is ever hard-deleted: a rejected contribution stays (hidden), a closed workshop stays,
and :class:`AuditEntry` and :class:`Edition` rows cannot be changed once written — their ``save``
refuses updates and their ``delete`` (and their querysets' ``update``/``delete``) refuse outright.

Points are stored in JGD2011 geographic coordinates (EPSG:6668) like every karte geometry.
"""
from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from karte.models import STORAGE_SRID, District, ResourceKind

from . import codes

NICKNAME_MAX = 30
NAME_MAX = 100
NOTE_MAX = 500
AVAILABILITY_MAX = 200
VOICE_MAX = 400
PLACE_MAX = 100
ACTIVITY_MAX = 400
REASON_MAX = 300


class Immutable(Exception):
    """Raised when code tries to change or delete a row that is kept as written (audit, editions)."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise Immutable(f"{self.model.__name__} rows are append-only: no update")

    def delete(self):
        raise Immutable(f"{self.model.__name__} rows are append-only: no delete")


class AppendOnly(models.Model):
    """A row written once: ``save`` inserts, never updates; nothing deletes it."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise Immutable(f"{type(self).__name__} #{self.pk} is append-only: it cannot be changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise Immutable(f"{type(self).__name__} #{self.pk} is append-only: it cannot be deleted")


class NotDeleted(models.Model):
    """A row that is closed, rejected or hidden, never deleted."""

    class Meta:
        abstract = True

    def delete(self, *args, **kwargs):
        raise Immutable(f"{type(self).__name__} #{self.pk} is kept: close or reject it instead of deleting")


class Licence(models.TextChoices):
    CC_BY = "CC BY 4.0", "CC BY 4.0"
    CC_BY_SA = "CC BY-SA 4.0", "CC BY-SA 4.0"
    CC0 = "CC0 1.0", "CC0 1.0"


class Workshop(NotDeleted):
    """A workshop for one district's karte, with its facilitators and its join code."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="workshops")
    title = models.CharField(_("題名"), max_length=120)
    held_on = models.DateField(_("開催日"))
    licence = models.CharField(_("投稿のライセンス"), max_length=20, choices=Licence.choices, default=Licence.CC_BY)
    facilitators = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="facilitated_workshops")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    join_code = models.CharField(max_length=codes.LENGTH, unique=True, default=codes.new_code, editable=False)
    closes_at = models.DateTimeField(_("受付の締切"))
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("ワークショップ")
        ordering = ["-held_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.title} ({self.district.name_ja} {self.held_on:%Y-%m-%d})"

    @property
    def is_open(self) -> bool:
        """Residents may join, add and edit: not closed by a facilitator and before the deadline."""
        return self.closed_at is None and timezone.now() < self.closes_at

    @property
    def join_code_display(self) -> str:
        return codes.display(self.join_code)


class Participant(NotDeleted):
    """A resident in one workshop: a nickname only, bound to the browser session that joined."""

    workshop = models.ForeignKey(Workshop, on_delete=models.PROTECT, related_name="participants")
    nickname = models.CharField(_("ニックネーム"), max_length=NICKNAME_MAX)
    show_nickname = models.BooleanField(_("ニックネームの公開に同意"), default=False)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("参加者")

    def __str__(self) -> str:
        return f"{self.nickname} ({self.workshop_id})"


class ContributionType(models.TextChoices):
    RESOURCE = "resource", _("資源")
    VOICE = "voice", _("声")
    PROPOSAL = "proposal", _("ひろばの提案")


class VoiceCategory(models.TextChoices):
    TROUBLE = "trouble", _("困りごと")
    GOOD = "good", _("良いところ")
    IDEA = "idea", _("アイデア")
    WORRY = "worry", _("心配")


class Status(models.TextChoices):
    PENDING = "pending", _("確認待ち")
    APPROVED = "approved", _("承認済み")
    REJECTED = "rejected", _("非掲載")


class Contribution(NotDeleted):
    """One resource, voice or ひろば proposal, with a point on the map and an optional photo."""

    workshop = models.ForeignKey(Workshop, on_delete=models.PROTECT, related_name="contributions")
    author = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="contributions")
    type = models.CharField(_("種類"), max_length=10, choices=ContributionType.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    location = models.PointField(srid=STORAGE_SRID)
    # 資源
    resource_kind = models.CharField(_("資源の種類"), max_length=32, choices=ResourceKind.choices, blank=True)
    name = models.CharField(_("名前"), max_length=NAME_MAX, blank=True)
    note = models.TextField(_("メモ"), max_length=NOTE_MAX, blank=True)
    availability = models.CharField(_("使える時間"), max_length=AVAILABILITY_MAX, blank=True)
    could_host = models.BooleanField(_("まちのひろばに使えそう"), default=False)
    host_verified_at = models.DateTimeField(null=True, blank=True)
    host_verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                         related_name="+")
    # 声
    voice_category = models.CharField(_("声の分類"), max_length=10, choices=VoiceCategory.choices, blank=True)
    text = models.TextField(_("内容"), max_length=VOICE_MAX, blank=True)
    # ひろばの提案
    place = models.CharField(_("場所"), max_length=PLACE_MAX, blank=True)
    activity = models.TextField(_("やってみたいこと"), max_length=ACTIVITY_MAX, blank=True)
    # Re-encoded JPEG without metadata (participation.photos), or empty.
    photo = models.BinaryField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    moderated_at = models.DateTimeField(null=True, blank=True)
    moderated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    moderation_reason = models.CharField(max_length=REASON_MAX, blank=True)

    class Meta:
        verbose_name = _("投稿")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["workshop", "status"])]

    def __str__(self) -> str:
        return f"{self.get_type_display()} #{self.pk}: {self.title}"

    @property
    def title(self) -> str:
        """A short line naming it: the resource's name, the voice's text, the proposal's place."""
        if self.type == ContributionType.RESOURCE:
            return self.name or str(ResourceKind(self.resource_kind).label if self.resource_kind else "")
        if self.type == ContributionType.VOICE:
            return self.text[:40] + ("…" if len(self.text) > 40 else "")
        return self.place

    @property
    def body(self) -> str:
        """Its longer text: the resource's note, the voice, the proposed activity."""
        return {ContributionType.RESOURCE: self.note, ContributionType.VOICE: self.text,
                ContributionType.PROPOSAL: self.activity}.get(self.type, "")

    @property
    def is_host_candidate(self) -> bool:
        """An approved resource its author says could host a ひろば, verified by a facilitator."""
        return (self.type == ContributionType.RESOURCE and self.status == Status.APPROVED and self.could_host
                and self.host_verified_at is not None)

    @property
    def karte_source_key(self) -> str:
        """Its natural key as a karte Resource (when it is a verified host candidate)."""
        return f"participation:contribution:{self.pk}"

    def record(self) -> dict:
        """What an audit entry keeps of it (before/after): every editable value, no photo bytes."""
        return {
            "type": self.type, "status": self.status,
            "lon": round(self.location.x, 7) if self.location else None,
            "lat": round(self.location.y, 7) if self.location else None,
            "resource_kind": self.resource_kind, "name": self.name, "note": self.note,
            "availability": self.availability, "could_host": self.could_host,
            "host_verified": self.host_verified_at is not None,
            "voice_category": self.voice_category, "text": self.text, "place": self.place, "activity": self.activity,
            "has_photo": bool(self.photo), "moderation_reason": self.moderation_reason,
        }


class AuditEntry(AppendOnly):
    """Who changed what, when: one row per change, with the values before and after."""

    class Action(models.TextChoices):
        WORKSHOP_CREATED = "workshop_created", _("ワークショップ作成")
        JOINED = "joined", _("参加")
        SUBMITTED = "submitted", _("投稿")
        EDITED_BY_AUTHOR = "edited_by_author", _("投稿者による編集")
        APPROVED = "approved", _("承認")
        REJECTED = "rejected", _("非掲載")
        EDITED_BY_FACILITATOR = "edited_by_facilitator", _("進行役による編集")
        HOST_VERIFIED = "host_verified", _("ひろば候補として確認")
        HOST_WITHDRAWN = "host_withdrawn", _("ひろば候補の確認を取り消し")
        CODE_REVOKED = "code_revoked", _("参加コードの無効化")
        WORKSHOP_CLOSED = "workshop_closed", _("受付終了")
        EDITION_FROZEN = "edition_frozen", _("版の確定")
        EXPORTED = "exported", _("書き出し")

    workshop = models.ForeignKey(Workshop, on_delete=models.PROTECT, related_name="audit_entries")
    contribution = models.ForeignKey(Contribution, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="audit_entries")
    action = models.CharField(max_length=24, choices=Action.choices)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    actor_participant = models.ForeignKey(Participant, on_delete=models.PROTECT, null=True, blank=True,
                                          related_name="+")
    reason = models.CharField(max_length=REASON_MAX, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("変更記録")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} ({self.workshop_id}/{self.contribution_id})"

    @property
    def actor(self) -> str:
        if self.actor_user_id:
            return self.actor_user.get_username()
        return self.actor_participant.nickname if self.actor_participant_id else ""


class Edition(AppendOnly):
    """A frozen 版 of a district's karte: what it showed (JSON) and the PDF it printed, kept as is."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="editions")
    workshop = models.ForeignKey(Workshop, on_delete=models.PROTECT, null=True, blank=True, related_name="editions")
    number = models.PositiveIntegerField()
    frozen_at = models.DateTimeField(default=timezone.now, editable=False)
    frozen_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    snapshot = models.JSONField()
    pdf = models.BinaryField()

    class Meta:
        verbose_name = _("カルテの版")
        ordering = ["district", "-number"]
        constraints = [models.UniqueConstraint(fields=["district", "number"], name="edition_district_number")]

    def __str__(self) -> str:
        return f"{self.district.name_ja} 第{self.number}版"

    @property
    def label(self) -> str:
        return edition_label(self.number, self.frozen_at)


def edition_label(number: int, frozen_at) -> str:
    """「第2版 2025年3月1日」 in the active language."""
    return gettext("第%(number)d版 %(date)s") % {
        "number": number, "date": date_format(timezone.localtime(frozen_at).date(), "DATE_FORMAT")}
