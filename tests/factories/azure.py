"""Factories for the Azure side: the emulated directory, its enterprise applications, and each
application's provisioning job with its mappings and audit log.

Applications (with their job and default mappings) and assignments go through their services, as
the console creates them; directory objects, memberships and change records are written directly.
"""

import uuid

import factory

from provisioning.crypto import secret_encrypt
from provisioning.models import (
    AppRole,
    AppRoleAssignment,
    AttributeMapping,
    ChangeRecord,
    Directory,
    DirectoryGroup,
    DirectoryGroupMember,
    DirectoryImportJob,
    DirectoryUser,
    EnterpriseApplication,
    ObjectMapping,
    ProvisioningAuditEvent,
    ProvisioningJob,
    ScimValidationRun,
)
from provisioning.services.applications import (
    app_role_assignment_create,
    enterprise_application_create,
)


class DirectoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Directory

    name = factory.Sequence(lambda n: f"Contoso {n}")
    domain = factory.Sequence(lambda n: f"contoso{n}.onmicrosoft.com")


class DirectoryUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DirectoryUser

    directory = factory.SubFactory(DirectoryFactory)
    given_name = factory.Sequence(lambda n: f"Given{n}")
    surname = factory.Sequence(lambda n: f"Surname{n}")
    display_name = factory.LazyAttribute(lambda u: f"{u.given_name} {u.surname}")
    user_principal_name = factory.LazyAttribute(
        lambda u: f"{u.given_name.lower()}.{u.surname.lower()}@{u.directory.domain}"
    )
    mail = factory.LazyAttribute(lambda u: u.user_principal_name)
    mail_nickname = factory.LazyAttribute(lambda u: u.user_principal_name.split("@")[0])


class DirectoryGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DirectoryGroup

    directory = factory.SubFactory(DirectoryFactory)
    display_name = factory.Sequence(lambda n: f"Group {n}")
    mail_nickname = factory.Sequence(lambda n: f"group{n}")


class DirectoryGroupMemberFactory(factory.django.DjangoModelFactory):
    """A direct member row, written without a change record — a directory as it stands before a
    job's first cycle. ``directory_group_member_add`` is the way that records the change.
    The member is a new user of the group's directory unless ``member_group`` is given."""

    class Meta:
        model = DirectoryGroupMember

    group = factory.SubFactory(DirectoryGroupFactory)
    member_group = None
    member_user = factory.Maybe(
        "member_group",
        yes_declaration=None,
        no_declaration=factory.SubFactory(
            DirectoryUserFactory, directory=factory.SelfAttribute("..group.directory")
        ),
    )


class ChangeRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChangeRecord

    directory = factory.SubFactory(DirectoryFactory)
    object_type = ChangeRecord.ObjectType.USER
    object_id = factory.LazyFunction(uuid.uuid4)
    related_object_id = None
    change_type = ChangeRecord.ChangeType.CREATED


class EnterpriseApplicationFactory(factory.django.DjangoModelFactory):
    """An app added from the gallery by ``enterprise_application_create``: it comes with its
    "Default Access" role and its provisioning job (Manual, Off) with the template's mappings."""

    class Meta:
        model = EnterpriseApplication

    directory = factory.SubFactory(DirectoryFactory)
    template = EnterpriseApplication.Template.ELIUM
    name = ""

    @classmethod
    def _create(cls, model_class, *, directory, template, name):
        return enterprise_application_create(directory=directory, template=template, name=name)


def make_application(*, directory=None, template="elium", name=""):
    """An app added from the gallery, with its job and default mappings."""
    if directory is None:
        return EnterpriseApplicationFactory(template=template, name=name)
    return EnterpriseApplicationFactory(directory=directory, template=template, name=name)


class AppRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AppRole

    application = factory.SubFactory(EnterpriseApplicationFactory)
    display_name = factory.Sequence(lambda n: f"Role {n}")
    value = factory.SelfAttribute("display_name")


