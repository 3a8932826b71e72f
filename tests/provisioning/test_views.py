"""The Azure console's pages, through Django's test client."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from django.urls import reverse

from provisioning.crypto import secret_encrypt
from provisioning.forms import DirectoryForm
from provisioning.models import AttributeMapping, DirectoryUser, ProvisioningAuditEvent
from provisioning.scoping import filters_from_json
from provisioning.services import directory as directory_services
from provisioning.services import mappings as mapping_services
from tests.factories import (
    DirectoryFactory,
    DirectoryGroupFactory,
    DirectoryUserFactory,
    UserFactory,
    make_application,
)

pytestmark = pytest.mark.django_db


def app_kwargs(app):
    return {"tenant_id": app.directory.tenant_id, "app_id": app.object_id}


def test_console_requires_a_staff_login(client):
    directory = DirectoryFactory()
    url = reverse("provisioning:directory", kwargs={"tenant_id": directory.tenant_id})
    response = client.get(url)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    client.force_login(UserFactory(is_staff=False))
    assert client.get(url).status_code == 403


def test_every_page_renders(staff_client):
    app = make_application(template="scim")
    user = DirectoryUserFactory(directory=app.directory)
    group = DirectoryGroupFactory(directory=app.directory)
    tid = app.directory.tenant_id
    attribute = AttributeMapping.objects.filter(object_mapping__job__application=app).first()
    urls = [
        reverse("provisioning:home"),
        reverse("provisioning:directory", kwargs={"tenant_id": tid}),
        reverse("provisioning:users", kwargs={"tenant_id": tid}) + "?q=given",
        reverse("provisioning:user-new", kwargs={"tenant_id": tid}),
        reverse("provisioning:user-edit", kwargs={"tenant_id": tid, "object_id": user.object_id}),
        reverse("provisioning:groups", kwargs={"tenant_id": tid}),
        reverse("provisioning:group-new", kwargs={"tenant_id": tid}),
        reverse("provisioning:group-edit", kwargs={"tenant_id": tid, "object_id": group.object_id}),
        reverse("provisioning:import", kwargs={"tenant_id": tid}),
        reverse("provisioning:apps", kwargs={"tenant_id": tid}),
        reverse("provisioning:app-new", kwargs={"tenant_id": tid}),
        reverse("provisioning:app-overview", kwargs=app_kwargs(app)),
        reverse("provisioning:app-users", kwargs=app_kwargs(app)),
        reverse("provisioning:app-audit", kwargs=app_kwargs(app)),
        reverse("provisioning:provisioning", kwargs=app_kwargs(app)) + "?start=1",
        reverse("provisioning:mapping", kwargs={**app_kwargs(app), "object_type": "group"}),
        reverse("provisioning:attribute-new", kwargs={**app_kwargs(app), "object_type": "user"}),
        reverse(
            "provisioning:attribute-edit",
            kwargs={**app_kwargs(app), "object_type": "user", "pk": attribute.pk},
        ),
        reverse("provisioning:scope", kwargs={**app_kwargs(app), "object_type": "user"}),
        reverse("provisioning:scope-new", kwargs={**app_kwargs(app), "object_type": "user"}),
    ]
    for url in urls:
        response = staff_client.get(url)
        assert response.status_code == 200, url


def test_objects_of_another_directory_are_not_found(staff_client):
    app = make_application()
    other = DirectoryFactory()
    user = DirectoryUserFactory()
    assert (
        staff_client.get(
            reverse(
                "provisioning:app-overview",
                kwargs={"tenant_id": other.tenant_id, "app_id": app.object_id},
            )
        ).status_code
        == 404
    )
    assert (
        staff_client.get(
            reverse(
                "provisioning:user-edit",
                kwargs={"tenant_id": other.tenant_id, "object_id": user.object_id},
            )
        ).status_code
        == 404
    )


def test_a_deleted_user_can_be_deleted_permanently(staff_client):
    user = DirectoryUserFactory()
    directory = user.directory
    url = reverse(
        "provisioning:user-edit",
        kwargs={"tenant_id": directory.tenant_id, "object_id": user.object_id},
    )
    page = staff_client.get(url).content.decode()
    assert "Delete permanently" not in page
    # Only a soft-deleted user can be deleted permanently.
    response = staff_client.post(url, {"hard_delete": "1"}, follow=True)
    assert "only deleted users can be deleted permanently" in response.content.decode()
    assert DirectoryUser.objects.filter(pk=user.pk).exists()

    staff_client.post(url, {"soft_delete": "1"})
    page = staff_client.get(url).content.decode()
    assert 'name="hard_delete"' in page
    assert "data-confirm=" in page.split('name="hard_delete"')[1].split(">")[0]
    response = staff_client.post(url, {"hard_delete": "1"})
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "provisioning:users", kwargs={"tenant_id": directory.tenant_id}
    )
    assert not DirectoryUser.objects.filter(pk=user.pk).exists()
    assert directory.changes.filter(object_id=user.object_id).last().change_type == "deleted"
    assert staff_client.get(url).status_code == 404


def test_create_user_by_hand_reports_duplicate_upn(staff_client):
    existing = DirectoryUserFactory()
    url = reverse("provisioning:user-new", kwargs={"tenant_id": existing.directory.tenant_id})
    response = staff_client.post(
        url,
        {
            "user_principal_name": existing.user_principal_name.upper(),
            "display_name": "Twin",
            "account_enabled": "on",
        },
    )
    assert response.status_code == 200
    assert "already has this user principal name" in response.content.decode()
    response = staff_client.post(
        url,
        {
            "user_principal_name": f"new@{existing.directory.domain}",
            "display_name": "New",
            "account_enabled": "on",
        },
    )
    assert response.status_code == 302
    assert DirectoryUser.objects.filter(
        user_principal_name=f"new@{existing.directory.domain}"
    ).exists()


def test_upload_page_lists_every_problem(staff_client):
    directory = DirectoryFactory()
    url = reverse("provisioning:import", kwargs={"tenant_id": directory.tenant_id})
    bad = SimpleUploadedFile(
        "users.csv", b"userPrincipalName,displayName,objectId\nbad,Bad,nope\n", "text/csv"
    )
    response = staff_client.post(url, {"file": bad})
    page = response.content.decode()
    assert "Nothing was imported: 2 problems" in page
    assert "objectId" in page
    assert "userPrincipalName" in page


def test_provisioning_save_never_renders_the_token(staff_client):
    app = make_application(template="elium")
    url = reverse("provisioning:provisioning", kwargs=app_kwargs(app))
    values = {
        "mode": "automatic",
        "tenant_url": "https://elium.example.com/scim/v2",
        "secret_token": "very-secret-token-123",
        "notification_email": "not-an-email",
        "deletion_threshold": "500",
        "scope": "assigned",
        "status": "off",
    }
    response = staff_client.post(url, values)
    assert response.status_code == 200
    assert "very-secret-token-123" not in response.content.decode()
    assert "Enter a valid email address." in response.content.decode()
    values["notification_email"] = "ops@example.com"
    assert staff_client.post(url, values).status_code == 302
    page = staff_client.get(url).content.decode()
    assert "very-secret-token-123" not in page
    assert "A Secret Token is saved" in page
    assert ProvisioningAuditEvent.objects.filter(
        activity="Update provisioning setting or credentials"
    ).exists()


def test_expression_validation_endpoint(staff_client):
    url = reverse("provisioning:expression-validate")
    ok = staff_client.post(url, {"expression": 'Join(" ", [givenName], [surname])'}).json()
    assert ok == {"ok": True, "message": "The expression was correctly parsed."}
    bad = staff_client.post(url, {"expression": 'Join(" ", [givenName]'}).json()
    assert bad["ok"] is False
    assert "position" in bad["message"]
    assert bad["position"] >= 0


def test_edit_attribute_dialog_rejects_a_bad_expression(staff_client):
    app = make_application(template="scim")
    url = reverse("provisioning:attribute-new", kwargs={**app_kwargs(app), "object_type": "user"})
    form = {
        "mapping_type": "Expression",
        "expression": "ToUpper([mail]",
        "target_attribute": "nickName",
        "match_objects": "no",
        "apply": "Always",
    }
    response = staff_client.post(url, form)
    assert response.status_code == 200
    assert "position" in response.content.decode()
    form["expression"] = "ToUpper([mail])"
    assert staff_client.post(url, form).status_code == 302
    assert AttributeMapping.objects.filter(target_attribute="nickName").exists()


def test_scoping_filter_editor_adds_clauses_and_validates(staff_client):
    app = make_application(template="elium")
    url = reverse("provisioning:scope-new", kwargs={**app_kwargs(app), "object_type": "user"})
    # A bad clause shows the validate_clause message and keeps the row.
    response = staff_client.post(
        url,
        {
            "clause_count": "0",
            "new-attribute": "manager",
            "new-operator": "EQUALS",
            "new-value": "x",
            "add_clause": "1",
        },
    )
    assert "cannot be used in scoping filters" in response.content.decode()
    response = staff_client.post(
        url,
        {
            "clause_count": "0",
            "new-attribute": "department",
            "new-operator": "EQUALS",
            "new-value": "Sales",
            "add_clause": "1",
        },
    )
    assert 'value="department"' in response.content.decode()
    response = staff_client.post(
        url,
        {
            "clause_count": "1",
            "clause-0-attribute": "department",
            "clause-0-operator": "EQUALS",
            "clause-0-value": "Sales",
            "new-attribute": "accountEnabled",
            "new-operator": "IS TRUE",
            "new-value": "",
            "title": "Sales, enabled",
            "ok": "1",
        },
    )
    assert response.status_code == 302
    mapping = app.provisioning_job.mappings.get(object_type="user")
    mapping.refresh_from_db()
    (saved,) = filters_from_json(mapping.scoping_filters)
    assert saved.title == "Sales, enabled"
    assert [(c.attribute, str(c.operator), c.value) for c in saved.clauses] == [
        ("department", "EQUALS", "Sales"),
        ("accountEnabled", "IS TRUE", ""),
    ]
    json.dumps(mapping.scoping_filters)


def test_restore_default_mappings_checkbox_on_save(staff_client):
    app = make_application(template="scim")
    job = app.provisioning_job
    job.mappings.get(object_type="user").attributes.filter(target_attribute="title").delete()
    url = reverse("provisioning:provisioning", kwargs=app_kwargs(app))
    response = staff_client.post(
        url,
        {
            "mode": "automatic",
            "tenant_url": "https://scim.example.com/scim",
            "deletion_threshold": "500",
            "scope": "assigned",
            "status": "off",
            "restore_default_mappings": "on",
        },
    )
    assert response.status_code == 302
    assert job.mappings.get(object_type="user").attributes.filter(target_attribute="title").exists()


def test_labels_follow_the_product_name_setting(staff_client, settings):
    settings.AZURE_DIRECTORY_PRODUCT_NAME = "Azure Active Directory"
    app = make_application(template="scim")
    page = staff_client.get(
        reverse("provisioning:mapping", kwargs={**app_kwargs(app), "object_type": "user"})
    ).content.decode()
    assert "Azure Active Directory admin center" in page
    assert "Provision Azure Active Directory Users" in page
    assert "Azure Active Directory Attribute" in page
    assert "customappsso Attribute" in page


def test_support_admin_never_shows_the_secret(admin_client):
    job = make_application().provisioning_job
    job.secret_token_encrypted = secret_encrypt("admin-secret-value")
    job.save()
    page = admin_client.get(
        reverse("admin:provisioning_provisioningjob_change", args=[job.pk])
    ).content.decode()
    assert job.job_id in page
    assert "admin-secret-value" not in page
    assert job.secret_token_encrypted not in page


def test_test_connection_without_scripts_renders_the_notification(staff_client):
    app = make_application(template="elium")
    url = reverse("provisioning:test-connection", kwargs=app_kwargs(app))
    response = staff_client.post(
        url, {"tenant_url": "http://169.254.169.254/scim", "secret_token": "never-shown-token"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Testing connection to Elium" in page
    assert "You appear to have entered invalid credentials." in page
    assert "never-shown-token" not in page
    json_response = staff_client.post(
        url,
        {"tenant_url": "http://169.254.169.254/scim", "secret_token": "never-shown-token"},
        headers={"X-Requested-With": "fetch"},
    ).json()
    assert json_response["ok"] is False
    assert json_response["error_code"]
    assert "never-shown-token" not in str(json_response)


def test_a_user_principal_name_taken_meanwhile_is_a_form_error(staff_client, monkeypatch):
    existing = DirectoryUserFactory()
    url = reverse("provisioning:user-new", kwargs={"tenant_id": existing.directory.tenant_id})

    # Another request saved the same name between the service's checks and its insert.
    def lose_the_race(**kwargs):
        raise IntegrityError('duplicate key value violates "provisioning_user_unique_upn"')

    monkeypatch.setattr(directory_services, "directory_user_create", lose_the_race)

    response = staff_client.post(
        url,
        {
            "user_principal_name": existing.user_principal_name.upper(),
            "display_name": "Twin",
            "account_enabled": "on",
        },
    )

    assert response.status_code == 200
    assert "Another user already has this user principal name." in response.content.decode()
    assert DirectoryUser.objects.filter(directory=existing.directory).count() == 1


@pytest.mark.django_db(transaction=True)  # the insert fails in the database, as in a race
def test_a_directory_name_taken_meanwhile_is_a_form_error(staff_client, monkeypatch):
    DirectoryFactory(name="Contoso")
    # Another request created the directory after the form's check.
    monkeypatch.setattr(DirectoryForm, "clean_name", lambda form: form.cleaned_data["name"])

    response = staff_client.post(
        reverse("provisioning:home"), {"name": "Contoso", "domain": "contoso.example"}
    )

    assert response.status_code == 200
    assert "A directory with this name already exists." in response.content.decode()


def test_an_attribute_target_taken_meanwhile_is_a_form_error(staff_client, monkeypatch):
    app = make_application(template="scim")
    url = reverse("provisioning:attribute-new", kwargs={**app_kwargs(app), "object_type": "user"})
    # Another request maps the same target between the service's check and its insert.
    monkeypatch.setattr(mapping_services, "_validate_attribute", lambda *args, **kwargs: None)

    response = staff_client.post(
        url,
        {
            "mapping_type": "Constant",
            "constant_value": "x",
            "target_attribute": "userName",
            "match_objects": "no",
            "apply": "Always",
        },
    )

    assert response.status_code == 200
    assert "was saved meanwhile" in response.content.decode()
