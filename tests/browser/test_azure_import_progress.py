"""A large import in the console: queued, run by a real procrastinate worker, progress shown
live until it completes."""

import asyncio
import json
import threading

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, connections
from playwright.sync_api import expect
from procrastinate.contrib.django import app as procrastinate_app

from provisioning.models import DirectoryUser
from tests.factories import DirectoryFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def run_worker_once():
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


def test_large_import_shows_progress_until_done(live_server, page, tmp_path, settings, log_in):
    settings.PROVISIONING_IMPORT_BACKGROUND_BYTES = 1000
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")
    UserFactory(username="admin", is_staff=True)
    directory = DirectoryFactory(name="Fabrikam")
    export = tmp_path / "users.json"
    export.write_text(
        json.dumps(
            {
                "value": [
                    {
                        "id": f"00000000-0000-4000-8000-{i:012d}",
                        "userPrincipalName": f"u{i}@fabrikam.com",
                        "displayName": f"User {i}",
                        "accountEnabled": True,
                    }
                    for i in range(300)
                ]
            }
        )
    )

    log_in("admin")
    page.goto(f"{live_server.url}/azure/directories/{directory.tenant_id}/import/")
    page.get_by_label("File").set_input_files(str(export))
    page.get_by_role("button", name="Submit").click()

    progress = page.get_by_test_id("import-progress")
    expect(progress).to_contain_text("Queued")
    worker = run_worker_once()
    expect(page.get_by_test_id("import-percent")).to_have_text("100% complete", timeout=30_000)
    expect(progress).to_contain_text("Users: 300 created")
    worker.join(timeout=30)
    assert DirectoryUser.objects.filter(directory=directory).count() == 300
