"""The demo seed: both sides, wired together, idempotent."""

import pytest
from django.core.management import call_command

from elium_portal.models import Membership, ScimToken, Tenant
from elium_portal.services.tokens import scim_token_authenticate
from provisioning.crypto import secret_decrypt
from provisioning.models import Directory, EnterpriseApplication, ProvisioningJob

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_both_sides_once(capsys):
    call_command("seed_demo")
    call_command("seed_demo")

    tenant = Tenant.objects.get(slug="demo")
    assert Membership.objects.get(tenant=tenant).role == "admin"
    directory = Directory.objects.get(name="Contoso")
    assert directory.users.count() == 36
    app = EnterpriseApplication.objects.get(directory=directory)
    assert app.name == "Elium"
    job = app.provisioning_job
    assert job.mode == ProvisioningJob.Mode.AUTOMATIC
    assert job.status == ProvisioningJob.Status.OFF
    assert job.tenant_url == tenant.scim_base_url
    assert ScimToken.objects.filter(tenant=tenant).count() == 1
    assert "already there" in capsys.readouterr().out
    # The tutorial: an application-specific role, since Default Access is excluded.
    assert sorted(app.assignments.values_list("role__display_name", flat=True)) == ["User"] * 4


def test_the_demo_apps_token_authenticates_against_the_demo_tenant():
    call_command("seed_demo")
    job = ProvisioningJob.objects.get(application__name="Elium")

    token = scim_token_authenticate(plaintext=secret_decrypt(job.secret_token_encrypted))

    assert token.tenant.slug == "demo"
