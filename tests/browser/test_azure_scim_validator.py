"""Enterprise applications › SCIM Validator in the browser: a run against this project's own
tenant is queued, run by a real procrastinate worker, its progress shown live, then the result
table with each check expandable to its requests and responses, and the JSON download."""

import pytest
from django.db import connection
from playwright.sync_api import expect

from provisioning.models import ScimValidationRun
from tests.browser.test_azure_import_progress import run_worker_once
from tests.factories import DirectoryFactory, UserFactory
from tests.provisioning.engine_support import make_target

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_validate_the_own_tenant_from_the_console(live_server, page, settings, log_in):
    settings.SCIM_RATE_LIMIT_PER_SECOND = 0
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")
    UserFactory(username="admin", is_staff=True)
    directory = DirectoryFactory(name="Fabrikam")
    target = make_target(live_server)

    log_in("admin")
    page.goto(f"{live_server.url}/azure/directories/{directory.tenant_id}/apps/")
    page.get_by_role("link", name="SCIM Validator").first.click()
    page.get_by_label("Tenant URL").fill(target.url)
    page.get_by_label("Secret Token").fill(target.token)
    page.get_by_label("PATCH dialect").select_option("aadOptscim062020")
    page.get_by_role("button", name="Validate").click()

    expect(page.get_by_test_id("validation-status")).to_have_text("Queued")
    worker = run_worker_once()
    expect(page.get_by_test_id("validation-percent")).to_have_text("100% complete", timeout=60_000)
    expect(page.get_by_test_id("validation-overall")).to_contain_text("Succeeded")
    row = page.locator('tr[data-check="SCIM_User_Create"]')
    expect(row.get_by_test_id("check-status")).to_have_text("PASSED")
    row.locator("summary").click()
    expect(row.locator("pre").first).to_contain_text("POST ")
    expect(row.locator("pre").first).not_to_contain_text(target.token)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download JSON").click()
    assert download.value.suggested_filename.endswith(".json")
    worker.join(timeout=30)

    page.get_by_role("link", name="SCIM Validator").first.click()
    expect(page.get_by_test_id("validator-history")).to_contain_text("Succeeded")
    assert ScimValidationRun.objects.get().token_encrypted == ""
