"""While PostgreSQL cannot be reached, the SCIM API answers a SCIM 503 with ``Retry-After`` —
the answer Azure AD retries — never Django's HTML error page."""

import contextlib
import json

import pytest
from django.db import connection

from tests.factories import azure_user

pytestmark = pytest.mark.django_db(transaction=True)

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


@contextlib.contextmanager
def database_unreachable(socket_dir):
    """Point the connection at a socket directory where no PostgreSQL listens, for real."""
    original = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["HOST"] = str(socket_dir)
    connection.settings_dict["PORT"] = ""
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/Users", None),
        ("get", "/ServiceProviderConfig", None),
        ("post", "/Users", azure_user()),
        (
            "patch",
            "/Users/00000000-0000-0000-0000-000000000000",
            {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "title"}]},
        ),
        ("post", "/Bulk", {"schemas": [BULK], "Operations": [{"method": "DELETE"}]}),
    ],
)
def test_scim_is_a_json_503_with_retry_after_while_the_database_is_down(
    scim, settings, tmp_path, method, path, body, debug
):
    settings.DEBUG = debug

    with database_unreachable(tmp_path):
        response = getattr(scim, method)(path, **({"body": body} if body else {}))

    assert response.status_code == 503, response.content[:500]
    assert response["Content-Type"].startswith("application/scim+json")
    assert int(response["Retry-After"]) >= 1
    body = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == "503"
    assert "Traceback" not in response.content.decode()
    assert "connection" not in json.dumps(body).lower()  # no database text


def test_a_request_without_a_token_is_still_a_401_while_the_database_is_down(
    client, tenant, tmp_path
):
    # Refused before any query; the request log cannot be written, and that must not matter.
    with database_unreachable(tmp_path):
        response = client.get("/t/acme/scim/v2/Users")

    assert response.status_code == 401
    assert response.json()["schemas"] == [ERROR]


def test_service_resumes_when_the_database_is_back(scim, tmp_path):
    with database_unreachable(tmp_path):
        assert scim.get("/Users").status_code == 503

    assert scim.get("/Users").status_code == 200
