"""Directory, application, mapping and job services."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from provisioning.crypto import secret_decrypt
from provisioning.defaults import ACTIVE_EXPRESSION
from provisioning.models import (
    AttributeMapping,
    ChangeRecord,
    DirectoryUser,
    ObjectMapping,
    ProvisioningAuditEvent,
    ProvisioningJob,
)
from provisioning.scoping import ScopingClause, ScopingFilter, ScopingOperator, filters_from_json
from provisioning.selectors import (
    change_records_after,
    change_watermark,
    directory_user_list,
    first_rows,
)
from provisioning.services import directory as directory_services
from provisioning.services.applications import (
    app_role_assignment_create,
    app_role_assignment_delete,
)
from provisioning.services.jobs import provisioning_job_update
from provisioning.services.mappings import (
    attribute_mapping_delete,
    attribute_mapping_save,
    object_mapping_scoping_filter_add,
    object_mapping_update,
    object_mappings_restore_defaults,
)
from tests.factories import (
    DirectoryFactory,
    DirectoryGroupFactory,
    DirectoryUserFactory,
    UserFactory,
    make_application,
)

pytestmark = pytest.mark.django_db


def test_every_directory_change_is_in_the_feed_in_order():
    directory = DirectoryFactory()
    start = change_watermark(directory=directory)

    user = directory_services.directory_user_create(
        directory=directory, user_principal_name="ada@contoso.com", display_name="Ada"
    )
    directory_services.directory_user_update(directory=directory, user=user, job_title="CTO")
    group = directory_services.directory_group_create(directory=directory, display_name="Eng")
    directory_services.directory_group_member_add(directory=directory, group=group, member=user)
    app = make_application(directory=directory)
    assignment = app_role_assignment_create(application=app, principal=group)
    app_role_assignment_delete(application=app, assignment=assignment)
    directory_services.directory_user_soft_delete(directory=directory, user=user)

    feed = list(change_records_after(directory=directory, watermark=start))
    assert [(c.object_type, c.change_type) for c in feed] == [
        ("user", "created"),
        ("user", "updated"),
        ("group", "created"),
        ("membership", "created"),
        ("assignment", "created"),
        ("assignment", "deleted"),
        ("user", "deleted"),
    ]
    assert [c.id for c in feed] == sorted(c.id for c in feed)
    assert feed[3].related_object_id == user.object_id
    assert feed[4].related_object_id == app.object_id
    assert change_watermark(directory=directory) == feed[-1].id


def test_hard_delete_of_a_user_records_every_change_it_makes():
    directory = DirectoryFactory()
    boss = DirectoryUserFactory(directory=directory)
    report = DirectoryUserFactory(directory=directory, manager=boss)
    group = DirectoryGroupFactory(directory=directory)
    directory_services.directory_group_member_add(directory=directory, group=group, member=boss)
    app = make_application(directory=directory)
    app_role_assignment_create(application=app, principal=boss)
    directory_services.directory_user_soft_delete(directory=directory, user=boss)
    start = change_watermark(directory=directory)

    directory_services.directory_user_hard_delete(directory=directory, user=boss)

    feed = list(change_records_after(directory=directory, watermark=start))
    assert [(c.object_type, c.object_id, c.change_type, c.related_object_id) for c in feed] == [
        ("membership", group.object_id, "deleted", boss.object_id),
        ("assignment", boss.object_id, "deleted", app.object_id),
        ("user", report.object_id, "updated", None),
        ("user", boss.object_id, "deleted", None),
    ]
    assert not DirectoryUser.objects.filter(object_id=boss.object_id).exists()
    report.refresh_from_db()
    assert report.manager is None
    assert not group.members.exists()
    assert not app.assignments.exists()
    # deleting again is a no-op
    directory_services.directory_user_hard_delete(directory=directory, user=boss)
    assert change_watermark(directory=directory) == feed[-1].id


def test_hard_delete_refuses_a_user_of_another_directory():
    user = DirectoryUserFactory()
    with pytest.raises(ValueError, match="another directory"):
        directory_services.directory_user_hard_delete(directory=DirectoryFactory(), user=user)


def test_group_delete_records_its_memberships_and_assignments():
    directory = DirectoryFactory()
    parent = DirectoryGroupFactory(directory=directory)
    group = DirectoryGroupFactory(directory=directory)
    nested = DirectoryGroupFactory(directory=directory)
    user = DirectoryUserFactory(directory=directory)
    for owner, member in ((parent, group), (group, user), (group, nested)):
        directory_services.directory_group_member_add(
            directory=directory, group=owner, member=member
        )
    app = make_application(directory=directory)
    app_role_assignment_create(application=app, principal=group)
    start = change_watermark(directory=directory)

    directory_services.directory_group_hard_delete(directory=directory, group=group)

    feed = list(change_records_after(directory=directory, watermark=start))
    assert [(c.object_type, c.object_id, c.change_type, c.related_object_id) for c in feed] == [
        ("membership", group.object_id, "deleted", user.object_id),
        ("membership", group.object_id, "deleted", nested.object_id),
        ("membership", parent.object_id, "deleted", group.object_id),
        ("assignment", group.object_id, "deleted", app.object_id),
        ("group", group.object_id, "deleted", None),
    ]
    assert not parent.members.exists()


def test_an_update_that_changes_nothing_writes_no_change():
    user = DirectoryUserFactory(job_title="CTO")
    before = ChangeRecord.objects.count()
    assert (
        directory_services.directory_user_update(
            directory=user.directory, user=user, job_title="CTO"
        )
        == []
    )
    assert ChangeRecord.objects.count() == before


def test_upn_is_unique_per_directory_case_insensitively():
    user = DirectoryUserFactory()
    with pytest.raises(ValidationError) as error:
        directory_services.directory_user_create(
            directory=user.directory,
            user_principal_name=user.user_principal_name.upper(),
            display_name="Twin",
        )
    assert "user_principal_name" in error.value.message_dict
    # Another directory may reuse it.
    directory_services.directory_user_create(
        directory=DirectoryFactory(),
        user_principal_name=user.user_principal_name,
        display_name="Twin",
    )


def test_manager_chain_cannot_loop():
    boss = DirectoryUserFactory()
    report = DirectoryUserFactory(directory=boss.directory, manager=boss)
    with pytest.raises(ValidationError):
        directory_services.directory_user_update(
            directory=boss.directory, user=boss, manager=report
        )


def test_nested_groups_cannot_contain_themselves():
    outer = DirectoryGroupFactory()
    inner = DirectoryGroupFactory(directory=outer.directory)
    directory = outer.directory
    assert directory_services.directory_group_member_add(
        directory=directory, group=outer, member=inner
    )
    assert not directory_services.directory_group_member_add(
        directory=directory, group=outer, member=inner
    )
    with pytest.raises(ValidationError):
        directory_services.directory_group_member_add(
            directory=directory, group=inner, member=outer
        )


def test_user_search_matches_name_upn_and_mail():
    ada = DirectoryUserFactory(display_name="Ada Lovelace", user_principal_name="ada@x.com")
    DirectoryUserFactory(directory=ada.directory, display_name="Bob", user_principal_name="b@x.com")
    found = directory_user_list(directory=ada.directory, search="love")
    assert list(found) == [ada]
    assert list(directory_user_list(directory=ada.directory, search=str(ada.object_id))) == [ada]


def _first_rows_read(directory, *, size):
    """(what first_rows gives, the SQL of its read) for the directory's users, counted first."""
    users = directory_user_list(directory=directory)
    total = users.count()
    with CaptureQueriesContext(connection) as queries:
        rows = first_rows(users, total=total, size=size)
    (read,) = [query["sql"] for query in queries.captured_queries]
    return rows, read


