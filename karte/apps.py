from django.apps import AppConfig


class KarteConfig(AppConfig):
    name = "karte"
    verbose_name = "地区カルテ (Karte)"
    default_auto_field = "django.db.models.BigAutoField"