class AppRoleAssignmentFactory(factory.django.DjangoModelFactory):
    """An assignment made by ``app_role_assignment_create`` (the change feed records it, so the
    next cycle sees it). The principal is a new user of the app's directory unless
    ``principal_group`` is given; the role is the app's default unless ``role`` is."""

    class Meta:
        model = AppRoleAssignment

    application = factory.SubFactory(EnterpriseApplicationFactory)
    principal_group = None
    principal_user = factory.Maybe(
        "principal_group",
        yes_declaration=None,
        no_declaration=factory.SubFactory(
            DirectoryUserFactory, directory=factory.SelfAttribute("..application.directory")
        ),
    )
    role = None

    @classmethod
    def _create(cls, model_class, *, application, principal_user, principal_group, role):
        return app_role_assignment_create(
            application=application, principal=principal_user or principal_group, role=role
        )


class ProvisioningJobFactory(factory.django.DjangoModelFactory):
    """The job of a new gallery app (``application__template="scim"`` for the generic one).

    An app and its job are created together, so this adds an app and returns its job with the
    given fields written onto it. ``secret_token`` is stored encrypted, as the Provisioning blade
    does. To configure a job the way an admin does (validated, audited), call
    ``provisioning_job_update`` instead.
    """

    class Meta:
        model = ProvisioningJob

    application = factory.SubFactory(EnterpriseApplicationFactory)
    secret_token = None

    @classmethod
    def _create(cls, model_class, *, application, secret_token=None, **fields):
        job = application.provisioning_job
        if secret_token is not None:
            fields["secret_token_encrypted"] = secret_encrypt(secret_token)
        for name, value in fields.items():
            setattr(job, name, value)
        if fields:
            job.save()
        return job


class ObjectMappingFactory(factory.django.DjangoModelFactory):
    """A job's mapping for one object type: the gallery default when the job has one."""

    class Meta:
        model = ObjectMapping
        django_get_or_create = ("job", "object_type")

    job = factory.SubFactory(ProvisioningJobFactory)
    object_type = ObjectMapping.ObjectType.USER
    name = factory.LazyAttribute(lambda m: f"Provision {m.object_type}s")
    target_object = factory.LazyAttribute(
        lambda m: f"urn:ietf:params:scim:schemas:core:2.0:{m.object_type.title()}"
    )


class AttributeMappingFactory(factory.django.DjangoModelFactory):
    """One more Direct row of a mapping, written without the validation of
    ``attribute_mapping_save``."""

    class Meta:
        model = AttributeMapping

    object_mapping = factory.SubFactory(ObjectMappingFactory)
    mapping_type = AttributeMapping.MappingType.DIRECT
    source_attribute = "department"
    target_attribute = factory.Sequence(
        lambda n: f"urn:ietf:params:scim:schemas:extension:Test:2.0:User:attribute{n}"
    )
    order = factory.Sequence(lambda n: 1000 + n)


class ProvisioningAuditEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProvisioningAuditEvent

    application = factory.SubFactory(EnterpriseApplicationFactory)
    activity = ProvisioningAuditEvent.Activity.UPDATE_SETTINGS
    actor = None
    actor_label = "system"
    details = factory.Dict({})


class DirectoryImportJobFactory(factory.django.DjangoModelFactory):
    """A queued import file (``directory_import_job_create`` also queues its task)."""

    class Meta:
        model = DirectoryImportJob

    directory = factory.SubFactory(DirectoryFactory)
    filename = "users.json"
    content = ""


class ScimValidationRunFactory(factory.django.DjangoModelFactory):
    """A finished SCIM Validator run (no token kept: it is wiped when a run ends)."""

    class Meta:
        model = ScimValidationRun

    directory = factory.SubFactory(DirectoryFactory)
    tenant_url = factory.Sequence(lambda n: f"https://scim{n}.example.com/scim/v2")
    status = ScimValidationRun.Status.SUCCEEDED
