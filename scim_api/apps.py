from django.apps import AppConfig


class ScimApiConfig(AppConfig):
    name = "scim_api"
    verbose_name = "SCIM API"
    default_auto_field = "django.db.models.BigAutoField"
