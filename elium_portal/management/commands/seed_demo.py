"""``seed_demo`` — the demo data ``make run`` starts with. Idempotent.

The Elium side: tenant ``demo`` with an administrator. The Azure side: a directory "Contoso"
with people, a manager chain and two groups, and an "Elium" enterprise application whose
Tenant URL is the demo tenant's SCIM endpoint and whose Secret Token is a token of that tenant,
assigned to two groups and two people with the role "User", Provisioning Mode Automatic,
Provisioning Status Off. This command (and the root URLconf) is the only place that knows both
sides.
"""

import json
import secrets
import unicodedata

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from elium_portal.models import DEMO_SEED_TOKEN_LABEL
from elium_portal.services.tenants import tenant_admin_ensure, tenant_ensure
from elium_portal.services.tokens import scim_token_issue
from provisioning.models import Directory, EnterpriseApplication, ProvisioningJob
from provisioning.services.applications import (
    app_role_assignment_create,
    enterprise_application_create,
)
from provisioning.services.directory import (
    directory_create,
    directory_group_create,
    directory_group_member_add,
    directory_user_create,
)
from provisioning.services.jobs import provisioning_job_update

DEMO_ADMIN_USERNAME = "admin"
DEMO_DIRECTORY = "Contoso"
DEMO_PEOPLE = [
    # (given, surname, title, department, index of the manager or None)
    ("Megan", "Bowen", "Chief Executive Officer", "Executive", None),
    ("Alex", "Wilber", "Head of Sales", "Sales", 0),
    ("Adele", "Vance", "Account Executive", "Sales", 1),
    ("Lee", "Gu", "Account Executive", "Sales", 1),
    ("Isaiah", "Langer", "Sales Engineer", "Sales", 1),
    ("Nestor", "Wilke", "VP Engineering", "Engineering", 0),
    ("Lidia", "Holloway", "Engineering Manager", "Engineering", 5),
    ("Diego", "Siciliani", "Software Engineer", "Engineering", 6),
    ("Grady", "Archie", "Site Reliability Engineer", "Engineering", 6),
    ("Pradeep", "Gupta", "Product Designer", "Engineering", 5),
    ("Joni", "Sherman", "Paralegal", "Legal", 0),
    ("Johanna", "Lorenz", "Office Manager", "Operations", 0),
    ("Miriam", "Graham", "Director of Marketing", "Marketing", 0),
    ("Patti", "Fernandez", "Content Strategist", "Marketing", 12),
    ("Henrietta", "Mueller", "Brand Designer", "Marketing", 12),
    ("Christie", "Cline", "Buyer", "Operations", 11),
    ("Enrico", "Cattaneo", "Support Lead", "Support", 11),
    ("Irvin", "Sayers", "Support Engineer", "Support", 16),
    ("Lynne", "Robbins", "Support Engineer", "Support", 16),
    ("Allan", "Deyoung", "IT Administrator", "IT", 11),
    ("Debra", "Berger", "Administrative Assistant", "Executive", 0),
    ("Emily", "Braun", "Budget Analyst", "Finance", 0),
    ("Nathan", "Kerr", "Controller", "Finance", 21),
    ("Yuki", "Tanaka", "Software Engineer", "Engineering", 6),
    ("Amara", "Okafor", "Software Engineer", "Engineering", 6),
    ("Sofia", "Rossi", "Data Scientist", "Engineering", 5),
    ("Lukas", "Schmidt", "QA Engineer", "Engineering", 6),
    ("Chloé", "Dubois", "Account Executive", "Sales", 1),
    ("Mateo", "García", "Sales Development Rep", "Sales", 1),
    ("Aisha", "Khan", "Customer Success Manager", "Sales", 1),
    ("Björn", "Lindqvist", "Solutions Architect", "Sales", 1),
    ("Priya", "Raman", "Recruiter", "People", 0),
    ("Tomás", "Novák", "People Partner", "People", 31),
    ("Grace", "Kim", "Legal Counsel", "Legal", 0),
    ("Olu", "Adeyemi", "Security Engineer", "IT", 19),
    ("Hannah", "Becker", "Technical Writer", "Engineering", 5),
]


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


def seed_elium_side():
    tenant, _ = tenant_ensure(slug="demo", name="Demo Platform")
    _, created = tenant_admin_ensure(
        tenant=tenant, username=DEMO_ADMIN_USERNAME, password=demo_admin_password()
    )
    if created:
        # The demo admin is also support staff, so the Django admin and the Azure console are
        # one click away.
        get_user_model().objects.filter(username=DEMO_ADMIN_USERNAME).update(
            is_staff=True, is_superuser=True
        )
    return tenant


@transaction.atomic
def seed_azure_side(tenant):
    if Directory.objects.filter(name=DEMO_DIRECTORY).exists():
        return Directory.objects.get(name=DEMO_DIRECTORY), False
    domain = "contoso.onmicrosoft.com"
    directory = directory_create(name=DEMO_DIRECTORY, domain=domain)
    people = []
    for index, (given, surname, title, department, manager) in enumerate(DEMO_PEOPLE):
        nickname = unicodedata.normalize("NFKD", f"{given}{surname[0]}").encode("ascii", "ignore")
        nickname = nickname.decode().lower()
        people.append(
            directory_user_create(
                directory=directory,
                user_principal_name=f"{nickname}@{domain}",
                mail=f"{nickname}@contoso.com",
                mail_nickname=nickname,
                given_name=given,
                surname=surname,
                display_name=f"{given} {surname}",
                job_title=title,
                department=department,
                company_name="Contoso",
                employee_id=f"E{1000 + index}",
                preferred_language="en-US",
                city="Seattle",
                country="US",
                manager=people[manager] if manager is not None else None,
            )
        )
    groups = {}
    for name in ("Sales", "Engineering", "Marketing", "Support"):
        groups[name] = directory_group_create(
            directory=directory,
            display_name=name,
            mail_nickname=name.lower(),
            security_enabled=True,
            description=f"The {name} team",
        )
        for person in people:
            if person.department == name:
                directory_group_member_add(directory=directory, group=groups[name], member=person)

    application = enterprise_application_create(
        directory=directory, template=EnterpriseApplication.Template.ELIUM, name="Elium"
    )
    # The tutorial: "select any valid application-specific role"; Default Access is excluded.
    role = application.roles.get(display_name="User")
    for name in ("Sales", "Engineering"):
        app_role_assignment_create(application=application, principal=groups[name], role=role)
    for person in (people[0], people[12]):  # the CEO and the head of marketing, directly
        app_role_assignment_create(application=application, principal=person, role=role)
    token = scim_token_issue(tenant=tenant, label=DEMO_SEED_TOKEN_LABEL).plaintext
    provisioning_job_update(
        job=application.provisioning_job,
        mode=ProvisioningJob.Mode.AUTOMATIC,
        tenant_url=tenant.scim_base_url,
        secret_token=token,
        status=ProvisioningJob.Status.OFF,
    )
    return directory, True


class Command(BaseCommand):
    help = "Create the demo: tenant 'demo' with an admin, and the Contoso directory with an "
    "Elium app provisioning into it. Safe to re-run."

    def handle(self, *args, **options):
        tenant = seed_elium_side()
        directory, created = seed_azure_side(tenant)
        if options["verbosity"] >= 1:
            self.stdout.write(f"Demo tenant: {tenant.url}")
            self.stdout.write(f"Demo admin:  {DEMO_ADMIN_USERNAME} / {demo_admin_password()}")
            state = "created" if created else "already there"
            self.stdout.write(f"Demo directory {directory.name}: {state}")
