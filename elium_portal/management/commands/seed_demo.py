"""``seed_demo`` — the demo data ``make run`` starts with. Idempotent."""

import json
import secrets

from django.conf import settings
from django.core.management.base import BaseCommand

from elium_portal.services.tenants import tenant_admin_ensure, tenant_ensure

DEMO_ADMIN_USERNAME = "admin"


def demo_admin_password() -> str:
    """The demo administrator's password: generated once into ``var/`` and reused."""
    path = settings.VAR_DIR / "demo-credentials.json"
    if path.exists():
        return json.loads(path.read_text())["password"]
    password = "demo-" + secrets.token_urlsafe(9)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"username": DEMO_ADMIN_USERNAME, "password": password}))
    path.chmod(0o600)
    return password


class Command(BaseCommand):
    help = "Create the demo tenant 'demo' with an administrator. Safe to re-run."

    def handle(self, *args, **options):
        tenant, _ = tenant_ensure(slug="demo", name="Demo Platform")
        password = demo_admin_password()
        _, created = tenant_admin_ensure(
            tenant=tenant, username=DEMO_ADMIN_USERNAME, password=password
        )
        if created:
            from django.contrib.auth import get_user_model

            # The demo admin is also support staff, so the Django admin is one click away.
            get_user_model().objects.filter(username=DEMO_ADMIN_USERNAME).update(
                is_staff=True, is_superuser=True
            )
        if options["verbosity"] >= 1:
            self.stdout.write(f"Demo tenant: {tenant.url}")
            self.stdout.write(f"Demo admin:  {DEMO_ADMIN_USERNAME} / {password}")
