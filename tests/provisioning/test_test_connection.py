"""Test Connection against a real SCIM server: this project's own, over HTTP."""

import logging
import re
import socket
from urllib.parse import parse_qs, urlsplit

import pytest

from provisioning.outbound import DestinationRefusedError, destination_check
from provisioning.services.jobs import (
    CODE_INCOMPATIBLE,
    CODE_UNAVAILABLE,
    FAILURE_TEXT,
    SUCCESS_TEXT,
    provisioning_job_test_connection,
    provisioning_job_update,
)
from provisioning.services.mappings import attribute_mapping_delete, attribute_mapping_save
from tests.factories import ScimTokenFactory, make_application
from tests.provisioning.engine_support import StubScim

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def scim_target(live_server):
    token = ScimTokenFactory(tenant__slug="acme").plaintext
    return f"{live_server.url}/t/acme/scim/v2", token


def free_port_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/scim/v2"


@pytest.mark.parametrize("template", ["elium", "scim"])
def test_valid_credentials_succeed(scim_target, template):
    url, token = scim_target
    job = make_application(template=template).provisioning_job
    result = provisioning_job_test_connection(job=job, tenant_url=url, secret_token=token)
    assert result.ok, result.details
    assert result.message == SUCCESS_TEXT
    assert result.title == f"Testing connection to {job.application.name}"


def test_blank_token_uses_the_stored_one(scim_target):
    url, token = scim_target
    job = make_application().provisioning_job
    provisioning_job_update(
        job=job, mode="automatic", tenant_url=url, secret_token=token, scope="assigned"
    )
    assert provisioning_job_test_connection(job=job, tenant_url=url, secret_token="").ok


def test_wrong_token_reports_unauthorized_without_the_token(scim_target, caplog):
    url, _ = scim_target
    job = make_application().provisioning_job
    caplog.set_level(logging.DEBUG)
    result = provisioning_job_test_connection(
        job=job, tenant_url=url, secret_token="elium_scim_wrong-token-value"
    )
    assert not result.ok
    assert result.message == FAILURE_TEXT
    assert result.error_code == CODE_UNAVAILABLE
    assert "Response Status Code: Unauthorized" in result.details
    assert f"Resource: {url}/Users?filter=userName" in result.details
    assert len(result.request_id) == 36
    assert "wrong-token-value" not in result.details
    assert "wrong-token-value" not in caplog.text


def test_nothing_listening_is_a_connection_failure():
    job = make_application().provisioning_job
    result = provisioning_job_test_connection(job=job, tenant_url=free_port_url(), secret_token="x")
    assert not result.ok
    assert result.error_code == CODE_UNAVAILABLE
    assert result.details.startswith("An error occurred while sending the request.")


def test_a_non_scim_url_fails(live_server):
    job = make_application().provisioning_job
    result = provisioning_job_test_connection(
        job=job, tenant_url=f"{live_server.url}/healthz", secret_token="x"
    )
    assert not result.ok
    assert "NotFound" in result.details


def test_a_200_that_is_not_a_list_response_is_incompatible(live_server):
    job = make_application().provisioning_job
    # The login page answers 200 with HTML for any query string.
    result = provisioning_job_test_connection(
        job=job, tenant_url=f"{live_server.url}/accounts/login", secret_token="x"
    )
    assert not result.ok
    assert result.error_code in (CODE_INCOMPATIBLE, CODE_UNAVAILABLE)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "http://[fe80::1]/scim",
        "http://10.0.0.5/scim",
        "ftp://example.com/scim",
    ],
)
def test_forbidden_destinations_are_never_called(url):
    job = make_application().provisioning_job
    result = provisioning_job_test_connection(job=job, tenant_url=url, secret_token="x")
    assert not result.ok
    assert "cannot be called" in result.details


def test_private_networks_can_be_allowed(settings):
    settings.PROVISIONING_ALLOW_PRIVATE_NETWORKS = True
    destination_check("http://10.0.0.5/scim")
    settings.PROVISIONING_ALLOW_LOOPBACK = False
    with pytest.raises(DestinationRefusedError):
        destination_check("http://127.0.0.1/scim")


def test_probes_use_the_matching_attributes_of_the_full_default_mapping():
    # The Generic SCIM app's default mappings: 22 user attributes (userName the matching one,
    # the manager the last) and 3 group attributes (displayName matching, members last).
    job = make_application(template="scim").provisioning_job
    # The admin deleted the matching rows and added them again ("Add New Mapping"), with a
    # second matching attribute meanwhile: they are now the last rows of their mappings.
    for mapping in job.mappings.all():
        matching = mapping.attributes.get(matching_precedence=1)
        second = mapping.attributes.get(target_attribute="externalId")
        attribute_mapping_save(
            mapping=mapping,
            instance=second,
            mapping_type=second.mapping_type,
            target_attribute=second.target_attribute,
            source_attribute=second.source_attribute,
            matching_precedence=2,
        )
        attribute_mapping_delete(attribute=matching)
        attribute_mapping_save(
            mapping=mapping,
            mapping_type=matching.mapping_type,
            target_attribute=matching.target_attribute,
            source_attribute=matching.source_attribute,
            matching_precedence=1,
        )
    with StubScim() as stub:
        result = provisioning_job_test_connection(
            job=job, tenant_url=stub.url, secret_token="stub-token"
        )

    assert result.ok, result.details
    filters = [
        (r.path.split("?")[0], parse_qs(urlsplit(r.path).query)["filter"][0]) for r in stub.requests
    ]
    assert [(path, text.partition(" eq ")[0]) for path, text in filters] == [
        ("/scim/v2/Users", "userName"),
        ("/scim/v2/Groups", "displayName"),
    ]
    for _, text in filters:
        assert re.fullmatch(r'\w+ eq "[0-9a-f-]{36}"', text), text
