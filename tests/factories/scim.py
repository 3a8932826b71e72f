"""Factories for the SCIM resources of Elium tenants, and the request bodies Azure AD sends.

The model factories write rows directly, in the shape the SCIM services store them: columns for
``userName``/``externalId``/``active`` (users) and ``displayName``/``externalId`` (groups), the
rest of the representation in ``data``. Use them to set up a population quickly; go through the
API (``scim.post(...)``) when the test is about what the API does with a body.
"""

import uuid

import factory

from elium_portal import clock
from scim_api.models import ScimChange, ScimGroup, ScimGroupMember, ScimRequestLog, ScimUser
from tests.factories.elium import TenantFactory

ADSCIM_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


class ScimUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScimUser

    tenant = factory.SubFactory(TenantFactory)
    user_name = factory.Sequence(lambda n: f"user{n}@contoso.com")
    external_id = None
    display_name = ""
    active = True
    data = factory.LazyAttribute(
        lambda u: {"displayName": u.display_name} if u.display_name else {}
    )
    created = factory.LazyFunction(lambda: clock.now())
    last_modified = factory.SelfAttribute("created")


class ScimGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScimGroup

    tenant = factory.SubFactory(TenantFactory)
    display_name = factory.Sequence(lambda n: f"Group {n}")
    external_id = None
    data = factory.Dict({})
    created = factory.LazyFunction(lambda: clock.now())
    last_modified = factory.SelfAttribute("created")


class ScimGroupMemberFactory(factory.django.DjangoModelFactory):
    """A user of the group's tenant joins the group; pass ``member_group=`` for a nested group."""

    class Meta:
        model = ScimGroupMember

    group = factory.SubFactory(ScimGroupFactory)
    tenant = factory.SelfAttribute("group.tenant")
    member_group = None
    user = factory.Maybe(
        "member_group",
        yes_declaration=None,
        no_declaration=factory.SubFactory(
            ScimUserFactory, tenant=factory.SelfAttribute("..tenant")
        ),
    )


class ScimRequestLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScimRequestLog

    tenant = factory.SubFactory(TenantFactory)
    created_at = factory.LazyFunction(lambda: clock.now())
    token_prefix = ""
    method = "GET"
    path = factory.LazyAttribute(lambda r: f"/t/{r.tenant.slug}/scim/v2/Users")
    query = ""
    status = 200
    duration_ms = 1.0
    client_ip = "192.0.2.1"
    request_body = ""
    response_body = ""


class ScimChangeFactory(factory.django.DjangoModelFactory):
    """A row of the change feed: by default "Azure AD created <name>"."""

    class Meta:
        model = ScimChange

    tenant = factory.SubFactory(TenantFactory)
    created_at = factory.LazyFunction(lambda: clock.now())
    kind = ScimChange.Kind.USER_CREATED
    object_type = ScimChange.ObjectType.USER
    object_id = factory.LazyFunction(uuid.uuid4)
    object_name = factory.Sequence(lambda n: f"Person {n}")
    user_name = factory.Sequence(lambda n: f"person{n}@contoso.com")
    changes = factory.List([])
    token_prefix = "elium_scim_abcdefghijkl_…wxyz"
    request_id = factory.LazyFunction(uuid.uuid4)


def azure_user(user_name="alice@contoso.com", **extra):
    """The body of Azure AD's POST /Users for ``user_name`` (``extra`` adds or overrides)."""
    body = {
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        ],
        "externalId": user_name.split("@")[0],
        "userName": user_name,
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Alice Smith", "familyName": "Smith", "givenName": "Alice"},
        "roles": [],
    }
    body.update(extra)
    return body


def azure_group(display_name="Engineering", **extra):
    """The body of Azure AD's POST /Groups for ``display_name`` (``extra`` adds or overrides)."""
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", ADSCIM_GROUP],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": display_name,
        "meta": {"resourceType": "Group"},
    }
    body.update(extra)
    return body
