"""Admin Credentials with the Authentication Method "OAuth2 client credentials grant": the form's
errors, the Client Secret encrypted at rest and never shown, the engine's one client getting
its access token from a real local token endpoint (once per cycle, again after expiry or a 401),
token endpoint failures quarantining a cycle and explained by Test Connection, the stored secret
only ever sent to the saved URLs, and "Validate this endpoint" taking over the OAuth settings."""

from __future__ import annotations

import logging
import socket
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from provisioning.engine.cycle import provisioning_cycle_run
from provisioning.engine.ondemand import provisioning_on_demand_run
from provisioning.engine.scim_client import oauth_token_cache_clear
from provisioning.engine.state import job_state
from provisioning.models import ProvisioningCycle, ProvisioningJob, ScimValidationRun
from provisioning.services.jobs import (
    CODE_UNAVAILABLE,
    provisioning_job_test_connection,
    provisioning_job_update,
)
from provisioning.validator.runs import scim_validation_run_execute
from tests.factories import DirectoryFactory, DirectoryUserFactory, UserFactory, make_application
from tests.provisioning.engine_support import StubScim, assign
from tests.provisioning.validator_support import CompliantStub, TokenStub

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "oauth-client-secret-Zq81x-never-shown"
CLIENT_ID = "elium-provisioning-client"


@pytest.fixture(autouse=True)
def _no_cached_tokens():
    oauth_token_cache_clear()
    yield
    oauth_token_cache_clear()


class Issuer:
    """A token endpoint's behaviour: ``issued-token-1``, ``-2``… for the right client (each
    valid until revoked), RFC 6749 ``invalid_client`` for anything else."""

    def __init__(self, lifetime: int = 3600) -> None:
        self.lifetime = lifetime
        self.count = 0
        self.valid: set[str] = set()

    def __call__(self, form: dict[str, str]):
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_id") != CLIENT_ID
            or form.get("client_secret") != SECRET
        ):
            return 401, {
                "error": "invalid_client",
                "error_description": "Client authentication failed.",
                "trace": "internal detail hunter2",
            }
        self.count += 1
        token = f"issued-token-{self.count}"
        self.valid.add(token)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": self.lifetime}


def oauth_required(stub: StubScim, issuer: Issuer):
    """A SCIM stub responder answering 401 unless the request bears a token still valid."""

    def responder(method, path, body):
        header = stub.requests[-1].headers.get("Authorization", "")
        if header.removeprefix("Bearer ") not in issuer.valid:
            return 401, {"WWW-Authenticate": "Bearer"}, {"status": "401", "detail": "bad token"}
        return None

    return responder


def configure_oauth(app, *, url: str, token_url: str, status: str = "off") -> ProvisioningJob:
    job = app.provisioning_job
    provisioning_job_update(
        job=job,
        mode="automatic",
        tenant_url=url,
        auth_method="oauth",
        oauth_token_url=token_url,
        oauth_client_id=CLIENT_ID,
        oauth_client_secret=SECRET,
        status=status,
    )
    job.refresh_from_db()
    return job


def users_app(stub_url: str, token_url: str, count: int = 3):
    app = make_application(template="elium")
    job = configure_oauth(app, url=stub_url, token_url=token_url)
    users = [
        DirectoryUserFactory(directory=app.directory, given_name=f"User{i}", surname="Oauth")
        for i in range(count)
    ]
    for user in users:
        assign(app, user)
    return job, users


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/oauth2/token"


def stored_row(table: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])
        return " ".join(str(value) for value in cursor.fetchone())