def test_first_rows_reads_a_few_matches_whole_and_many_up_to_the_size():
    directory = DirectoryFactory()
    for name in ["Cy", "Ann", "Bea", "Dee"]:
        DirectoryUserFactory(directory=directory, display_name=name)

    rows, read = _first_rows_read(directory, size=4)
    assert [u.display_name for u in rows] == ["Ann", "Bea", "Cy", "Dee"]
    assert "LIMIT" not in read  # PostgreSQL scans and sorts rather than walk an index

    rows, read = _first_rows_read(directory, size=3)
    assert [u.display_name for u in rows] == ["Ann", "Bea", "Cy"]
    assert "LIMIT 3" in read


def test_first_rows_cuts_off_rows_added_after_the_count():
    directory = DirectoryFactory()
    DirectoryUserFactory(directory=directory, display_name="Ann")
    users = directory_user_list(directory=directory)
    total = users.count()
    DirectoryUserFactory(directory=directory, display_name="Abe")
    assert [u.display_name for u in first_rows(users, total=total, size=1)] == ["Abe"]


@pytest.mark.parametrize(
    ("template", "names", "user_rows"),
    [
        ("scim", ["Provision Microsoft Entra ID Users", "Provision Microsoft Entra ID Groups"], 22),
        ("elium", ["Synchronize Microsoft Entra users to Elium"], 9),
    ],
)
def test_gallery_apps_get_their_default_mappings(template, names, user_rows):
    app = make_application(template=template)
    job = app.provisioning_job
    assert job.job_id.startswith("scim.")
    assert (job.mode, job.status, job.scope, job.deletion_threshold) == (
        "manual",
        "off",
        "assigned",
        500,
    )
    mappings = list(job.mappings.order_by("-object_type"))
    assert [m.name for m in mappings] == names
    users = mappings[0].attributes.all()
    assert users.count() == user_rows
    upn = users.get(target_attribute="userName")
    assert (upn.source_attribute, upn.matching_precedence) == ("userPrincipalName", 1)
    active = users.get(target_attribute="active")
    assert (active.mapping_type, active.expression) == ("Expression", ACTIVE_EXPRESSION)
    assert app.roles.filter(display_name="Default Access", is_default=True).exists()


