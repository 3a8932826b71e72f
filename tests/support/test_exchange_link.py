"""A real cycle into an Elium tenant of this installation: each request carries the log
entry's Change ID as ``client-request-id`` and the SCIM request log records it, so support can
go from an entry to the requests of its exchange and back (issue 13, point 2)."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from elium_portal.models import Tenant
from provisioning.engine.cycle import provisioning_cycle_run
from provisioning.models import ProvisioningLogEntry
from scim_api.models import ScimRequestLog
from tests.factories import DirectoryUserFactory
from tests.provisioning.engine_support import assign, make_app, make_target

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_cycle_requests_are_logged_with_their_entry_change_id(live_server, settings, client):
    settings.SCIM_RATE_LIMIT_PER_SECOND = 0
    target = make_target(live_server)
    Tenant.objects.filter(slug="acme").update(scim_request_log_level="all")
    app = make_app(target, template="elium")
    alice = DirectoryUserFactory(directory=app.directory, display_name="Alice Smith")
    assign(app, alice)

    provisioning_cycle_run(job=app.provisioning_job)

    entry = ProvisioningLogEntry.objects.get(source_id=str(alice.object_id), action="Create")
    requests = ScimRequestLog.objects.filter(client_request_id=entry.change_id)
    assert {r.method for r in requests} >= {"GET", "POST"}  # matching query, then the create
    assert all(isinstance(r.client_request_id, uuid.UUID) for r in requests)

    entry_page = reverse("admin:provisioning_provisioninglogentry_change", args=[entry.pk])
    client.force_login(get_user_model().objects.create_superuser("op", "o@example.com", "pw"))
    html = client.get(entry_page).content.decode()
    log_search = client.get(
        reverse("admin:scim_api_scimrequestlog_changelist"), {"q": str(entry.change_id)}
    ).content.decode()
    assert f"?q={entry.change_id}" in html
    for row in requests:
        assert reverse("admin:scim_api_scimrequestlog_change", args=[row.pk]) in log_search
