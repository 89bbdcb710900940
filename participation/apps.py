from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ParticipationConfig(AppConfig):
    name = "participation"
    verbose_name = "参加・ワークショップ (participation)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import karte_extensions, permissions

        karte_extensions.register()
        post_migrate.connect(permissions.ensure_facilitator_group, sender=self)
