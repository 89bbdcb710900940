from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


def _data_changed(sender, **kwargs) -> None:
    from karte.models import bump_data_version

    bump_data_version()


class KarteConfig(AppConfig):
    name = "karte"
    verbose_name = "地区カルテ (Karte)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Any single-row edit of what Karte shows (admin, the siting service, tests) counts as a
        # change of the data version; bulk loads and compute bump it themselves (no signals there).
        from karte.models import BackgroundJob, DataVersion

        for model in self.get_models():
            if model not in (DataVersion, BackgroundJob):  # bookkeeping, not what Karte shows
                post_save.connect(_data_changed, sender=model, dispatch_uid=f"karte-data-version-{model.__name__}")
                post_delete.connect(_data_changed, sender=model,
                                    dispatch_uid=f"karte-data-version-del-{model.__name__}")
