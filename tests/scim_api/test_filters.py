"""The SCIM filter compiler: filters run on PostgreSQL against a small fixed population."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from django.db import transaction
from django.db.models import Q
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scim2_models import ScimFilter
from scim2_models.exceptions import InvalidFilterException

from scim_api.errors import InvalidFilter, InvalidValue
from scim_api.filters import MAX_FILTER_LENGTH, compile_filter, compile_sort
from scim_api.filters.parse import _PLAIN_EQ, parse_filter
from scim_api.models import ScimGroup, ScimUser
from scim_api.policy import AZURE_AD_TOLERANT, STRICT_RFC
from scim_api.schema import ENTERPRISE_USER
from tests.factories import (
    ScimGroupFactory,
    ScimGroupMemberFactory,
    ScimUserFactory,
    TenantFactory,
)

pytestmark = pytest.mark.django_db

CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExt:2.0:User"
UTC = dt.UTC
BOB_ID = uuid.UUID("5171a35d-82e0-4a8b-9f5e-2d2fa6f3c0b5")
ENG_ID = uuid.UUID("0a8e8a4e-2f5b-4a3c-9d3e-1f1f1f1f1f1f")
ADMINS_ID = uuid.UUID("1b9f9b5f-3a6c-4b4d-8e4f-2a2a2a2a2a2a")


@pytest.fixture
def population():
    """Four users and two groups in tenant A; look-alikes in tenant B that must never leak."""
    tenant, other = TenantFactory(), TenantFactory()
    bob = ScimUserFactory(
        tenant=tenant,
        user_name="bob@contoso.com",
        id=BOB_ID,
        created=dt.datetime(2012, 1, 1, 12, 0, 0, 500000, tzinfo=UTC),
        external_id="bob-2",
        display_name="Bob Jones",
        active=False,
        data={
            "name": {"givenName": "Bob", "familyName": "Jones"},
            "title": "",
            "emails": [{"value": "Bob@Fabrikam.com", "type": "work"}],
            ENTERPRISE_USER: {"department": "Sales"},
            CUSTOM: {"costCode": "cc-200", "level": 10, "remote": True},
        },
    )
    alice = ScimUserFactory(
        tenant=tenant,
        user_name="Alice@Contoso.com",
        created=dt.datetime(2011, 5, 13, 4, 42, 34, 250000, tzinfo=UTC),
        external_id="ALICE-1",
        display_name="Alice Smith",
        data={
            "name": {"givenName": "Alice", "familyName": "Smith"},
            "title": "Engineer",
            "emails": [
                {"value": "zz@home.example", "type": "home"},
                {"value": "alice@contoso.com", "type": "work", "primary": True},
            ],
            "phoneNumbers": [{"value": "+1 555 0100", "type": "mobile", "primary": "True"}],
            ENTERPRISE_USER: {
                "department": "R&D",
                "manager": {"value": str(BOB_ID), "displayName": "Bob Jones"},
            },
            CUSTOM: {"costCode": "CC-100", "level": 3, "remote": False},
        },
    )
    ScimUserFactory(
        tenant=tenant,
        user_name="carol@fabrikam.com",
        created=dt.datetime(2013, 6, 1, tzinfo=UTC),
        display_name="",
    )
    # Malformed JSON shapes must not break queries; LIKE wildcards must be literal.
    ScimUserFactory(
        tenant=tenant,
        user_name="dave_%@contoso.com",
        created=dt.datetime(2014, 6, 1, tzinfo=UTC),
        external_id="",
        display_name="Dave",
        data={"emails": "dave@contoso.com", "name": "Dave", "title": 5},
    )
    eng = ScimGroupFactory(
        tenant=tenant,
        id=ENG_ID,
        display_name="Engineering",
        created=dt.datetime(2015, 1, 1, tzinfo=UTC),
    )
    admins = ScimGroupFactory(
        tenant=tenant,
        id=ADMINS_ID,
        display_name="Admins",
        external_id="adm",
        created=dt.datetime(2015, 2, 1, tzinfo=UTC),
    )
    ScimGroupMemberFactory(group=eng, user=alice)
    ScimGroupMemberFactory(group=eng, member_group=admins)
    ScimGroupMemberFactory(group=admins, user=bob)

    twin = ScimUserFactory(
        tenant=other,
        user_name="alice@contoso.com",
        created=dt.datetime(2011, 5, 13, 4, 42, 34, tzinfo=UTC),
        external_id="ALICE-1",
        display_name="Alice Smith",
        data=alice.data,
    )
    other_group = ScimGroupFactory(
        tenant=other, display_name="Engineering", created=dt.datetime(2015, 1, 1, tzinfo=UTC)
    )
    ScimGroupMemberFactory(group=other_group, user=twin)
    return tenant, other


def users(tenant, text: str, policy=AZURE_AD_TOLERANT) -> set[str]:
    q = compile_filter(text, resource_type="User", policy=policy)
    return set(ScimUser.objects.filter(tenant=tenant).filter(q).values_list("user_name", flat=True))


def groups(tenant, text: str, policy=AZURE_AD_TOLERANT) -> set[str]:
    q = compile_filter(text, resource_type="Group", policy=policy)
    return set(
        ScimGroup.objects.filter(tenant=tenant).filter(q).values_list("display_name", flat=True)
    )


A, B, C, D = "Alice@Contoso.com", "bob@contoso.com", "carol@fabrikam.com", "dave_%@contoso.com"
ALL = {A, B, C, D}

USER_CASES = [
    # Columns, case-insensitive userName / displayName, case-exact externalId.
    ('userName eq "alice@contoso.com"', {A}),
    ('USERNAME EQ "ALICE@CONTOSO.COM"', {A}),
    ('userName ne "alice@contoso.com"', {B, C, D}),
    ('userName co "CONTOSO"', {A, B, D}),
    ('userName sw "b"', {B}),
    ('userName ew "@fabrikam.com"', {C}),
    ('userName co "_%"', {D}),
    ('userName co "%"', {D}),
    ('userName sw "dave_"', {D}),
    ('userName gt "bob"', {B, C, D}),
    ('userName lt "b"', {A}),
    ('userName le "bob@contoso.com"', {A, B}),
    ('externalId eq "alice-1"', set()),
    ('externalId eq "ALICE-1"', {A}),
    ('externalId co "LICE"', {A}),
    ('externalId ne "ALICE-1"', {B, C, D}),
    ("externalId pr", {A, B}),
    ("not (externalId pr)", {C, D}),
    ("externalId eq null", {C, D}),
    ("externalId ne null", {A, B}),
    ('displayName eq "alice smith"', {A}),
    ("displayName pr", {A, B, D}),
    ("userName pr", ALL),
    # Booleans.
    ("active eq true", {A, C, D}),
    ("active eq false", {B}),
    ("active ne true", {B}),
    ('active eq "False"', {B}),
    ("active pr", ALL),
    # id: exact UUID; a non-UUID matches nothing rather than failing.
    (f'id eq "{BOB_ID}"', {B}),
    (f'id eq "{str(BOB_ID).upper()}"', {B}),
    ('id eq "not-a-uuid"', set()),
    ('id ne "not-a-uuid"', ALL),
    ('id sw "5171A35D"', {B}),
    ("id pr", ALL),
    # meta.
    ('meta.resourceType eq "User"', ALL),
    ('meta.resourceType eq "Group"', set()),
    ('meta.created eq "2011-05-13T04:42:34Z"', {A}),
    ('meta.created eq "2011-05-13T04:42:34.25Z"', {A}),
    ('meta.created eq "2011-05-13T04:42:34.2Z"', set()),
    ('meta.created gt "2011-05-13T04:42:34Z"', {B, C, D}),
    ('meta.created ge "2011-05-13T04:42:34Z"', ALL),
    ('meta.lastModified lt "2012-01-01T12:00:00Z"', {A}),
    ('meta.lastModified le "2012-01-01T12:00:00Z"', {A, B}),
    ('meta.lastModified gt "2012-01-01T14:00:00+02:00"', {C, D}),
    ('meta.lastModified ge "2013-06-01T00:00:00"', {C, D}),
    ("meta.created pr", ALL),
    ("meta pr", ALL),
    # JSON sub-attributes.
    ('name.familyName eq "smith"', {A}),
    ('name.givenName sw "B"', {B}),
    ("name.givenName pr", {A, B}),
    ("name pr", {A, B, D}),
    ('name[givenName eq "alice"]', {A}),
    ('name[not (givenName eq "alice")]', {B}),
    ("title pr", {A, D}),
    ('title eq ""', {B}),
    ('title eq "engineer"', {A}),
    ('title ne "engineer"', {B, C, D}),
    ("title eq null", {B, C}),
    # Multi-valued: shorthand, sub-attributes, value paths, Entra's [..].value form.
    ('emails co "contoso"', {A}),
    ('emails eq "bob@fabrikam.com"', {B}),
    ('emails.value eq "zz@home.example"', {A}),
    ('emails.value ne "zz@home.example"', {B, C, D}),
    ('emails.type eq "work"', {A, B}),
    ('emails[type eq "work" and value co "@contoso.com"]', {A}),
    ('emails[type eq "home" and value co "@contoso.com"]', set()),
    ('emails[type eq "work" or value ew ".example"]', {A, B}),
    ('emails[not (type eq "work")]', {A}),
    ('emails[type eq "work"].value eq "alice@contoso.com"', {A}),
    ('emails[type eq "home"].value eq "alice@contoso.com"', set()),
    ('emails[type eq "work"].value co "fabrikam"', {B}),
    ("emails[primary eq true]", {A}),
    ('emails[primary eq true and value sw "alice@c"]', {A}),
    ("emails pr", {A, B}),
    ("emails.primary pr", {A}),
    ("phoneNumbers[primary eq true]", {A}),
    ("not (emails pr)", {C, D}),
    # Enterprise extension, URN-qualified and Azure AD's bare `manager`.
    (f'{ENTERPRISE_USER}:department eq "r&d"', {A}),
    (f"{ENTERPRISE_USER.upper()}:DEPARTMENT pr", {A, B}),
    (f'{ENTERPRISE_USER}:manager.value eq "{BOB_ID}"', {A}),
    (f'{ENTERPRISE_USER}:manager eq "{BOB_ID}"', {A}),
    (f'manager eq "{BOB_ID}"', {A}),
    (f'id eq "{BOB_ID}" and manager eq "{BOB_ID}"', set()),
    (f"{ENTERPRISE_USER}:manager pr", {A}),
    (f"{ENTERPRISE_USER} pr", {A, B}),
    ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "BOB@contoso.com"', {B}),
    ('urn:ietf:params:scim:schemas:core:2.0:User:name.familyName eq "Jones"', {B}),
    # Custom extension: strings case-insensitive; literal type picks the comparison.
    (f'{CUSTOM}:costCode eq "cc-100"', {A}),
    (f'{CUSTOM}:costCode sw "CC"', {A, B}),
    (f"{CUSTOM}:level gt 5", {B}),
    (f"{CUSTOM}:level le 3", {A}),
    (f"{CUSTOM}:level eq 3.0", {A}),
    (f"{CUSTOM}:remote eq true", {B}),
    (f"{CUSTOM}:costCode pr", {A, B}),
    (f'{CUSTOM}:costCode ne "cc-100"', {B, C, D}),
    (f'{CUSTOM}:missing eq "x"', set()),
    # Groups of a user come from the membership table.
    (f'groups eq "{ENG_ID}"', {A}),
    (f'groups.value eq "{ADMINS_ID}"', {B}),
    ('groups.value eq "nope"', set()),
    ('groups.display eq "engineering"', {A}),
    ('groups[display sw "adm" or display sw "eng"]', {A, B}),
    ('groups[type eq "direct"]', {A, B}),
    ("groups pr", {A, B}),
    ("not (groups pr)", {C, D}),
    # Logic and precedence (and binds tighter than or).
    ('userName sw "a" or userName sw "b" and active eq true', {A}),
    ('(userName sw "a" or userName sw "b") and active eq true', {A}),
    ('not (userName sw "a" or userName sw "b")', {C, D}),
    ("not(active eq false) and not (title pr)", {C}),
    ('userName eq "x" or not (userName eq "x")', ALL),
]


@pytest.mark.parametrize(("text", "expected"), USER_CASES, ids=[c[0] for c in USER_CASES])
def test_user_filter_matches_exactly(population, text, expected):
    tenant, _ = population
    assert users(tenant, text) == expected


GROUP_CASES = [
    ('displayName eq "ENGINEERING"', {"Engineering"}),
    ('externalId eq "adm"', {"Admins"}),
    (f'members eq "{ADMINS_ID}"', {"Engineering"}),
    (f'members.value eq "{BOB_ID}"', {"Admins"}),
    ('members[type eq "group"]', {"Engineering"}),
    ('members[type eq "User" and display eq "bob jones"]', {"Admins"}),
    ('members.display eq "admins"', {"Engineering"}),
    ("members pr", {"Engineering", "Admins"}),
    ('members.value eq "not-a-uuid"', set()),
    ('meta.resourceType eq "Group"', {"Engineering", "Admins"}),
    ('meta.resourceType eq "group"', set()),
    (f'id eq "{ENG_ID}" and members eq "{ADMINS_ID}"', {"Engineering"}),
    (f'id eq "{ADMINS_ID}" and members eq "{ADMINS_ID}"', set()),
]


@pytest.mark.parametrize(("text", "expected"), GROUP_CASES, ids=[c[0] for c in GROUP_CASES])
def test_group_filter_matches_exactly(population, text, expected):
    tenant, _ = population
    assert groups(tenant, text) == expected


AZURE_AD_REQUESTS = [
    ('userName eq "ALICE@contoso.com"', {A}),
    ('externalId eq "bob-2"', {B}),
    ('displayName eq "Bob Jones"', {B}),
    ('emails[type eq "work"].value eq "alice@contoso.com"', {A}),
    ("externalId eq bob-2", {B}),
    ("userName eq alice@contoso.com", {A}),
    (f"id eq {BOB_ID}", {B}),
    ("externalId eq bob-2 and active eq false", {B}),
    ("(externalId eq bob-2)", {B}),
    ('emails[type eq work].value eq "alice@contoso.com"', {A}),
]


@pytest.mark.parametrize(
    ("text", "expected"), AZURE_AD_REQUESTS, ids=[c[0] for c in AZURE_AD_REQUESTS]
)
def test_azure_ad_filters_work_under_the_tolerant_policy(population, text, expected):
    tenant, _ = population
    assert users(tenant, text, AZURE_AD_TOLERANT) == expected


@pytest.mark.parametrize(
    "text", ["externalId eq bob-2", "userName eq alice@contoso.com", f"id eq {BOB_ID}"]
)
def test_strict_policy_refuses_unquoted_values(population, text):
    with pytest.raises(InvalidFilter, match="is not quoted") as caught:
        compile_filter(text, resource_type="User", policy=STRICT_RFC)
    assert caught.value.scim_type == "invalidFilter"


def test_unquoted_number_is_a_string_only_under_the_tolerant_policy(population):
    tenant, _ = population
    ScimUser.objects.filter(user_name=C).update(external_id="12345")

    assert users(tenant, "externalId eq 12345", AZURE_AD_TOLERANT) == {C}
    with pytest.raises(InvalidFilter, match="must be a quoted string"):
        compile_filter("externalId eq 12345", resource_type="User", policy=STRICT_RFC)


def test_strict_policy_refuses_boolean_strings(population):
    with pytest.raises(InvalidFilter, match="compare it with true or false"):
        compile_filter('active eq "true"', resource_type="User", policy=STRICT_RFC)


def test_top_level_or_cannot_escape_the_tenant_clause(population):
    tenant, other = population
    q = compile_filter(
        'userName eq "alice@contoso.com" or userName pr or not (userName pr)',
        resource_type="User",
        policy=AZURE_AD_TOLERANT,
    )

    rows = ScimUser.objects.filter(tenant=tenant).filter(q)

    assert set(rows.values_list("tenant", flat=True)) == {tenant.pk}
    assert rows.count() == 4
    assert ScimUser.objects.filter(tenant=other).filter(q).count() == 1


@pytest.mark.parametrize(
    "text",
    [
        'userName pr or groups.display eq "engineering"',
        'members pr or displayName eq "Engineering"',
        'emails[type eq "work"] or not (emails pr)',
        "id pr",
    ],
)
def test_no_filter_returns_another_tenants_rows(population, text):
    tenant, other = population
    model = ScimGroup if text.startswith("members") else ScimUser
    resource_type = "Group" if model is ScimGroup else "User"
    q = compile_filter(text, resource_type=resource_type, policy=AZURE_AD_TOLERANT)

    tenants = set(model.objects.filter(tenant=tenant).filter(q).values_list("tenant", flat=True))

    assert tenants <= {tenant.pk}


def test_membership_of_another_tenant_never_matches(population):
    tenant, other = population
    other_group = ScimGroup.objects.get(tenant=other)

    assert users(tenant, f'groups eq "{other_group.pk}"') == set()


@pytest.mark.parametrize(
    "template",
    [
        "userName eq {v}",
        "emails[value co {v}]",
        "name.givenName sw {v}",
        CUSTOM + ":costCode eq {v}",
    ],
)
def test_filter_values_are_bound_parameters_not_sql(population, template):
    tenant, _ = population
    hostile = "x') OR 1=1 --"
    q = compile_filter(
        template.format(v=json.dumps(hostile)), resource_type="User", policy=AZURE_AD_TOLERANT
    )
    queryset = ScimUser.objects.filter(tenant=tenant).filter(q)

    sql, params = queryset.query.sql_with_params()

    assert hostile not in sql
    assert hostile in params
    assert not queryset.exists()


INVALID = [
    ('userName eq "alice', "not terminated"),
    ("userName eq", "ends too early"),
    ('userName xx "a"', "a comparison operator (eq, ne"),
    ('userName eq "a" and', "ends too early"),
    ('(userName eq "a"', "ends too early"),
    ('userName eq "a")', "unexpected ')' at column 16"),
    ('emails[type eq "work"', "ends too early"),
    ("", "empty"),
    ("   ", "empty"),
    ('nickname2 eq "x"', "unknown attribute 'nickname2'"),
    ('members eq "x"', "unknown attribute 'members' for a User"),
    ('name.middle eq "x"', "name has no sub-attribute 'middle'"),
    ('emails.kind eq "x"', "emails has no sub-attribute 'kind'"),
    ('emails[kind eq "x"]', "emails has no sub-attribute 'kind'"),
    ('emails[name.givenName eq "x"]', "only sub-attributes of emails"),
    ('userName.foo eq "x"', "userName has no sub-attributes"),
    ('meta[created gt "2011-01-01T00:00:00Z"]', "filter on its sub-attributes instead"),
    ('userName[value eq "x"]', "not a complex attribute"),
    ('urn:example:foo:bar eq "x"', "unknown schema"),
    (f'{ENTERPRISE_USER}:costCentre eq "x"', "unknown attribute 'costCentre'"),
    (
        'urn:ietf:params:scim:schemas:extension:CustomExt:2.0:Group:x eq "y"',
        "unknown schema",
    ),
    ('password eq "secret"', "write-only"),
    ('meta.location co "x"', "cannot be used in a filter"),
    ('groups.$ref eq "x"', "cannot be used in a filter"),
    ("active gt true", "only eq, ne and pr apply, not gt"),
    ('active co "t"', "only eq, ne and pr apply, not co"),
    ("active eq 1", "compare it with true or false"),
    ('meta.created co "2011"', "dateTime: co does not apply"),
    ('meta.created gt "yesterday"', 'is not one; write e.g. "2011-05-13T04:42:34Z"'),
    ("meta.created gt 5", "is not one"),
    ("userName gt null", "null can only be compared with eq or ne"),
    ('name eq "x"', "is complex and has no 'value'"),
    ('x509Certificates.value gt "a"', "binary: gt does not apply"),
    ('userName eq "a\\u0000b"', "NUL"),
    ('userName eq "\\ud800"', "unpaired surrogate"),
    ("userName eq 1e999", "number out of range"),
    ('emails.value[type eq "work"]', "value selection cannot apply"),
    (f"{CUSTOM}:level co 5", "a number cannot be compared with co"),
]


@pytest.mark.parametrize(("text", "message"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_filters_raise_invalid_filter_with_a_useful_message(text, message):
    with pytest.raises(InvalidFilter) as caught:
        compile_filter(text, resource_type="User", policy=AZURE_AD_TOLERANT)

    assert message in caught.value.detail
    assert caught.value.to_scim()["scimType"] == "invalidFilter"


def test_too_deep_nesting_is_refused():
    deep = "not (" * 20 + 'userName eq "a"' + ")" * 20

    with pytest.raises(InvalidFilter, match="levels deep"):
        compile_filter(deep, resource_type="User", policy=AZURE_AD_TOLERANT)


def test_nesting_beyond_the_parser_limit_is_refused_too():
    deep = "not (" * 40 + 'userName eq "a"' + ")" * 40

    with pytest.raises(InvalidFilter, match="levels deep"):
        compile_filter(deep, resource_type="User", policy=AZURE_AD_TOLERANT)


def test_huge_input_is_refused_before_parsing():
    huge = " or ".join(['userName eq "a"'] * 1000)

    with pytest.raises(InvalidFilter, match=f"at most {MAX_FILTER_LENGTH}"):
        compile_filter(huge, resource_type="User", policy=AZURE_AD_TOLERANT)


def test_many_terms_within_the_length_limit_compile_and_run(population):
    tenant, _ = population
    text = " or ".join(f'userName eq "u{i}"' for i in range(150)) + ' or userName sw "bob"'
    assert len(text) <= MAX_FILTER_LENGTH

    assert users(tenant, text) == {B}


def test_group_filter_refuses_user_attributes():
    with pytest.raises(InvalidFilter, match="unknown attribute 'userName' for a Group"):
        compile_filter('userName eq "x"', resource_type="Group", policy=AZURE_AD_TOLERANT)


# -- sorting ------------------------------------------------------------------------------------


def sorted_names(tenant, sort_by: str, *, descending: bool = False) -> list[str]:
    order = compile_sort(sort_by, resource_type="User", descending=descending)
    return list(
        ScimUser.objects.filter(tenant=tenant).order_by(*order).values_list("user_name", flat=True)
    )


def test_sort_by_username_ignores_case(population):
    tenant, _ = population
    assert sorted_names(tenant, "userName") == [A, B, C, D]
    assert sorted_names(tenant, "USERNAME", descending=True) == [D, C, B, A]


def test_sort_puts_missing_values_last_both_ways(population):
    tenant, _ = population
    assert sorted_names(tenant, "name.familyName")[:2] == [B, A]
    assert sorted_names(tenant, "name.familyName", descending=True)[:2] == [A, B]


def test_sort_by_multi_valued_uses_primary_then_first_value(population):
    tenant, _ = population
    # alice sorts by her primary address (alice@...), not her first one (zz@...).
    assert sorted_names(tenant, "emails")[:2] == [A, B]
    assert sorted_names(tenant, "emails", descending=True)[:2] == [B, A]


@pytest.mark.parametrize(
    "sort_by",
    [
        "meta.created",
        "meta.lastModified",
        "id",
        "externalId",
        f"{ENTERPRISE_USER}:department",
        f"{CUSTOM}:costCode",
        "meta.resourceType",
        "active",
        "phoneNumbers.value",
        f"{ENTERPRISE_USER}:manager",
    ],
)
def test_sort_by_any_known_attribute_runs(population, sort_by):
    tenant, _ = population
    assert len(sorted_names(tenant, sort_by)) == 4
    assert len(sorted_names(tenant, sort_by, descending=True)) == 4


def test_sort_groups_by_display_name(population):
    tenant, _ = population
    order = compile_sort("displayName", resource_type="Group", descending=True)

    names = ScimGroup.objects.filter(tenant=tenant).order_by(*order)

    assert list(names.values_list("display_name", flat=True)) == ["Engineering", "Admins"]


def test_sort_by_creation_orders_by_timestamp(population):
    tenant, _ = population
    assert sorted_names(tenant, "meta.created") == [A, B, C, D]


@pytest.mark.parametrize(
    ("sort_by", "message"),
    [
        ("nope", "unknown attribute 'nope'"),
        ("groups", "computed"),
        ("password", "write-only"),
        ("name", "complex"),
        ("meta", "complex"),
        ('emails[type eq "work"]', "must name an attribute"),
        ("user name", "not an attribute path"),
        ("", "empty"),
    ],
)
def test_bad_sort_by_raises_invalid_value(sort_by, message):
    with pytest.raises(InvalidValue, match=message) as caught:
        compile_sort(sort_by, resource_type="User", descending=False)
    assert caught.value.scim_type == "invalidValue"


# -- properties ---------------------------------------------------------------------------------

ATTRIBUTES = [
    "userName",
    "externalId",
    "id",
    "displayName",
    "active",
    "title",
    "name.givenName",
    "name",
    "emails",
    "emails.value",
    "emails.primary",
    "groups",
    "groups.display",
    "meta.created",
    "meta.lastModified",
    "meta.resourceType",
    "manager",
    f"{ENTERPRISE_USER}:department",
    f"{CUSTOM}:costCode",
    f"{CUSTOM}:level",
    "unknownThing",
    "password",
]
SUB_ATTRIBUTES = ["value", "type", "primary", "display", "bogus"]
OPERATORS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]
VALUES = st.one_of(
    st.text(max_size=12).map(json.dumps),
    st.integers(-(10**30), 10**30).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(json.dumps),
    st.sampled_from(
        [
            "true",
            "false",
            "null",
            '"2011-05-13T04:42:34Z"',
            '"2011-05-13T04:42:34.5+02:00"',
            '"9999-12-31T23:59:59Z"',
            '"0001-01-01T00:00:00+01:00"',
            f'"{BOB_ID}"',
            "bare-word",
            '"%_\\\\"',
        ]
    ),
)


def _attr_expression(names: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda a: f"{a} pr", st.sampled_from(names)),
        st.builds(
            lambda a, o, v: f"{a} {o} {v}",
            st.sampled_from(names),
            st.sampled_from(OPERATORS),
            VALUES,
        ),
    )


FILTERS = st.recursive(
    st.one_of(
        _attr_expression(ATTRIBUTES),
        st.builds(
            lambda a, inner: f"{a}[{inner}]",
            st.sampled_from(["emails", "groups", "name", "phoneNumbers", "userName"]),
            _attr_expression(SUB_ATTRIBUTES),
        ),
        st.builds(
            lambda inner, s, o, v: f"emails[{inner}].{s} {o} {v}",
            _attr_expression(SUB_ATTRIBUTES),
            st.sampled_from(SUB_ATTRIBUTES),
            st.sampled_from(OPERATORS),
            VALUES,
        ),
    ),
    lambda children: st.one_of(
        st.builds(lambda a, b: f"{a} and {b}", children, children),
        st.builds(lambda a, b: f"({a}) or ({b})", children, children),
        st.builds(lambda a: f"not ({a})", children),
    ),
    max_leaves=8,
)

FILTER_ALPHABET = st.sampled_from(
    list('abcdeilmnoprstuvwxyzNU .()[]"\\:_-%0123456789') + ["eq", " and ", " or ", "not"]
)
PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _compiles_and_runs(tenant, text: str, resource_type: str, policy) -> None:
    """The property: InvalidFilter or a Q that PostgreSQL executes without error."""
    try:
        q = compile_filter(text, resource_type=resource_type, policy=policy)
    except InvalidFilter as exc:
        assert exc.detail  # noqa: PT017 - the property is about which exceptions escape
        return
    assert isinstance(q, Q)
    model = ScimUser if resource_type == "User" else ScimGroup
    with transaction.atomic():  # a database error surfaces here, not in the next example
        list(model.objects.filter(tenant=tenant).filter(q).values_list("pk", flat=True))


@PROPERTY_SETTINGS
@given(text=st.text(max_size=80))
def test_arbitrary_text_never_raises_anything_but_invalid_filter(population, text):
    tenant, _ = population
    _compiles_and_runs(tenant, text, "User", AZURE_AD_TOLERANT)
    _compiles_and_runs(tenant, text, "User", STRICT_RFC)


@PROPERTY_SETTINGS
@given(text=st.lists(FILTER_ALPHABET, max_size=30).map("".join))
def test_filter_like_text_never_raises_anything_but_invalid_filter(population, text):
    tenant, _ = population
    _compiles_and_runs(tenant, text, "User", AZURE_AD_TOLERANT)
    _compiles_and_runs(tenant, text, "Group", STRICT_RFC)


@PROPERTY_SETTINGS
@given(text=FILTERS, resource_type=st.sampled_from(["User", "Group"]))
def test_well_formed_filters_compile_and_execute(population, text, resource_type):
    tenant, _ = population
    _compiles_and_runs(tenant, text, resource_type, AZURE_AD_TOLERANT)
    _compiles_and_runs(tenant, text, resource_type, STRICT_RFC)


@PROPERTY_SETTINGS
@given(text=FILTERS)
def test_filter_and_its_negation_partition_the_tenant(population, text):
    tenant, _ = population
    try:
        q = compile_filter(text, resource_type="User", policy=AZURE_AD_TOLERANT)
    except InvalidFilter:
        return
    rows = ScimUser.objects.filter(tenant=tenant)

    matched = set(rows.filter(q).values_list("pk", flat=True))
    unmatched = set(rows.filter(~q).values_list("pk", flat=True))

    assert matched.isdisjoint(unmatched)
    assert matched | unmatched == set(rows.values_list("pk", flat=True))


# -- Azure AD's matching query, read without the grammar ------------------------------------

_ATTRIBUTE_NAMES = st.sampled_from(
    ["userName", "externalId", "displayName", "USERNAME", "and", "or", "not", "NoT", "pr", "eq"]
    + ["true", "false", "null", "x-y", "a_b", "A1", "meta", "emails"]
) | st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,12}", fullmatch=True)
_VALUES = st.text(
    alphabet=st.characters(codec="utf-8") | st.sampled_from('"\\\x00\x1f\x7f \t[]()'), max_size=24
)


@settings(max_examples=500, deadline=None)
@given(_ATTRIBUTE_NAMES, _VALUES, st.sampled_from(["eq", "EQ", "ne", "co"]))
def test_a_comparison_is_read_into_the_grammars_tree_or_refused_as_it_refuses(
    attribute, value, operator
):
    text = f'{attribute} {operator} "{value}"'
    try:
        grammar = ScimFilter(text).ast
    except InvalidFilterException:
        with pytest.raises(InvalidFilter):
            parse_filter(text, policy=AZURE_AD_TOLERANT)
        return
    fast = parse_filter(text, policy=AZURE_AD_TOLERANT)
    assert fast == grammar
    assert (str(fast), repr(fast)) == (str(grammar), repr(grammar))


@pytest.mark.parametrize(
    "text",
    [
        'userName eq "alex@contoso.com"',
        'externalId eq "8e3d7c1a-0000-4000-8000-000000000001"',
        'displayName eq "Sales & Marketing (EMEA) [all]"',
    ],
)
def test_azure_ad_matching_queries_take_the_plain_reading(text):
    assert _PLAIN_EQ.fullmatch(text)