# -- saving ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {},
            {
                "oauth_token_url": "Enter the Token Endpoint",
                "oauth_client_id": "Enter the Client Identifier",
                "oauth_client_secret": "Enter the Client Secret.",
            },
        ),
        (
            {"oauth_token_url": "ftp://login.example/token"},
            {"oauth_token_url": "The Token Endpoint must be an absolute http:// or https:// URL."},
        ),
        (
            {"oauth_token_url": "https://login.example:99999/token"},
            {"oauth_token_url": "The Token Endpoint's port must be a number from 1 to 65535."},
        ),
        (
            {"oauth_token_url": "https://user:pw@login.example/token"},
            {"oauth_token_url": "The Token Endpoint must not contain a user name or password."},
        ),
    ],
)
def test_saving_oauth_gives_a_specific_error_per_field_and_saves_nothing(fields, expected):
    job = make_application(template="scim").provisioning_job
    values = {"oauth_client_id": CLIENT_ID, "oauth_client_secret": SECRET, **fields}
    if not fields:
        values = {}

    with pytest.raises(ValidationError) as raised:
        provisioning_job_update(
            job=job,
            mode="automatic",
            tenant_url="https://scim.example.com/scim/v2",
            auth_method="oauth",
            **values,
        )

    errors = raised.value.message_dict
    for name, text in expected.items():
        assert any(message.startswith(text) for message in errors[name]), errors
    job.refresh_from_db()
    assert job.auth_method == "bearer"
    assert job.oauth_client_secret_encrypted == ""


def test_a_changed_token_endpoint_needs_the_client_secret_again():
    app = make_application(template="scim")
    job = configure_oauth(
        app, url="https://scim.example.com/scim/v2", token_url="https://a.example/t"
    )

    with pytest.raises(ValidationError) as raised:
        provisioning_job_update(
            job=job,
            mode="automatic",
            tenant_url=job.tenant_url,
            auth_method="oauth",
            oauth_token_url="https://elsewhere.example/token",
            oauth_client_id=CLIENT_ID,
        )
    assert "Enter the Client Secret again" in raised.value.message_dict["oauth_client_secret"][0]

    # Unchanged, a blank secret keeps the stored one.
    before = job.oauth_client_secret_encrypted
    provisioning_job_update(
        job=job,
        mode="automatic",
        tenant_url=job.tenant_url,
        auth_method="oauth",
        oauth_token_url="https://a.example/t",
        oauth_client_id="another-client",
    )
    job.refresh_from_db()
    assert job.oauth_client_secret_encrypted == before
    assert job.oauth_client_id == "another-client"


def test_the_console_saves_oauth_encrypted_and_never_shows_the_secret(staff_client):
    app = make_application(template="scim")
    url = reverse(
        "provisioning:provisioning",
        kwargs={"tenant_id": app.directory.tenant_id, "app_id": app.object_id},
    )
    form = {
        "mode": "automatic",
        "tenant_url": "https://scim.example.com/scim/v2",
        "auth_method": "oauth",
        "oauth_token_url": "https://login.example.com/oauth2/token",
        "oauth_client_id": CLIENT_ID,
        "oauth_client_secret": SECRET,
        "deletion_threshold": "500",
        "scope": "assigned",
        "status": "off",
    }

    bad = staff_client.post(url, {**form, "oauth_client_id": ""})
    assert bad.status_code == 200
    assert "Enter the Client Identifier" in bad.content.decode()
    assert SECRET not in bad.content.decode()

    saved = staff_client.post(url, form)
    assert saved.status_code == 302
    job = ProvisioningJob.objects.get(pk=app.provisioning_job.pk)
    assert job.auth_method == "oauth"
    assert job.oauth_token_url == "https://login.example.com/oauth2/token"
    assert job.oauth_client_id == CLIENT_ID
    page = staff_client.get(url).content.decode()
    assert 'data-testid="client-secret-stored"' in page
    assert "OAuth2 client credentials grant" in page
    assert SECRET not in page
    assert job.oauth_client_secret_encrypted not in page
    # Encrypted at rest: the whole secret appears nowhere in the job's row or the audit log.
    assert SECRET not in stored_row("provisioning_provisioningjob", job.pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT details::text FROM provisioning_provisioningauditevent")
        audit = " ".join(row[0] for row in cursor.fetchall())
    assert SECRET not in audit
    assert "client_secret" in audit  # the change itself is recorded, not its value
    admin_page = staff_client.get(
        reverse("admin:provisioning_provisioningjob_change", args=[job.pk])
    )
    assert SECRET not in admin_page.content.decode()


# -- cycles ---------------------------------------------------------------------------------


def test_a_cycle_gets_one_token_for_all_its_requests_and_provisions(caplog):
    issuer = Issuer()
    caplog.set_level(logging.DEBUG)
    with TokenStub(answer=issuer) as tokens, StubScim() as stub:
        stub.responder = oauth_required(stub, issuer)
        job, users = users_app(stub.url, tokens.url)

        cycle = provisioning_cycle_run(job=job)
        again = provisioning_cycle_run(job=job)  # the cached token, in the same process

    assert cycle.state == ProvisioningCycle.State.SUCCEEDED, cycle.error
    assert again.state == ProvisioningCycle.State.SUCCEEDED, again.error
    assert len(tokens.forms) == 1
    assert tokens.forms[0] == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
    }
    assert {r.headers["Authorization"] for r in stub.requests} == {"Bearer issued-token-1"}
    assert len(stub.users) == len(users)
    assert SECRET not in caplog.text
    assert "issued-token-1" not in caplog.text


