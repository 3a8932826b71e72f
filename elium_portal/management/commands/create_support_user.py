"""``create_support_user USERNAME --role support|support-admin`` — idempotent.

The password is read from the environment variable ``SUPPORT_USER_PASSWORD`` when set (so it
never lands in the shell history); otherwise a new user gets a generated one, printed once.
Re-running for an existing user changes its role, and its password only when the variable is
set. Superusers (operators) are refused: they are not support staff.
"""

import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from elium_portal.services.support import ROLES, support_user_ensure

PASSWORD_ENV = "SUPPORT_USER_PASSWORD"


class Command(BaseCommand):
    help = (
        "Create or update a support staff account for the Django admin. Support views; "
        "Support admin also acts (start/stop jobs, revoke tokens, unlock sign-ins). Password "
        f"from ${PASSWORD_ENV}, else generated and printed once. Safe to re-run."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=sorted(ROLES))

    def handle(self, *args, username, role, **options):
        try:
            user, password = support_user_ensure(
                username=username, role=role, password=os.environ.get(PASSWORD_ENV, "")
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        if options["verbosity"] >= 1:
            self.stdout.write(f"{user.get_username()}: {ROLES[role]}")
            if password and not os.environ.get(PASSWORD_ENV):
                self.stdout.write(f"Generated password (shown once): {password}")
