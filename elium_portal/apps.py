from django.apps import AppConfig


class EliumPortalConfig(AppConfig):
    name = "elium_portal"
    verbose_name = "Elium portal"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # django-axes announces lockouts by signal only; the receiver just calls the service.
        from axes.signals import user_locked_out  # noqa: PLC0415  (apps are loaded by now)

        from elium_portal.services.security import (  # noqa: PLC0415
            login_lockout_record,
        )

        def on_locked_out(sender, *, request=None, username=None, ip_address=None, **kwargs):
            login_lockout_record(username=username or "", ip=ip_address)

        user_locked_out.connect(
            on_locked_out, weak=False, dispatch_uid="elium_portal.login_lockout"
        )
