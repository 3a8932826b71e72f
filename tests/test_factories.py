"""The test factories: one for every model, and each builds a row its model accepts."""

import factory
import pytest
from django.apps import apps

from elium_portal.models import AuditEvent
from elium_portal.services.tokens import scim_token_authenticate
from provisioning.models import ChangeRecord
from scim_api.models import ScimResourceCount
from tests import factories
from tests.factories import (
    AppRoleAssignmentFactory,
    DirectoryGroupFactory,
    DirectoryGroupMemberFactory,
    ProvisioningJobFactory,
    ScimGroupFactory,
    ScimGroupMemberFactory,
    ScimTokenFactory,
)

pytestmark = pytest.mark.django_db

FACTORIES = [
    value
    for value in vars(factories).values()
    if isinstance(value, type) and issubclass(value, factory.django.DjangoModelFactory)
]


def test_every_model_of_the_three_apps_has_a_factory():
    models = {
        model
        for label in ("elium_portal", "scim_api", "provisioning")
        for model in apps.get_app_config(label).get_models()
    }

    covered = {f._meta.model for f in FACTORIES}
    # Kept by PostgreSQL triggers only: a row made by hand would make the counts wrong.
    written_by_triggers = {ScimResourceCount}

    assert sorted(m.__name__ for m in models - covered - written_by_triggers) == []


@pytest.mark.parametrize("model_factory", FACTORIES, ids=lambda f: f.__name__)
def test_a_factory_builds_a_valid_row(model_factory):
    instance = model_factory()

    instance.full_clean()
    assert type(instance)._default_manager.filter(pk=instance.pk).exists()


def test_a_token_from_the_factory_authenticates_and_its_issue_is_audited():
    token = ScimTokenFactory()

    assert scim_token_authenticate(plaintext=token.plaintext).tenant == token.tenant
    assert AuditEvent.objects.filter(
        tenant=token.tenant, action=AuditEvent.Action.TOKEN_GENERATED
    ).exists()


def test_a_job_from_the_factory_keeps_its_secret_encrypted():
    job = ProvisioningJobFactory(mode="automatic", secret_token="s3cret-value")

    job.refresh_from_db()
    assert job.has_secret_token
    assert "s3cret-value" not in job.secret_token_encrypted
    assert job.mappings.exists()  # the gallery defaults came with the app


def test_members_default_to_a_user_of_the_same_tenant_or_directory():
    scim_member = ScimGroupMemberFactory()
    nested = ScimGroupMemberFactory(
        group=scim_member.group, member_group=ScimGroupFactory(tenant=scim_member.tenant)
    )
    directory_member = DirectoryGroupMemberFactory()
    nested_directory_group = DirectoryGroupMemberFactory(
        group=directory_member.group,
        member_group=DirectoryGroupFactory(directory=directory_member.group.directory),
    )

    assert scim_member.user.tenant == scim_member.group.tenant == scim_member.tenant
    assert nested.user is None
    assert directory_member.member_user.directory == directory_member.group.directory
    assert nested_directory_group.member_user is None


def test_an_assignment_from_the_factory_is_in_the_change_feed():
    assignment = AppRoleAssignmentFactory()

    assert assignment.principal_user.directory == assignment.application.directory
    assert assignment.role.is_default
    assert ChangeRecord.objects.filter(
        object_type=ChangeRecord.ObjectType.ASSIGNMENT,
        object_id=assignment.principal_user.object_id,
        related_object_id=assignment.application.object_id,
    ).exists()