def test_product_name_setting_changes_mapping_names(settings):
    settings.AZURE_DIRECTORY_PRODUCT_NAME = "Azure Active Directory"
    app = make_application(template="scim")
    assert app.provisioning_job.mappings.get(object_type="user").name == (
        "Provision Azure Active Directory Users"
    )


def test_restore_default_mappings_undoes_edits_and_filters():
    app = make_application(template="scim")
    job = app.provisioning_job
    users = job.mappings.get(object_type="user")
    users.attributes.get(target_attribute="title").delete()
    object_mapping_scoping_filter_add(
        mapping=users,
        scoping_filter=ScopingFilter(
            "Sales only", (ScopingClause("department", ScopingOperator.EQUALS, "Sales"),)
        ),
    )
    object_mappings_restore_defaults(job=job)
    users = job.mappings.get(object_type="user")
    assert users.attributes.filter(target_attribute="title").exists()
    assert users.scoping_filters == []
    assert (
        ProvisioningAuditEvent.objects.filter(
            application=app, activity="Update attribute mappings or scope"
        ).count()
        == 2
    )


def test_attribute_mapping_validation_reports_each_field():
    app = make_application(template="scim")
    users = app.provisioning_job.mappings.get(object_type="user")
    with pytest.raises(ValidationError) as error:
        attribute_mapping_save(
            mapping=users,
            mapping_type="Expression",
            expression='Join(" ", [givenName]',
            target_attribute="title",
            matching_precedence=1,
        )
    errors = error.value.message_dict
    assert "position" in errors["expression"][0]
    assert "already the target" in errors["target_attribute"][0]
    assert "precedence 1" in errors["matching_precedence"][0]


def test_attribute_mapping_add_edit_delete_are_audited():
    actor = UserFactory(is_staff=True)
    app = make_application(template="scim")
    users = app.provisioning_job.mappings.get(object_type="user")
    added = attribute_mapping_save(
        mapping=users,
        mapping_type="Constant",
        constant_value="Employee",
        target_attribute="userType",
        actor=actor,
    )
    assert added.source_display == '"Employee"'
    edited = attribute_mapping_save(
        mapping=users,
        instance=added,
        mapping_type="Expression",
        expression="ToUpper([userType])",
        constant_value="ignored",
        target_attribute="userType",
        apply="OnlyDuringCreation",
        actor=actor,
    )
    assert (edited.constant_value, edited.apply) == ("", "OnlyDuringCreation")
    attribute_mapping_delete(attribute=edited, actor=actor)
    assert not AttributeMapping.objects.filter(pk=added.pk).exists()
    events = ProvisioningAuditEvent.objects.filter(application=app)
    assert events.count() == 3
    assert {e.actor_label for e in events} == {actor.username}


def test_the_last_matching_attribute_cannot_be_deleted():
    app = make_application(template="elium")
    users = app.provisioning_job.mappings.get(object_type="user")
    with pytest.raises(ValidationError):
        attribute_mapping_delete(attribute=users.attributes.get(target_attribute="userName"))


def test_users_mapping_cannot_be_disabled_but_groups_can():
    app = make_application(template="scim")
    job = app.provisioning_job
    groups = job.mappings.get(object_type=ObjectMapping.ObjectType.GROUP)
    object_mapping_update(
        mapping=groups, enabled=False, action_create=True, action_update=True, action_delete=False
    )
    groups.refresh_from_db()
    assert (groups.enabled, groups.action_delete) == (False, False)
    with pytest.raises(ValidationError):
        object_mapping_update(
            mapping=job.mappings.get(object_type="user"),
            enabled=False,
            action_create=True,
            action_update=True,
            action_delete=True,
        )


