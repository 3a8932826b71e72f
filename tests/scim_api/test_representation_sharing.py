"""Representations share the stored document's nested values instead of copying them: rendering
and projecting them never changes the document they were made from."""

from __future__ import annotations

import copy

import pytest

from scim_api.api.resources import GroupsView, UsersView, read_list_params
from scim_api.representation import project
from scim_api.schema import CORE_GROUP, CORE_USER, ENTERPRISE_USER
from tests.factories import ScimGroupFactory, ScimGroupMemberFactory, ScimUserFactory

pytestmark = pytest.mark.django_db


def _view(view_class, tenant):
    view = view_class()
    view.tenant = tenant
    return view


@pytest.mark.parametrize(
    "query",
    [{}, {"excludedAttributes": "emails.type,name"}, {"attributes": f"{ENTERPRISE_USER}:manager"}],
)
def test_rendering_a_user_leaves_its_document_as_it_was(query):
    boss = ScimUserFactory(display_name="Grace Hopper")
    user = ScimUserFactory(
        tenant=boss.tenant,
        data={
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "ada@example.com", "type": "work", "primary": True}],
            ENTERPRISE_USER: {"department": "R&D", "manager": {"value": str(boss.pk)}},
        },
    )
    stored = copy.deepcopy(user.data)
    params = read_list_params(query, core_schema=CORE_USER)

    body = project(
        _view(UsersView, user.tenant).render([user], params)[0],
        attributes=params.attributes,
        excluded=params.excluded,
    )

    assert body[ENTERPRISE_USER]["manager"] == {
        "value": str(boss.pk),
        "$ref": f"{user.tenant.scim_base_url}/Users/{boss.pk}",
        "displayName": "Grace Hopper",
    }
    assert user.data == stored  # no $ref or displayName written into the stored document
    if query:
        assert body != _view(UsersView, user.tenant).render([user], params)[0]
    # and a second rendering is the same as the first
    again = project(
        _view(UsersView, user.tenant).render([user], params)[0],
        attributes=params.attributes,
        excluded=params.excluded,
    )
    assert again == body


def test_rendering_a_group_leaves_its_document_as_it_was():
    group = ScimGroupFactory(data={"urn:example:ext:1.0:Group": {"tags": ["a", "b"]}})
    ScimGroupMemberFactory(group=group)
    stored = copy.deepcopy(group.data)
    params = read_list_params({"excludedAttributes": "members"}, core_schema=CORE_GROUP)
    full = _view(GroupsView, group.tenant).render(
        [group], read_list_params({}, core_schema=CORE_GROUP)
    )
    projected = project(full[0], attributes=params.attributes, excluded=params.excluded)
    assert "members" not in projected
    assert len(full[0]["members"]) == 1
    assert group.data == stored
