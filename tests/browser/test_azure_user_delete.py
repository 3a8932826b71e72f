"""Deleting a directory user in the console: soft delete (restorable), then permanently."""

import pytest
from playwright.sync_api import expect

from provisioning.models import ChangeRecord, DirectoryUser
from tests.factories import DirectoryFactory, DirectoryUserFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_soft_delete_then_delete_permanently(live_server, page, log_in):
    UserFactory(username="admin", is_staff=True)
    directory = DirectoryFactory(name="Fabrikam")
    user = DirectoryUserFactory(directory=directory, display_name="Grace Hopper")
    page.on("dialog", lambda dialog: dialog.accept())
    log_in("admin")
    user_url = f"{live_server.url}/azure/directories/{directory.tenant_id}/users/{user.object_id}/"

    page.goto(user_url)
    page.get_by_role("button", name="Delete", exact=True).click()
    page.goto(user_url)
    expect(page.get_by_role("button", name="Restore user")).to_be_visible()
    user.refresh_from_db()
    assert user.deleted_at is not None

    page.get_by_role("button", name="Delete permanently").click()
    page.wait_for_load_state()

    assert not DirectoryUser.objects.filter(pk=user.pk).exists()
    assert ChangeRecord.objects.filter(
        directory=directory, object_id=user.object_id, change_type="deleted"
    ).exists()
