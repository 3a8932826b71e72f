"""The tutorial's path, as a person walks it: log in, avatar menu → My Profile → Settings →
ADVANCED › Security → Generate → copy; then Azure AD's call over real HTTP with the copied
token."""

import httpx
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from elium_portal.models import Membership, ScimToken
from elium_portal.services.tokens import scim_token_issue
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "permissions": ["clipboard-read", "clipboard-write"]}


def open_security(page):
    page.get_by_role("button", name="Open the user menu").click()
    page.get_by_role("menuitem", name="My Profile").click()
    page.get_by_role("link", name="Settings").click()
    advanced = page.get_by_test_id("settings-advanced")
    expect(advanced).to_contain_text("ADVANCED")
    advanced.get_by_role("link", name="Security").click()
    expect(page.get_by_role("heading", name="Security", exact=True)).to_be_visible()


def scim_status(live_server, slug, token):
    response = httpx.get(
        f"{live_server.url}/t/{slug}/scim/v2/ServiceProviderConfig",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    return response.status_code


def read_clipboard(page):
    return page.evaluate("navigator.clipboard.readText()")


def test_admin_generates_copies_and_uses_the_secret_token(live_server, page, log_in):
    admin = MembershipFactory(
        user__username="alice", tenant__slug="acme", tenant__name="Acme", role="admin"
    )
    log_in("alice")
    page.get_by_test_id("tenant-link").click()

    open_security(page)
    expect(page).to_have_url(f"{live_server.url}/t/acme/settings/security/")

    # The tenant URL and SCIM endpoint copy with a confirmation.
    page.get_by_role("button", name="Copy the SCIM endpoint").click()
    expect(page.locator("#toast")).to_have_text("Copied")
    assert read_clipboard(page) == f"{admin.tenant.url}/scim/v2"

    page.get_by_role("button", name="Generate token").click()
    panel = page.get_by_test_id("new-token-panel")
    expect(panel).to_contain_text("will not be shown again")
    page.get_by_role("button", name="Copy the Secret token").click()
    expect(page.get_by_role("button", name="Copy the Secret token")).to_have_text("Copied")
    token = read_clipboard(page)
    assert token.startswith("elium_scim_")

    assert scim_status(live_server, "acme", token) == 200

    # Shown once: a reload shows only the identifying prefix and last four.
    page.goto(f"{live_server.url}/t/acme/settings/security/")
    expect(page.get_by_test_id("new-token-panel")).to_have_count(0)
    expect(page.get_by_test_id("token-prefix")).to_contain_text(token[-4:])
    expect(page.get_by_test_id("token-last-used")).not_to_have_text("Never")
    expect(page.get_by_test_id("audit-events")).to_contain_text("Secret token generated")

    # Regenerate immediately: the old token is refused at once.
    page.get_by_role("button", name="Regenerate").click()
    page.get_by_label("Immediately").check()
    page.get_by_role("button", name="Regenerate token").click()
    page.get_by_role("button", name="Copy the Secret token").click()
    expect(page.get_by_role("button", name="Copy the Secret token")).to_have_text("Copied")
    new_token = read_clipboard(page)
    assert new_token != token
    assert scim_status(live_server, "acme", token) == 401
    assert scim_status(live_server, "acme", new_token) == 200

    # Revoke: the new token ends too.
    page.goto(f"{live_server.url}/t/acme/settings/security/")
    page.get_by_role("button", name="Revoke").click()
    page.get_by_role("button", name="Revoke token").click()
    expect(page.locator(".message-success")).to_contain_text("was revoked")
    expect(page.get_by_test_id("no-token")).to_contain_text("was revoked on")
    assert scim_status(live_server, "acme", new_token) == 401


def test_regenerate_with_grace_keeps_the_old_token_until_it_ends(live_server, page, clock, log_in):
    MembershipFactory(user__username="alice", tenant__slug="acme", role="admin")
    log_in("alice")
    page.goto(f"{live_server.url}/t/acme/settings/security/")
    page.get_by_role("button", name="Generate token").click()
    old_token = page.locator("#new-token").input_value()

    page.goto(f"{live_server.url}/t/acme/settings/security/")
    page.get_by_role("button", name="Regenerate").click()
    page.get_by_label("In 1 hour").check()
    page.get_by_role("button", name="Regenerate token").click()
    new_token = page.locator("#new-token").input_value()
    expect(page.get_by_test_id("grace-token")).to_have_count(1)

    assert scim_status(live_server, "acme", old_token) == 200
    clock.advance(minutes=59)
    assert scim_status(live_server, "acme", old_token) == 200
    clock.advance(minutes=2)
    assert scim_status(live_server, "acme", old_token) == 401
    assert scim_status(live_server, "acme", new_token) == 200


def test_scim_switch_in_the_page_disables_the_api(live_server, page, log_in):
    MembershipFactory(user__username="alice", tenant__slug="acme", role="admin")
    log_in("alice")
    page.goto(f"{live_server.url}/t/acme/settings/security/")
    page.get_by_role("button", name="Generate token").click()
    token = page.locator("#new-token").input_value()

    page.once("dialog", lambda dialog: dialog.accept())  # "Disable SCIM provisioning?"
    page.get_by_text("Enabled", exact=True).click()
    expect(page.get_by_text("SCIM provisioning is disabled", exact=False).first).to_be_visible()

    assert scim_status(live_server, "acme", token) == 403


def test_member_cannot_reach_security(live_server, page, log_in):
    MembershipFactory(user__username="bob", tenant__slug="acme", role=Membership.Role.MEMBER)
    log_in("bob")

    page.goto(f"{live_server.url}/t/acme/settings/")
    expect(page.get_by_role("heading", name="General")).to_be_visible()
    expect(page.get_by_test_id("settings-advanced")).to_have_count(0)
    response = page.goto(f"{live_server.url}/t/acme/settings/security/")
    assert response.status == 403


def test_refreshing_or_going_back_never_issues_a_second_token(live_server, page, log_in):
    MembershipFactory(user__username="bob", tenant__slug="beta", tenant__name="Beta", role="admin")
    log_in("bob")
    page.goto(f"{live_server.url}/t/beta/settings/security/")
    page.get_by_role("button", name="Generate token").click()
    token = page.locator("#new-token").input_value()

    # F5 on the token page re-posts the form: the browser resubmits, the server refuses.
    response = page.reload()

    assert response.status == 409
    expect(page.get_by_test_id("already-submitted")).to_contain_text("no new token was issued")
    expect(page.get_by_test_id("new-token-panel")).to_have_count(0)
    assert scim_status(live_server, "beta", token) == 200

    # Back to the token page: no-store, so the browser has no copy to show and will not re-post
    # on its own; the token never reappears.
    page.goto(f"{live_server.url}/t/beta/settings/security/")
    with pytest.raises(PlaywrightError, match="ERR_CACHE_MISS"):
        page.go_back()
    assert ScimToken.objects.filter(tenant__slug="beta").count() == 1


def test_turning_scim_off_and_revoking_a_grace_token_ask_first(live_server, page, log_in):
    admin = MembershipFactory(
        user__username="carol", tenant__slug="gamma", tenant__name="Gamma", role="admin"
    )
    scim_token_issue(tenant=admin.tenant)
    scim_token_issue(tenant=admin.tenant, replace="24h")
    log_in("carol")
    page.goto(f"{live_server.url}/t/gamma/settings/security/")
    questions = []

    def answer(dialog, accept):
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))
    page.get_by_text("Enabled", exact=True).click()
    expect(page.get_by_role("switch")).to_be_checked()
    assert "Disable SCIM provisioning?" in questions[-1]
    admin.tenant.refresh_from_db()
    assert admin.tenant.scim_enabled

    page.once("dialog", lambda d: answer(d, False))
    page.get_by_role("button", name="Revoke now").click()
    expect(page.get_by_test_id("grace-token")).to_have_count(1)
    assert "stops working at once" in questions[-1]

    page.once("dialog", lambda d: answer(d, True))
    page.get_by_role("button", name="Revoke now").click()
    expect(page.get_by_test_id("grace-token")).to_have_count(0)
    assert ScimToken.objects.filter(tenant=admin.tenant, revoked_at__isnull=False).count() == 1