def test_a_cycle_into_this_projects_own_tenant_with_an_issued_token(target):
    """The token endpoint issues the tenant's real SCIM token; the engine never sees it
    anywhere but in the token endpoint's answer."""
    answer = (200, {"access_token": target.token, "token_type": "Bearer", "expires_in": 3600})
    with TokenStub(answer=answer) as tokens:
        app = make_application(template="elium")
        job = configure_oauth(app, url=target.url, token_url=tokens.url)
        ada = DirectoryUserFactory(directory=app.directory, given_name="Ada", surname="Oauth")
        assign(app, ada)

        cycle = provisioning_cycle_run(job=job)

    assert cycle.state == ProvisioningCycle.State.SUCCEEDED, cycle.error
    assert len(tokens.forms) == 1
    assert target.user(ada.user_principal_name)["active"] is True


def test_an_expired_token_is_fetched_again():
    issuer = Issuer(lifetime=1)  # fetched again 0.1 s before its second is over
    with TokenStub(answer=issuer) as tokens, StubScim() as stub:
        stub.responder = oauth_required(stub, issuer)
        job, _ = users_app(stub.url, tokens.url, count=1)

        first = provisioning_cycle_run(job=job)
        time.sleep(1.1)
        second = provisioning_cycle_run(job=job)

    assert first.state == second.state == ProvisioningCycle.State.SUCCEEDED
    assert len(tokens.forms) == 2
    assert stub.requests[-1].headers["Authorization"] == "Bearer issued-token-2"


def test_a_401_from_the_target_fetches_a_new_token_once():
    issuer = Issuer()
    with TokenStub(answer=issuer) as tokens, StubScim() as stub:
        stub.responder = oauth_required(stub, issuer)
        job, _ = users_app(stub.url, tokens.url, count=2)
        assert provisioning_cycle_run(job=job).state == ProvisioningCycle.State.SUCCEEDED
        issuer.valid.clear()  # the target revokes every token it accepted

        cycle = provisioning_cycle_run(job=job)

    assert cycle.state == ProvisioningCycle.State.SUCCEEDED, cycle.error
    assert len(tokens.forms) == 2
    refused = [r for r in stub.requests if r.headers["Authorization"] == "Bearer issued-token-1"]
    assert stub.requests[-1].headers["Authorization"] == "Bearer issued-token-2"
    assert len(refused) >= 1


def test_a_target_that_refuses_every_token_quarantines_after_one_new_token():
    issuer = Issuer()
    with TokenStub(answer=issuer) as tokens, StubScim() as stub:
        stub.responder = lambda m, p, b: (401, {"WWW-Authenticate": "Bearer"}, {"status": "401"})
        job, _ = users_app(stub.url, tokens.url, count=1)

        cycle = provisioning_cycle_run(job=job)

    assert cycle.state == ProvisioningCycle.State.QUARANTINED
    assert len(tokens.forms) == 2  # the first token, and one more after the 401 — no loop
    assert len(stub.requests) == 2
    assert "Unauthorized" in job_state(job).quarantine_error


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            (401, {"error": "invalid_client", "error_description": "Bad secret.", "x": "hunter2"}),
            "it answered 401 Unauthorized (invalid_client: Bad secret.).",
        ),
        ((200, {"token_type": "Bearer", "expires_in": 3600}), "its answer has no access_token."),
        ((200, "not an object hunter2"), "its answer is not a JSON object."),
        ((500, {"message": "hunter2 stack trace"}), "it answered 500 Internal Server Error."),
        (None, "it could not be reached (ConnectError)."),
    ],
)
def test_a_token_endpoint_failure_quarantines_the_cycle_with_a_readable_reason(answer, expected):
    with TokenStub(answer=answer or (200, {})) as tokens, StubScim() as stub:
        token_url = tokens.url if answer else closed_port_url()
        job, _ = users_app(stub.url, token_url, count=1)

        cycle = provisioning_cycle_run(job=job)

    state = job_state(job)
    assert cycle.state == ProvisioningCycle.State.QUARANTINED
    assert cycle.error_code == "Unauthorized"
    assert state.quarantine_reason == "EncounteredQuarantineException"
    assert state.quarantine_error.startswith(
        f"The access token could not be obtained from the Token Endpoint {token_url}: "
    )
    assert state.quarantine_error.endswith(expected)
    assert "hunter2" not in state.quarantine_error
    assert SECRET not in state.quarantine_error
    assert stub.requests == []  # the SCIM target never saw a request without a token


