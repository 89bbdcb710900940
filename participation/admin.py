"""Admin: read-only views of what participation keeps (changes go through the facilitator's pages,
so each leaves its audit entry); facilitators are added to the ``facilitator`` group here."""
from django.contrib import admin

from . import models


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.Workshop)
class WorkshopAdmin(ReadOnly):
    list_display = ["title", "district", "held_on", "licence", "closes_at", "closed_at"]
    exclude = ["join_code"]


@admin.register(models.Contribution)
class ContributionAdmin(ReadOnly):
    list_display = ["pk", "workshop", "type", "status", "created_at"]
    list_filter = ["status", "type"]
    exclude = ["photo"]


@admin.register(models.AuditEntry)
class AuditEntryAdmin(ReadOnly):
    list_display = ["at", "workshop", "action", "contribution", "actor_user", "actor_participant"]
    list_filter = ["action"]


@admin.register(models.Edition)
class EditionAdmin(ReadOnly):
    list_display = ["district", "number", "frozen_at", "frozen_by"]
    exclude = ["pdf"]
