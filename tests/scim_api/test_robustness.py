"""Generated input never yields a 500, over the whole request path (parsing, filter compiler,
PATCH engine, services, rendering)."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scim_api import selectors
from tests.factories import azure_user

pytestmark = pytest.mark.django_db

HYPOTHESIS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ATTRS = [
    "userName",
    "displayName",
    "emails",
    "emails.value",
    'emails[type eq "work"].value',
    "name.givenName",
    "active",
    "meta.lastModified",
    "id",
    "externalId",
    "groups",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    "nope",
    "",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(ATTRS + ["value", "type", "primary"]), children, max_size=3
        )
    ),
    max_leaves=8,
)
operations = st.lists(
    st.fixed_dictionaries(
        {"op": st.sampled_from(["add", "Add", "replace", "Replace", "remove", "Remove", "x"])},
        optional={"path": st.sampled_from(ATTRS) | st.text(max_size=30), "value": json_values},
    ),
    max_size=4,
)


@HYPOTHESIS
@given(text=st.text(max_size=120))
def test_any_filter_text_is_200_or_400(scim, text):
    response = scim.client.get(
        f"{scim.base}/Users", {"filter": text}, HTTP_AUTHORIZATION=f"Bearer {scim.token}"
    )

    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert response.json()["scimType"] == "invalidFilter"


@HYPOTHESIS
@given(ops=operations)
def test_any_patch_body_is_handled(scim, ops):
    user_id = scim.get('/Users?filter=userName eq "fuzz@contoso.com"').json()["Resources"]
    if not user_id:
        user_id = [scim.post("/Users", azure_user("fuzz@contoso.com")).json()]
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}

    response = scim.patch(f"/Users/{user_id[0]['id']}", body)

    assert response.status_code < 500, response.content
    assert response.status_code in (200, 400, 409), response.content


@HYPOTHESIS
@given(
    body=st.dictionaries(st.sampled_from(ATTRS + ["schemas", "members"]), json_values, max_size=5)
)
def test_any_resource_body_is_handled(scim, body):
    for path in ("/Users", "/Groups"):
        response = scim.post(path, body)
        assert response.status_code in (201, 400, 409), (path, response.content)


def test_unexpected_errors_are_a_scim_500_without_details(scim, monkeypatch, caplog):
    def boom(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(selectors, "user_search", boom)
    monkeypatch.setattr(selectors, "user_documents", boom)

    for path in ("/Users", '/Users?filter=userName eq "a"'):
        caplog.clear()
        response = scim.get(path)

        assert response.status_code == 500
        body = response.json()
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert "secret internals" not in json.dumps(body)
        assert "Traceback" not in json.dumps(body)
        assert "secret internals" in caplog.text  # logged server-side for operators
