"""``issue_token SLUG [--revoke-others] [--grace 1h|24h] [--expires YYYY-MM-DD]``.

Prints only the new token on stdout, so scripts can capture it; everything else goes to stderr.
"""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from elium_portal.models import Tenant
from elium_portal.services.tokens import scim_token_issue


class Command(BaseCommand):
    help = "Issue a SCIM Secret token for a tenant and print it (only it) on stdout."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument(
            "--revoke-others",
            action="store_true",
            help="Other tokens of the tenant stop working (at once, or after --grace).",
        )
        parser.add_argument(
            "--grace",
            choices=["1h", "24h"],
            help="With --revoke-others: keep the old tokens working for this long.",
        )
        parser.add_argument("--expires", help="Expiry date of the new token (YYYY-MM-DD, UTC).")

    def handle(self, *args, slug, revoke_others, grace, expires, **options):
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug “{slug}”.")
        if grace and not revoke_others:
            raise CommandError("--grace only makes sense with --revoke-others.")
        expires_at = None
        if expires:
            try:
                day = dt.date.fromisoformat(expires)
            except ValueError as exc:
                raise CommandError(
                    f"--expires must be a date like 2027-01-31, not “{expires}”."
                ) from exc
            expires_at = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
        replace = (grace or "immediately") if revoke_others else None
        try:
            issued = scim_token_issue(
                tenant=tenant,
                label="command line (issue_token)",
                expires_at=expires_at,
                replace=replace,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(issued.plaintext)
        if options["verbosity"] >= 2:
            self.stderr.write(f"Issued {issued.token.display_prefix} for {tenant.slug}")
