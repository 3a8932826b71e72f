"""The change feed in the admin (issue 13, point 6): read-only for support staff, found by
name, id and request id, filtered by tenant, kind and date, linked from the tenant page and to
and from the inbound request log."""

import datetime as dt
import uuid
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from scim_api.models import ScimChange
from tests.factories import ScimChangeFactory, ScimRequestLogFactory, TenantFactory

pytestmark = pytest.mark.django_db

FEED = "admin:scim_api_scimchange_changelist"


def _listed(client, **query):
    response = client.get(reverse(FEED), query)
    assert response.status_code == 200
    return response.content.decode()


def test_support_sees_the_feed_in_words_and_cannot_change_it(support_client):
    row = ScimChangeFactory(
        kind=ScimChange.Kind.USER_UPDATED,
        object_name="Alice Smith",
        changes=[{"attribute": "title", "old": "Analyst", "new": "Manager"}],
    )

    listing = _listed(support_client)
    page = support_client.get(reverse("admin:scim_api_scimchange_change", args=[row.pk]))

    assert "Azure AD changed Alice Smith&#x27;s job title from Analyst to Manager" in listing
    assert page.status_code == 200
    assert "<td>job title</td><td>Analyst</td><td>Manager</td>" in page.content.decode()
    assert 'name="_save"' not in page.content.decode()
    assert support_client.post(reverse("admin:scim_api_scimchange_add")).status_code == 403
    assert (
        support_client.post(reverse("admin:scim_api_scimchange_delete", args=[row.pk])).status_code
        == 403
    )


def test_search_by_name_userName_object_id_and_request_id(support_client):
    alice = ScimChangeFactory(object_name="Alice Smith", user_name="asmith@contoso.com")
    bob = ScimChangeFactory(object_name="Bob Jones", user_name="bjones@contoso.com")

    assert "Alice Smith" in _listed(support_client, q="alice")
    assert "Alice Smith" in _listed(support_client, q="ASMITH@")
    assert "Bob Jones" not in _listed(support_client, q="alice")
    assert "Alice Smith" in _listed(support_client, q=str(alice.object_id))
    by_request = _listed(support_client, q=str(bob.request_id))
    assert "Bob Jones" in by_request
    assert "Alice Smith" not in by_request
    assert "Alice" not in _listed(support_client, q=str(uuid.uuid4()))


def test_filters_by_tenant_kind_and_date(support_client, clock):
    acme, other = TenantFactory(), TenantFactory()
    ScimChangeFactory(tenant=acme, object_name="Acme Person")
    ScimChangeFactory(tenant=other, object_name="Other Person", kind="user_deleted")
    ScimChangeFactory(
        tenant=acme, object_name="Old Person", created_at=clock() - dt.timedelta(days=40)
    )

    by_tenant = _listed(support_client, tenant__id__exact=acme.pk)
    by_kind = _listed(support_client, kind__exact="user_deleted")
    recent = _listed(support_client, since="7d")

    assert "Acme Person" in by_tenant
    assert "Other Person" not in by_tenant
    assert "Other Person" in by_kind
    assert "Acme Person" not in by_kind
    assert "Old Person" not in recent
    assert "Acme Person" in recent


def test_feed_and_request_log_link_both_ways(support_client):
    tenant = TenantFactory()
    exchange = uuid.uuid4()
    row = ScimChangeFactory(tenant=tenant, object_name="Alice Smith", request_id=exchange)
    logged = ScimRequestLogFactory(
        tenant=tenant, method="PATCH", status=200, client_request_id=exchange
    )
    quiet = ScimRequestLogFactory(tenant=tenant, method="GET", status=404)

    feed_page = support_client.get(
        reverse("admin:scim_api_scimchange_change", args=[row.pk])
    ).content.decode()
    log_page = support_client.get(
        reverse("admin:scim_api_scimrequestlog_change", args=[logged.pk])
    ).content.decode()
    quiet_page = support_client.get(
        reverse("admin:scim_api_scimrequestlog_change", args=[quiet.pk])
    ).content.decode()

    assert reverse("admin:scim_api_scimrequestlog_change", args=[logged.pk]) in feed_page
    assert f"{reverse(FEED)}?{urlencode({'q': str(exchange)})}" in log_page
    assert "This request changed nothing." in quiet_page
    listed = _listed(support_client)
    assert f"?{urlencode({'q': str(exchange)})}" in listed  # each row links to its requests


def test_tenant_page_links_to_its_feed(support_client):
    tenant = TenantFactory()

    html = support_client.get(
        reverse("admin:elium_portal_tenant_change", args=[tenant.pk])
    ).content.decode()

    assert f"{reverse(FEED)}?tenant__id__exact={tenant.pk}" in html
