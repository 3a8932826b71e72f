"""An admin chooses "OAuth2 client credentials grant" as the Authentication Method of an app's
Admin Credentials in a real Chromium, tests the connection (the token from a real local token
endpoint, the SCIM requests to this project's own tenant), saves, and tests again with the
stored Client Secret, which is never shown."""

import pytest
from playwright.sync_api import expect

from provisioning.models import ProvisioningJob
from tests.factories import (
    DirectoryFactory,
    ScimTokenFactory,
    TenantFactory,
    UserFactory,
    make_application,
)
from tests.provisioning.validator_support import TokenStub

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECRET = "browser-client-secret-4f9a"


def test_admin_chooses_oauth_saves_and_tests_the_connection(live_server, page, log_in):
    UserFactory(username="admin", is_staff=True)
    tenant = TenantFactory(slug="acme", name="Acme")
    scim_token = ScimTokenFactory(tenant=tenant).plaintext
    app = make_application(directory=DirectoryFactory(name="Contoso"), template="scim")
    tenant_url = f"{live_server.url}/t/acme/scim/v2"

    def issue(form):
        if form.get("client_id") == "portal-client" and form.get("client_secret") == SECRET:
            return 200, {"access_token": scim_token, "token_type": "Bearer", "expires_in": 3600}
        return 401, {"error": "invalid_client", "error_description": "Unknown client."}

    with TokenStub(answer=issue) as tokens:
        log_in("admin")
        page.goto(
            f"{live_server.url}/azure/directories/{app.directory.tenant_id}/apps/"
            f"{app.object_id}/provisioning/?start=1"
        )
        page.get_by_label("Provisioning Mode").select_option("automatic")
        expect(page.get_by_label("Secret Token")).to_be_visible()
        page.get_by_label("Authentication Method").select_option(
            label="OAuth2 client credentials grant"
        )
        expect(page.get_by_label("Secret Token")).to_be_hidden()
        page.get_by_label("Tenant URL").fill(tenant_url)
        page.get_by_label("Token Endpoint").fill(tokens.url)
        page.get_by_label("Client Identifier").fill("portal-client")

        notification = page.get_by_test_id("notification")
        test_button = page.get_by_role("button", name="Test Connection")

        # A wrong secret: the token endpoint's OAuth error, nothing else of its answer.
        page.get_by_label("Client Secret").fill("not-the-secret")
        test_button.click()
        expect(notification).to_contain_text("You appear to have entered invalid credentials.")
        expect(page.get_by_test_id("error-details")).to_contain_text(
            "answered 401 Unauthorized (invalid_client: Unknown client.)"
        )

        # The right one.
        page.get_by_label("Client Secret").fill(SECRET)
        test_button.click()
        expect(notification).to_contain_text(
            "The supplied credentials are authorized to enable provisioning"
        )

        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Successfully updated")).to_be_visible()

        # Saved: OAuth chosen, the secret stored but never shown, and still usable.
        page.reload()
        expect(page.get_by_label("Authentication Method")).to_have_value("oauth")
        expect(page.get_by_test_id("client-secret-stored")).to_be_visible()
        expect(page.get_by_label("Client Secret")).to_have_value("")
        assert SECRET not in page.content()
        test_button.click()
        expect(notification).to_contain_text(
            "The supplied credentials are authorized to enable provisioning"
        )

        # A changed Token Endpoint does not get the stored secret.
        page.get_by_label("Token Endpoint").fill(tokens.url.replace("/oauth2/", "/other/"))
        test_button.click()
        expect(page.get_by_test_id("error-details")).to_contain_text("Enter the Client Secret")
        forms_sent = len(tokens.forms)

    job = ProvisioningJob.objects.get(pk=app.provisioning_job.pk)
    assert job.auth_method == "oauth"
    assert job.oauth_client_id == "portal-client"
    assert job.has_client_secret
    assert SECRET not in job.oauth_client_secret_encrypted
    assert forms_sent == 3  # wrong, right, stored — none for the changed endpoint
