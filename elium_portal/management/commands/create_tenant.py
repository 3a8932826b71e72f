"""``create_tenant SLUG [--name N] [--admin-username U --admin-password P]`` — idempotent."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from elium_portal.services.tenants import tenant_admin_ensure, tenant_ensure


class Command(BaseCommand):
    help = "Create an Elium tenant (and optionally its first administrator). Safe to re-run."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="URL name of the tenant, e.g. 'acme' for /t/acme")
        parser.add_argument("--name", help="Display name (defaults to the slug, title-cased)")
        parser.add_argument("--admin-username", help="Create or confirm this administrator")
        parser.add_argument("--admin-password", help="Password for a newly created administrator")

    def handle(self, *args, slug, name, admin_username, admin_password, **options):
        if bool(admin_username) != bool(admin_password):
            raise CommandError("--admin-username and --admin-password must be given together.")
        try:
            tenant, created = tenant_ensure(slug=slug, name=name)
            if admin_username:
                _, admin_created = tenant_admin_ensure(
                    tenant=tenant, username=admin_username, password=admin_password
                )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc

        verbosity = options["verbosity"]
        if verbosity >= 1:
            verb = "Created" if created else "Tenant already exists:"
            self.stdout.write(f"{verb} {tenant.slug} ({tenant.name}) — {tenant.url}")
            if admin_username:
                state = "created" if admin_created else "already an administrator"
                self.stdout.write(f"Administrator {admin_username}: {state}")