def test_scoping_filters_are_stored_with_the_scoping_module():
    app = make_application(template="elium")
    users = app.provisioning_job.mappings.get(object_type="user")
    scoping_filter = ScopingFilter(
        "Sales", (ScopingClause("department", ScopingOperator.EQUALS, "Sales"),)
    )
    object_mapping_scoping_filter_add(mapping=users, scoping_filter=scoping_filter)
    users.refresh_from_db()
    assert filters_from_json(users.scoping_filters) == [scoping_filter]
    with pytest.raises(ValidationError):
        object_mapping_scoping_filter_add(mapping=users, scoping_filter=ScopingFilter("", ()))


def job_values(**overrides):
    values = {
        "mode": "automatic",
        "tenant_url": "https://elium.example.com/scim/v2",
        "secret_token": "s3cret-token-value",
        "notification_email": "ops@example.com",
        "send_failure_email": True,
        "prevent_accidental_deletion": True,
        "deletion_threshold": 500,
        "scope": "assigned",
        "status": "off",
    }
    values.update(overrides)
    return values


def test_job_update_encrypts_the_token_and_blank_keeps_it():
    job = make_application().provisioning_job
    activities = provisioning_job_update(job=job, **job_values())
    assert activities == ["Update provisioning setting or credentials"]
    job.refresh_from_db()
    assert "s3cret-token-value" not in job.secret_token_encrypted
    assert secret_decrypt(job.secret_token_encrypted) == "s3cret-token-value"
    stored = job.secret_token_encrypted

    provisioning_job_update(job=job, **job_values(secret_token=""))
    job.refresh_from_db()
    assert job.secret_token_encrypted == stored


def test_job_status_changes_are_audited_as_start_and_stop():
    job = make_application().provisioning_job
    provisioning_job_update(job=job, **job_values())
    assert provisioning_job_update(job=job, **job_values(secret_token="", status="on")) == [
        "Enable/start provisioning configuration"
    ]
    assert provisioning_job_update(job=job, **job_values(secret_token="", status="off")) == [
        "Disable/pause provisioning configuration"
    ]
    details = list(ProvisioningAuditEvent.objects.values_list("details", flat=True))
    assert "s3cret" not in str(details)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"tenant_url": ""}, "tenant_url"),
        ({"tenant_url": "ftp://example.com/scim"}, "tenant_url"),
        ({"tenant_url": "example.com/scim"}, "tenant_url"),
        ({"secret_token": ""}, "secret_token"),
        ({"notification_email": "not-an-email"}, "notification_email"),
        ({"notification_email": ""}, "notification_email"),
        ({"deletion_threshold": 0}, "deletion_threshold"),
        ({"deletion_threshold": 99999999999999999999}, "deletion_threshold"),
        ({"tenant_url": "https://example.com:99999/scim"}, "tenant_url"),
        ({"tenant_url": "https://example.com:80a/scim"}, "tenant_url"),
        ({"tenant_url": "https://" + "a" * 64 + ".example.com/scim"}, "tenant_url"),
        ({"tenant_url": "https://xn--a.example.com/scim"}, "tenant_url"),
        ({"tenant_url": "https://a..example.com/scim"}, "tenant_url"),
        ({"mode": "manual", "status": "on"}, "status"),
    ],
)
def test_job_update_rejects_bad_values_and_saves_nothing(overrides, field):
    job = make_application(template="elium").provisioning_job
    with pytest.raises(ValidationError) as error:
        provisioning_job_update(job=job, **job_values(**overrides))
    assert field in error.value.message_dict
    job.refresh_from_db()
    assert job.mode == ProvisioningJob.Mode.MANUAL
    assert not ProvisioningAuditEvent.objects.exists()


def test_mode_cannot_go_back_to_manual():
    job = make_application().provisioning_job
    provisioning_job_update(job=job, **job_values())
    with pytest.raises(ValidationError):
        provisioning_job_update(job=job, **job_values(mode="manual", secret_token=""))


def test_restore_default_mappings_on_save():
    job = make_application(template="scim").provisioning_job
    job.mappings.get(object_type="user").attributes.all().delete()
    activities = provisioning_job_update(
        job=job, **job_values(secret_token=""), restore_default_mappings=True
    )
    assert "Update attribute mappings or scope" in activities
    assert job.mappings.get(object_type="user").attributes.count() == 22
