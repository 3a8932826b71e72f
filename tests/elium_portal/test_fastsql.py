"""``instance_from_row`` gives the instance the ORM gives for the same row."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.db.models.signals import post_init

from elium_portal import fastsql
from elium_portal.fastsql import instance_from_row, instances_from_rows, select_list
from elium_portal.models import ScimToken
from scim_api.models import ScimUser
from tests.factories import ScimTokenFactory, ScimUserFactory, TenantFactory

pytestmark = pytest.mark.django_db


def _row(model, pk):
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT {select_list(model, "m")} FROM "{model._meta.db_table}" m WHERE m."id" = %s',
            [pk],
        )
        return cursor.fetchone()


def _fields(instance) -> dict:
    return {k: v for k, v in vars(instance).items() if k != "_state"}


def test_the_instance_equals_the_orms():
    user = ScimUserFactory(
        data={"name": {"givenName": "Ada"}, "emails": [{"value": "ada@example.com"}]}
    )
    built = instance_from_row(ScimUser, _row(ScimUser, user.pk))
    loaded = ScimUser.objects.get(pk=user.pk)
    assert type(built) is ScimUser
    assert _fields(built) == _fields(loaded)
    assert built.data == {"name": {"givenName": "Ada"}, "emails": [{"value": "ada@example.com"}]}
    assert built._state.adding is False
    assert built._state.db == loaded._state.db
    assert built.get_deferred_fields() == set()
    assert built.tenant == user.tenant  # a relation still loads
    built.display_name = "Changed"
    built.save(update_fields=["display_name"])  # an update, not an insert
    assert ScimUser.objects.get(pk=user.pk).display_name == "Changed"


def test_fields_not_read_are_deferred_and_load_on_access():
    user = ScimUserFactory(password="not-read")
    fields = tuple(f for f in ScimUser._meta.concrete_fields if f.name != "password")
    with connection.cursor() as cursor:
        columns = ", ".join(f'"{f.column}"' for f in fields)
        cursor.execute(f'SELECT {columns} FROM "scim_api_scimuser" WHERE "id" = %s', [user.pk])
        row = cursor.fetchone()
    built = instance_from_row(ScimUser, row, fields=fields)
    assert built.get_deferred_fields() == {"password"}
    assert built.password == "not-read"


def test_a_row_of_the_wrong_width_is_refused():
    token = ScimTokenFactory()
    with pytest.raises(ValueError, match="fields of ScimToken"):
        instance_from_row(ScimToken, _row(ScimToken, token.pk)[:-1])


def test_post_init_receivers_still_run():
    token = ScimTokenFactory()
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.pk)

    post_init.connect(receiver, sender=ScimToken)
    try:
        built = instance_from_row(ScimToken, _row(ScimToken, token.pk))
    finally:
        post_init.disconnect(receiver, sender=ScimToken)
    assert seen == [token.pk]
    assert _fields(built) == _fields(ScimToken.objects.get(pk=token.pk))


@pytest.mark.parametrize(
    "data",
    [
        {"n": 12345678901234567890123, "neg": -9223372036854775809},  # past 64 bits
        {"big": 9223372036854775807, "small": -9223372036854775808},
        {"x": 1.5, "y": 1e300, "tiny": 5e-324, "z": -0.0, "list": [1, 2.25, None, True]},
        {"text": "digits 12345678901234567890 in a string", "é": "ünïcødé ☃ \U0001f600"},
        {"nested": {"deep": [{"a": [[]], "b": {}}]}, "esc": 'quote " slash \\ nl \n'},
        {},
    ],
)
def test_json_documents_read_as_json_loads_reads_them(data):
    """The JSON converter's fast path (orjson) gives exactly what Django's ``json.loads``
    gives, integers past 64 bits included (those go to the slow path)."""
    user = ScimUserFactory(data=data)
    built = instance_from_row(ScimUser, _row(ScimUser, user.pk))
    loaded = ScimUser.objects.get(pk=user.pk)
    assert built.data == loaded.data
    assert repr(built.data) == repr(loaded.data)  # same types: int stays int, -0.0 stays -0.0


def test_many_rows_at_once_with_leading_columns_skipped():
    users = ScimUserFactory.create_batch(3)
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT 7, m."user_name", {select_list(ScimUser, "m")} FROM "scim_api_scimuser" m '
            'WHERE m."id" = ANY(%s) ORDER BY m."user_name"',
            [[u.pk for u in users]],
        )
        rows = cursor.fetchall()
    built = instances_from_rows(ScimUser, rows, skip=2)
    assert [u.user_name for u in built] == [row[1] for row in rows]
    for instance in built:
        assert _fields(instance) == _fields(ScimUser.objects.get(pk=instance.pk))
    with pytest.raises(ValueError, match="fields of ScimUser"):
        instances_from_rows(ScimUser, rows, skip=1)


def test_among_compares_one_value_with_equals_and_several_with_any():
    one = uuid.uuid4()
    several = [uuid.uuid4(), uuid.uuid4()]

    assert fastsql.among([one]) == ("= %s", one)
    assert fastsql.among([one], cast="uuid") == ("= %s::uuid", one)
    assert fastsql.among(several, cast="uuid") == ("= ANY(%s::uuid[])", several)
    assert fastsql.among(iter(several)) == ("= ANY(%s)", several)


@pytest.mark.django_db
def test_among_finds_the_same_rows_either_way():
    tenant = TenantFactory()
    users = [ScimUserFactory(tenant=tenant) for _ in range(3)]
    for wanted in ([users[0].pk], [users[0].pk, users[2].pk], []):
        compared, value = fastsql.among(wanted, cast="uuid")
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id FROM scim_api_scimuser WHERE id {compared}", [value])
            assert {row[0] for row in cursor.fetchall()} == set(wanted)
