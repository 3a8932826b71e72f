"""The engine from the console, in a real Chromium: start provisioning and watch Current status
reach 100 % while a real procrastinate worker runs the cycle against this project's own SCIM
API; open a provisioning log entry's tabs; provision one user on demand."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, connections
from playwright.sync_api import expect
from procrastinate.contrib.django import app as procrastinate_app

from tests.factories import DirectoryUserFactory, UserFactory
from tests.provisioning.engine_support import assign, make_app, make_target

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def scene(live_server, settings):
    settings.SCIM_RATE_LIMIT_PER_SECOND = 0
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")
    UserFactory(username="admin", is_staff=True)
    target = make_target(live_server)
    app = make_app(target, template="elium", status="off")
    users = [
        DirectoryUserFactory(directory=app.directory, given_name=f"Person{i}", surname="Smith")
        for i in range(12)
    ]
    for user in users[:10]:
        assign(app, user)
    base = f"{live_server.url}/azure/directories/{app.directory.tenant_id}/apps/{app.object_id}/"
    return app, users, target, base


def run_worker_in_background() -> threading.Thread:
    def work():
        worker = procrastinate_app.with_connector(
            procrastinate_app.connector.get_worker_connector()
        )
        worker.run_worker(
            wait=False, install_signal_handlers=False, listen_notify=False, queues=["default"]
        )
        asyncio.run(sync_to_async(connections.close_all)())
        connections.close_all()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def test_start_provisioning_and_watch_progress_reach_100(scene, live_server, page, log_in):
    app, users, target, base = scene
    log_in("admin")
    page.goto(base)
    status = page.get_by_test_id("current-status")
    expect(status.get_by_test_id("cycle-line")).to_have_text("Initial cycle not run.")

    page.get_by_role("button", name="▷ Start provisioning").click()
    expect(page.get_by_text("Provisioning started.")).to_be_visible()
    expect(page.get_by_role("button", name="▷ Start provisioning")).to_be_disabled()
    worker = run_worker_in_background()

    # htmx refreshes the panel while the cycle runs, without a page reload
    expect(page.get_by_test_id("progress-text")).to_have_text("100% complete", timeout=30_000)
    expect(page.get_by_test_id("cycle-line")).to_have_text("Initial cycle completed.")
    expect(page.get_by_test_id("cds-users")).to_contain_text("10")
    expect(page.get_by_test_id("cycles-chart")).to_be_visible()
    worker.join(timeout=30)
    assert len(target.users()) == 10

    # a log entry and its four tabs
    page.get_by_role("link", name="Provisioning logs", exact=True).click()
    page.get_by_role("link", name=users[0].user_principal_name).click()
    expect(page.get_by_role("tab", name="Steps")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_test_id("tab-steps")).to_contain_text("EntryExportAdd")
    page.get_by_role("tab", name="Modified Properties").click()
    expect(page.get_by_test_id("tab-modified")).to_contain_text("userName")
    page.get_by_role("tab", name="Troubleshooting & Recommendations").click()
    expect(page.get_by_test_id("tab-troubleshooting")).to_contain_text("nothing to troubleshoot")
    page.get_by_role("tab", name="Summary").click()
    expect(page.get_by_test_id("tab-summary")).to_contain_text(app.provisioning_job.job_id)


def test_provision_one_user_on_demand(scene, live_server, page, log_in):
    app, users, target, base = scene
    log_in("admin")
    page.goto(base)
    page.get_by_role("link", name="Provision on demand").click()
    page.get_by_label("Selected user").fill(users[3].user_principal_name)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("button", name="Provision").click()

    result = page.get_by_test_id("on-demand-result")
    expect(result).to_contain_text("Import user")
    expect(result).to_contain_text("Determine if user is in scope")
    expect(result).to_contain_text("Match user between source and target system")
    expect(result).to_contain_text(f"User '{users[3].user_principal_name}' was created in Elium")
    assert target.user(users[3].user_principal_name)["active"] is True
    page.get_by_role("button", name="Retry").click()
    expect(page.get_by_test_id("on-demand-result")).to_contain_text("already in sync")
    page.get_by_role("link", name="Provision another object").click()
    expect(page.get_by_label("Selected user")).to_be_visible()
