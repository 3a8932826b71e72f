"""Enterprise applications › SCIM Validator: a run is queued from the form, runs on a worker
with progress on its row, and shows its results, history and JSON."""

import json

import pytest

from provisioning.models import ScimValidationRun
from provisioning.validator.runs import scim_validation_run_execute
from tests.factories import DirectoryFactory, UserFactory, make_application
from tests.provisioning.engine_support import make_app
from tests.provisioning.validator_support import CompliantStub, TokenStub, bearer_required

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "console-secret-token-77"


def _page(directory, suffix=""):
    return f"/azure/directories/{directory.tenant_id}/scim-validator/{suffix}"


def test_a_run_is_queued_executed_and_shown_with_its_json(staff_client):
    directory = DirectoryFactory()
    with CompliantStub() as stub:
        response = staff_client.post(
            _page(directory),
            {
                "tenant_url": stub.url,
                "secret_token": TOKEN,
                "groups": "on",
                "dialect": "default",
            },
        )
        run = ScimValidationRun.objects.get()
        assert response.status_code == 302
        assert response.url.endswith(f"/scim-validator/{run.public_id}/")
        assert run.status == "queued"
        assert TOKEN not in run.token_encrypted
        assert "Queued" in staff_client.get(response.url).content.decode()

        scim_validation_run_execute(run_pk=run.pk)  # what the worker's task does

    run.refresh_from_db()
    assert run.status == "succeeded"
    assert run.token_encrypted == ""
    assert run.percent == 100
    page = staff_client.get(response.url, HTTP_HX_REQUEST="true").content.decode()
    assert "Succeeded:" in page
    assert "SCIM_User_Pagination" in page
    assert "hx-trigger" not in page
    assert TOKEN not in page
    download = staff_client.get(_page(directory, f"{run.public_id}/json/"))
    assert download["Content-Disposition"].startswith("attachment;")
    assert json.loads(download.content)["overall"] == "Succeeded"
    assert stub.url in staff_client.get(_page(directory)).content.decode()  # history


def test_a_failed_check_shows_its_deciding_exchange(staff_client):
    directory = DirectoryFactory()

    def no_groups(method, path, body):
        return (
            (404, {}, {"status": "404", "detail": "no groups here"}) if "/Groups" in path else None
        )

    with CompliantStub(responder=no_groups) as stub:
        staff_client.post(
            _page(directory),
            {"tenant_url": stub.url, "secret_token": TOKEN, "groups": "on", "dialect": "default"},
        )
        run = ScimValidationRun.objects.get()
        scim_validation_run_execute(run_pk=run.pk)

    page = staff_client.get(_page(directory, f"{run.public_id}/")).content.decode()
    assert run.__class__.objects.get().status == "failed"
    assert "▶ deciding exchange" in page
    assert "no groups here" in page


def test_a_bad_url_is_a_field_error(staff_client):
    directory = DirectoryFactory()

    response = staff_client.post(
        _page(directory), {"tenant_url": "ftp://x", "secret_token": "t", "dialect": "default"}
    )

    assert response.status_code == 200
    assert "must be an absolute http" in response.content.decode()
    assert not ScimValidationRun.objects.exists()


def test_runs_of_another_directory_are_not_found(staff_client):
    mine, other = DirectoryFactory(), DirectoryFactory()
    run = ScimValidationRun.objects.create(directory=other, tenant_url="http://x.example")

    assert staff_client.get(_page(mine, f"{run.public_id}/")).status_code == 404
    assert staff_client.get(_page(mine, f"{run.public_id}/json/")).status_code == 404


def test_the_page_is_for_staff_only(client):
    directory = DirectoryFactory()
    client.force_login(UserFactory(is_staff=False))

    assert client.get(_page(directory)).status_code in (302, 403)


def test_support_staff_see_runs_in_the_admin_without_the_token(admin_client):
    run = ScimValidationRun.objects.create(
        directory=DirectoryFactory(), tenant_url="http://x.example", token_encrypted="gAAAA-secret"
    )

    listing = admin_client.get("/admin/provisioning/scimvalidationrun/")
    detail = admin_client.get(f"/admin/provisioning/scimvalidationrun/{run.pk}/change/")

    assert listing.status_code == 200
    assert "http://x.example" in listing.content.decode()
    assert detail.status_code == 200
    assert "gAAAA-secret" not in detail.content.decode()


def test_a_run_with_the_oauth_client_credentials_grant(staff_client):
    directory = DirectoryFactory()
    answer = (200, {"access_token": "issued-3", "token_type": "Bearer", "expires_in": 3600})
    with TokenStub(answer=answer) as tokens, CompliantStub() as stub:
        stub.responder = bearer_required(stub, "issued-3")
        staff_client.post(
            _page(directory),
            {
                "tenant_url": stub.url,
                "auth_method": "oauth",
                "oauth_token_url": tokens.url,
                "oauth_client_id": "app-9",
                "oauth_client_secret": "the-client-secret",
                "dialect": "default",
                "groups": "on",
            },
        )
        run = ScimValidationRun.objects.get()
        assert run.auth_method == "oauth"
        assert "the-client-secret" not in run.token_encrypted
        scim_validation_run_execute(run_pk=run.pk)

    run.refresh_from_db()
    assert run.status == "succeeded"
    assert tokens.forms[0]["client_secret"] == "the-client-secret"
    page = staff_client.get(_page(directory, f"{run.public_id}/")).content.decode()
    assert "OAuth2 client credentials grant" in page
    assert "the-client-secret" not in page
    assert "issued-3" not in page


def test_oauth_needs_its_three_fields(staff_client):
    directory = DirectoryFactory()

    response = staff_client.post(
        _page(directory),
        {"tenant_url": "http://127.0.0.1:9/scim", "auth_method": "oauth", "dialect": "default"},
    )

    assert response.content.decode().count("This field is required with OAuth.") == 3
    assert not ScimValidationRun.objects.exists()


def test_validate_this_endpoint_from_an_app_uses_its_saved_token(staff_client, target):
    app = make_app(target)
    directory = app.directory
    tab = staff_client.get(
        f"/azure/directories/{directory.tenant_id}/apps/{app.object_id}/provisioning/"
    ).content.decode()
    assert f"scim-validator/?app={app.object_id}" in tab

    page = staff_client.get(_page(directory), {"app": str(app.object_id)}).content.decode()
    assert f'value="{target.url}"' in page
    assert "Its saved Secret Token is used" in page
    assert target.token not in page

    staff_client.post(
        _page(directory),
        {"app": str(app.object_id), "tenant_url": target.url, "dialect": "default"},
    )
    run = ScimValidationRun.objects.get()
    assert run.token_encrypted == app.provisioning_job.secret_token_encrypted
    scim_validation_run_execute(run_pk=run.pk)

    run.refresh_from_db()
    assert run.status == "succeeded"


def test_an_app_of_another_directory_is_not_found(staff_client):
    other_app = make_application(directory=DirectoryFactory())

    response = staff_client.get(_page(DirectoryFactory()), {"app": str(other_app.object_id)})

    assert response.status_code == 404
