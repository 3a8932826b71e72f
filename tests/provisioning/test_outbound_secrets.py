"""Outbound requests leak nothing: the stored Secret Token only ever goes to the saved Tenant
URL, Test Connection shows nothing of an arbitrary response body, every Test Connection is an
audit event, and the address that passed the outbound check is the address connected to."""

import socket

import pytest

from provisioning.engine.scim_client import ScimClient
from provisioning.models import ProvisioningAuditEvent
from provisioning.services.jobs import provisioning_job_test_connection, provisioning_job_update
from tests.factories import make_application
from tests.provisioning.engine_support import StubScim

pytestmark = pytest.mark.django_db

STORED_TOKEN = "elium_scim_stored-secret-token-value"


@pytest.fixture
def stub():
    with StubScim() as server:
        yield server


@pytest.fixture
def job(stub):
    job = make_application().provisioning_job
    provisioning_job_update(
        job=job, mode="automatic", tenant_url=stub.url, secret_token=STORED_TOKEN, scope="assigned"
    )
    return job


def test_the_stored_token_never_goes_to_a_changed_tenant_url(job, stub):
    with StubScim() as elsewhere:
        result = provisioning_job_test_connection(
            job=job, tenant_url=elsewhere.url, secret_token=""
        )

        assert elsewhere.requests == []
    assert not result.ok
    assert "Enter the Secret Token" in result.details
    assert stub.requests == []


def test_the_stored_token_still_goes_to_the_saved_url(job, stub):
    result = provisioning_job_test_connection(job=job, tenant_url=stub.url, secret_token="")

    assert result.ok, result.details
    assert stub.requests[0].headers["Authorization"] == f"Bearer {STORED_TOKEN}"


def test_a_typed_token_may_go_to_a_new_url(job):
    with StubScim() as elsewhere:
        result = provisioning_job_test_connection(
            job=job, tenant_url=elsewhere.url, secret_token="typed-token"
        )

        assert result.ok, result.details
        assert elsewhere.requests[0].headers["Authorization"] == "Bearer typed-token"


def test_an_arbitrary_body_is_not_echoed(job):
    page = {"secret": "internal dashboard: db password hunter2"}
    with StubScim(responder=lambda m, p, b: (200, {}, page)) as elsewhere:
        result = provisioning_job_test_connection(
            job=job, tenant_url=elsewhere.url, secret_token="typed-token"
        )

    assert not result.ok
    assert "hunter2" not in result.details
    assert "Response Status Code: OK" in result.details


def test_a_scim_error_shows_its_type_and_detail_only(job):
    error = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "403",
        "scimType": "forbidden",
        "detail": "SCIM is disabled for this tenant.",
        "internal": "stack trace with hunter2",
    }
    with StubScim(responder=lambda m, p, b: (403, {}, error)) as elsewhere:
        result = provisioning_job_test_connection(
            job=job, tenant_url=elsewhere.url, secret_token="typed-token"
        )

    assert "scimType: forbidden; detail: SCIM is disabled for this tenant." in result.details
    assert "hunter2" not in result.details


def test_every_test_connection_is_an_audit_event(job, stub, admin_user):
    provisioning_job_test_connection(job=job, tenant_url=stub.url, actor=admin_user)
    provisioning_job_test_connection(job=job, tenant_url="http://127.0.0.1:1/scim", actor=None)

    events = list(
        ProvisioningAuditEvent.objects.filter(
            application=job.application, activity=ProvisioningAuditEvent.Activity.TEST_CONNECTION
        ).order_by("pk")
    )
    assert [e.details["result"] for e in events] == ["Success", "Failure"]
    assert events[0].actor_label == admin_user.get_username()
    assert events[0].details["host"] == "127.0.0.1"
    assert STORED_TOKEN not in str([e.details for e in events])


def test_a_dns_answer_that_changes_after_the_check_is_never_connected_to(
    stub, settings, monkeypatch
):
    """DNS rebinding: the name resolves to a public address when checked, then to loopback."""
    settings.PROVISIONING_ALLOW_LOOPBACK = False
    real = socket.getaddrinfo
    answers = []

    def rebinding(host, port, *args, **kwargs):
        if host != "rebind.example":
            return real(host, port, *args, **kwargs)
        answers.append(host)
        address = "93.184.216.34" if len(answers) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    port = stub.server.server_address[1]

    with ScimClient(tenant_url=f"http://rebind.example:{port}/scim/v2", token="t") as client:
        result = client.query("Users", "userName", "x")

    assert len(answers) >= 2  # checked, then resolved again to connect
    assert result.response is None
    assert "loopback addresses are not allowed" in result.reason
    assert stub.requests == []