def test_provision_on_demand_uses_the_oauth_token():
    issuer = Issuer()
    with TokenStub(answer=issuer) as tokens, StubScim() as stub:
        stub.responder = oauth_required(stub, issuer)
        job, (user,) = users_app(stub.url, tokens.url, count=1)

        result = provisioning_on_demand_run(job=job, user=user)

    assert result.status == "Success", (result.error_code, result.reason)
    assert len(stub.users) == 1
    assert len(tokens.forms) == 1


def test_provision_on_demand_explains_a_token_endpoint_failure():
    with TokenStub(answer=(400, {"error": "unauthorized_client"})) as tokens, StubScim() as stub:
        job, (user,) = users_app(stub.url, tokens.url, count=1)

        result = provisioning_on_demand_run(job=job, user=user)

    assert result.steps[0].title == "Test connection"
    assert result.steps[0].status == "Failure"
    assert result.error_code == "Unauthorized"
    assert "unauthorized_client" in result.reason
    assert stub.requests == []


# -- Test Connection ------------------------------------------------------------------------


def _test(job, **typed):
    values = {
        "tenant_url": job.tenant_url,
        "auth_method": "oauth",
        "oauth_token_url": job.oauth_token_url,
        "oauth_client_id": CLIENT_ID,
        **typed,
    }
    return provisioning_job_test_connection(job=job, **values)


def test_test_connection_with_the_stored_secret_and_with_a_typed_one(caplog):
    issuer = Issuer()
    caplog.set_level(logging.DEBUG)
    with TokenStub(answer=issuer) as tokens, StubScim() as stub:
        stub.responder = oauth_required(stub, issuer)
        job, _ = users_app(stub.url, tokens.url, count=0)

        stored = _test(job)
        typed = _test(job, oauth_client_secret=SECRET)
        wrong = _test(job, oauth_client_secret="not-the-secret")

    assert stored.ok, stored.details
    assert typed.ok, typed.details
    assert len(tokens.forms) == 3  # Test Connection always asks for a new token
    assert not wrong.ok
    assert wrong.error_code == CODE_UNAVAILABLE
    assert wrong.details == (
        f"The access token could not be obtained from the Token Endpoint {tokens.url}: it "
        "answered 401 Unauthorized (invalid_client: Client authentication failed.)."
    )
    assert "hunter2" not in wrong.details
    assert "not-the-secret" not in wrong.details
    assert SECRET not in caplog.text
    assert "issued-token" not in caplog.text
    events = job.application.audit_events.filter(activity="Test connection")
    assert [e.details["result"] for e in events.order_by("pk")] == [
        "Success",
        "Success",
        "Failure",
    ]
    assert all(e.details["token_endpoint_host"] == "127.0.0.1" for e in events)


