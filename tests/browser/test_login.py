"""Login and the landing page, in a real Chromium against a live server."""

import pytest
from playwright.sync_api import expect

from elium_portal.models import Membership
from tests.factories import MembershipFactory, TenantFactory
from tests.factories.elium import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_shows_my_platforms_and_logout_returns_to_login(live_server, page):
    membership = MembershipFactory(
        user__username="alice", tenant__name="Acme Knowledge", role=Membership.Role.ADMIN
    )
    TenantFactory(name="Hidden Corp")

    page.goto(live_server.url + "/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Your platforms")).to_be_visible()
    expect(page.get_by_test_id("tenant-link")).to_have_count(1)
    expect(page.get_by_text("Acme Knowledge")).to_be_visible()
    expect(page.get_by_text("Hidden Corp")).to_have_count(0)

    page.get_by_test_id("tenant-link").click()
    expect(page).to_have_url(f"{live_server.url}/t/{membership.tenant.slug}/")
    expect(page.get_by_test_id("tenant-name")).to_have_text("Acme Knowledge")

    page.get_by_role("button", name="Open the user menu").click()
    page.get_by_role("menuitem", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Elium")).to_be_visible()


def test_wrong_password_shows_an_error(live_server, page):
    MembershipFactory(user__username="bob")

    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("enter a correct username and password")
