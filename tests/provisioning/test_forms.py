"""The console's forms, without a page around them."""

import uuid

import pytest
from django.http import QueryDict
from django.utils import timezone

from provisioning.forms import (
    DirectoryUserActionForm,
    GroupMemberRemoveForm,
    OnDemandMembersForm,
    OnDemandSubjectForm,
    ScopingClauseFormSet,
    ScopingFilterForm,
)
from provisioning.models import DirectoryGroupMember, DirectoryUser
from provisioning.scoping import ScopingClause, ScopingOperator
from tests.factories import DirectoryGroupFactory, DirectoryUserFactory


def test_a_bad_clause_row_is_a_field_error_of_that_row():
    clauses = ScopingClauseFormSet.bound_to(
        [
            {"attribute": "department", "operator": "EQUALS", "value": "Sales"},
            {"attribute": "manager", "operator": "EQUALS", "value": "x"},
            {"attribute": "employeeId", "operator": "Greater_Than", "value": "ten"},
        ]
    )

    assert not clauses.is_valid()
    assert clauses.errors[0] == {}
    assert clauses.errors[1]["attribute"] == [
        "Reference attributes such as manager cannot be used in scoping filters."
    ]
    assert clauses.errors[2]["value"] == ["Greater_Than compares integers; enter a whole number."]


def test_good_clause_rows_become_the_filter_clauses():
    clauses = ScopingClauseFormSet.bound_to(
        [
            {"attribute": "department", "operator": "EQUALS", "value": "Sales"},
            {"attribute": "accountEnabled", "operator": "IS TRUE", "value": "ignored"},
        ]
    )

    assert clauses.is_valid()
    assert clauses.scoping_clauses() == (
        ScopingClause("department", ScopingOperator.EQUALS, "Sales"),
        ScopingClause("accountEnabled", ScopingOperator.IS_TRUE, ""),
    )


def test_a_filter_needs_a_title_and_a_clause():
    clauses = ScopingClauseFormSet.bound_to([])
    form = ScopingFilterForm({"title": "  "})

    assert not clauses.is_valid()
    assert clauses.non_form_errors() == ["Add at least one scoping clause."]
    assert not form.is_valid()
    assert form.errors["title"] == ["This field is required."]


def test_the_posted_rows_leave_out_the_removed_one_and_are_renumbered():
    post = QueryDict(mutable=True)
    post.update({"clause_count": "3", "remove_clause": "1"})
    for n, attribute in enumerate([" department ", "city", "country"]):
        post.update(
            {
                f"clause-{n}-attribute": attribute,
                f"clause-{n}-operator": "EQUALS",
                f"clause-{n}-value": f"v{n}",
            }
        )

    rows = ScopingClauseFormSet.posted_rows(post)

    assert rows == [
        {"attribute": "department", "operator": "EQUALS", "value": "v0"},
        {"attribute": "country", "operator": "EQUALS", "value": "v2"},
    ]
    assert ScopingClauseFormSet.posted_rows(QueryDict("clause_count=many")) == []


def members_post(*values: str) -> QueryDict:
    post = QueryDict(mutable=True)
    post.setlist("members", list(values))
    return post


def test_on_demand_refuses_six_members_of_a_group():
    six = [str(uuid.uuid4()) for _ in range(6)]
    form = OnDemandMembersForm(members_post(*six), group_members=DirectoryUser.objects.none())

    assert not form.is_valid()
    assert form.non_field_errors() == [
        "You can select up to 5 members of a group at a time; 6 are selected."
    ]
    assert form.chosen == six  # ticked again on the page


@pytest.mark.django_db
def test_on_demand_takes_up_to_five_members_of_the_group_only():
    group = DirectoryGroupFactory()
    people = [DirectoryUserFactory(directory=group.directory) for _ in range(6)]
    for person in people:
        DirectoryGroupMember.objects.create(group=group, member_user=person)
    stranger = DirectoryUserFactory(directory=group.directory)
    members = DirectoryUser.objects.filter(memberships__group=group)
    ids = [str(person.object_id) for person in people]

    five = OnDemandMembersForm(members_post(*ids[:5], ids[0]), group_members=members)
    assert five.is_valid()
    assert set(five.cleaned_data["members"]) == set(people[:5])

    outsider = OnDemandMembersForm(
        members_post(ids[0], str(stranger.object_id)), group_members=members
    )
    assert not outsider.is_valid()
    assert outsider.non_field_errors() == ["Select members of the group."]

    garbled = OnDemandMembersForm(members_post(ids[0], "not-an-id"), group_members=members)
    assert not garbled.is_valid()
    assert garbled.non_field_errors() == ["Select members of the group."]
    assert garbled.chosen == []


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ({"object": "user:{id}"}, "user"),
        ({"object": "group:{id}"}, "group"),
        ({"group": "{id}"}, "group"),
        ({"user": "{id}"}, "user"),
        ({"object": "role:{id}"}, None),
        ({"object": "user:nope"}, None),
        ({}, None),
    ],
)
def test_on_demand_subject_is_a_user_or_a_group(data, kind):
    object_id = uuid.uuid4()
    form = OnDemandSubjectForm({k: v.format(id=object_id) for k, v in data.items()})

    if kind is None:
        assert not form.is_valid()
        assert form.non_field_errors() == ["Select a user or a group."]
    else:
        assert form.is_valid()
        assert (form.cleaned_data["kind"], form.cleaned_data["object_id"]) == (kind, object_id)


@pytest.mark.django_db
def test_only_a_deleted_user_can_be_deleted_permanently():
    user = DirectoryUserFactory()

    live = DirectoryUserActionForm({"hard_delete": "1"}, user=user)
    assert not live.is_valid()
    assert live.non_field_errors() == [
        "Delete the user first; only deleted users can be deleted permanently."
    ]
    assert DirectoryUserActionForm({"soft_delete": "1"}, user=user).is_valid()

    user.deleted_at = timezone.now()
    deleted = DirectoryUserActionForm({"hard_delete": "1"}, user=user)
    assert deleted.is_valid()
    assert deleted.cleaned_data["action"] == "hard_delete"
    save = DirectoryUserActionForm({"display_name": "Ada"}, user=user)
    assert save.is_valid()
    assert save.cleaned_data["action"] == ""


@pytest.mark.parametrize(
    ("value", "kind"),
    [("user:{id}", "user"), ("group:{id}", "group"), ("user:nope", None), ("", None)],
)
def test_a_member_remove_button_names_a_user_or_a_group(value, kind):
    object_id = uuid.uuid4()
    form = GroupMemberRemoveForm({"remove_member": value.format(id=object_id)})

    if kind is None:
        assert not form.is_valid()
    else:
        assert form.is_valid()
        assert form.cleaned_data["remove_member"] == (kind, object_id)