def test_the_stored_secret_never_goes_to_a_changed_token_endpoint_or_tenant_url():
    issuer = Issuer()
    with TokenStub(answer=issuer) as tokens, StubScim() as stub:
        job, _ = users_app(stub.url, tokens.url, count=0)
        with TokenStub(answer=issuer) as elsewhere, StubScim() as other_target:
            changed_endpoint = _test(job, oauth_token_url=elsewhere.url)
            changed_url = _test(job, tenant_url=other_target.url)
            assert elsewhere.forms == []
            assert other_target.requests == []
    assert tokens.forms == []
    assert stub.requests == []
    assert "Enter the Client Secret" in changed_endpoint.details
    assert "Token Endpoint was changed" in changed_endpoint.details
    assert "Enter the Client Secret" in changed_url.details
    assert "Tenant URL was changed" in changed_url.details


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ({"oauth_token_url": ""}, "The Token Endpoint is required"),
        (
            {
                "oauth_token_url": "http://169.254.169.254/token",
                "oauth_client_secret": "typed-secret",
            },
            "The Token Endpoint cannot be called",
        ),
        (
            {"oauth_token_url": "gopher://x/token", "oauth_client_secret": "typed-secret"},
            "absolute http",
        ),
        ({"oauth_client_id": ""}, "The Client Identifier is required"),
    ],
)
def test_test_connection_names_what_is_wrong_with_the_oauth_settings(typed, expected):
    job = make_application(template="scim").provisioning_job
    job.tenant_url = "http://127.0.0.1:9/scim/v2"
    job.oauth_token_url = "http://127.0.0.1:9/token"

    result = _test(job, **typed)

    assert not result.ok
    assert expected in result.details


def test_the_test_connection_view_posts_oauth_and_is_scoped(staff_client, client):
    issuer = Issuer()
    with TokenStub(answer=issuer) as tokens, StubScim() as stub:
        stub.responder = oauth_required(stub, issuer)
        job, _ = users_app(stub.url, tokens.url, count=0)
        app = job.application
        kwargs = {"tenant_id": app.directory.tenant_id, "app_id": app.object_id}
        url = reverse("provisioning:test-connection", kwargs=kwargs)
        form = {
            "tenant_url": stub.url,
            "auth_method": "oauth",
            "oauth_token_url": tokens.url,
            "oauth_client_id": CLIENT_ID,
            "oauth_client_secret": "",
        }

        answer = staff_client.post(url, form, headers={"X-Requested-With": "fetch"}).json()
        other = reverse(
            "provisioning:test-connection",
            kwargs={**kwargs, "tenant_id": DirectoryFactory().tenant_id},
        )
        not_found = staff_client.post(other, form)
        client.force_login(UserFactory(is_staff=False))
        forbidden = client.post(url, form)

    assert answer["ok"] is True, answer
    assert not_found.status_code == 404
    assert forbidden.status_code == 403
    assert len(tokens.forms) == 1  # neither refused request reached the token endpoint


# -- Validate this endpoint -----------------------------------------------------------------


def test_validate_this_endpoint_takes_over_the_oauth_settings(staff_client):
    answer = (200, {"access_token": "validator-token", "token_type": "Bearer", "expires_in": 3600})
    with TokenStub(answer=answer) as tokens, CompliantStub() as stub:
        app = make_application(template="scim")
        job = configure_oauth(app, url=stub.url, token_url=tokens.url)
        directory = app.directory
        page_url = f"/azure/directories/{directory.tenant_id}/scim-validator/"

        page = staff_client.get(page_url, {"app": str(app.object_id)}).content.decode()
        assert '<option value="oauth" selected>' in page
        assert f'value="{tokens.url}"' in page
        assert f'value="{CLIENT_ID}"' in page
        assert "Its saved Client Secret is used" in page
        assert SECRET not in page

        form = {
            "app": str(app.object_id),
            "tenant_url": stub.url,
            "auth_method": "oauth",
            "oauth_token_url": tokens.url,
            "oauth_client_id": CLIENT_ID,
            "dialect": "default",
        }
        elsewhere = staff_client.post(page_url, {**form, "tenant_url": "https://other.example/s"})
        assert "Enter the Client Secret" in elsewhere.content.decode()
        assert not ScimValidationRun.objects.exists()

        staff_client.post(page_url, form)
        run = ScimValidationRun.objects.get()
        assert run.auth_method == "oauth"
        assert run.token_encrypted == job.oauth_client_secret_encrypted
        scim_validation_run_execute(run_pk=run.pk)

    run.refresh_from_db()
    assert run.status == "succeeded", run.result
    assert tokens.forms[0]["client_secret"] == SECRET
