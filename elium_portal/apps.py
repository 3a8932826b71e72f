from django.apps import AppConfig


class EliumPortalConfig(AppConfig):
    name = "elium_portal"
    verbose_name = "Elium portal"
    default_auto_field = "django.db.models.BigAutoField"
