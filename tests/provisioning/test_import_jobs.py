"""Large imports run on a worker; the console shows their progress."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction

from provisioning.models import DirectoryImportJob, DirectoryUser
from provisioning.services.import_worker import _ProgressWriter, directory_import_job_run
from tests.factories import DirectoryFactory, DirectoryImportJobFactory

pytestmark = pytest.mark.django_db(transaction=True)


def graph_users(n):
    return json.dumps(
        {
            "value": [
                {
                    "id": f"00000000-0000-4000-8000-{i:012d}",
                    "userPrincipalName": f"u{i}@contoso.com",
                    "displayName": f"User {i}",
                    "accountEnabled": True,
                }
                for i in range(n)
            ]
        }
    )


def test_large_upload_is_queued_then_imported_with_progress(staff_client, settings):
    settings.PROVISIONING_IMPORT_BACKGROUND_BYTES = 10
    directory = DirectoryFactory()
    upload = SimpleUploadedFile("users.json", graph_users(50).encode())

    response = staff_client.post(
        f"/azure/directories/{directory.tenant_id}/import/", {"file": upload}
    )

    job = DirectoryImportJob.objects.get()
    assert response.status_code == 302
    assert response.url.endswith(f"/import/{job.public_id}/")
    assert job.status == "queued"
    assert "Queued" in staff_client.get(response.url).content.decode()

    directory_import_job_run(job_pk=job.pk)  # what the worker's task does

    job.refresh_from_db()
    assert job.status == "succeeded"
    assert job.percent == 100
    assert job.content == ""
    assert DirectoryUser.objects.filter(directory=directory).count() == 50
    page = staff_client.get(response.url, HTTP_HX_REQUEST="true").content.decode()
    assert "100% complete" in page
    assert "hx-trigger" not in page  # a finished import stops polling


def test_bad_large_file_reports_every_problem_and_writes_nothing(staff_client, settings):
    settings.PROVISIONING_IMPORT_BACKGROUND_BYTES = 10
    directory = DirectoryFactory()
    bad = json.loads(graph_users(3))
    bad["value"][1]["id"] = "not-a-guid"
    upload = SimpleUploadedFile("users.json", json.dumps(bad).encode())

    response = staff_client.post(
        f"/azure/directories/{directory.tenant_id}/import/", {"file": upload}
    )
    directory_import_job_run(job_pk=DirectoryImportJob.objects.get().pk)

    page = staff_client.get(response.url).content.decode()
    assert "Nothing was imported" in page
    assert not DirectoryUser.objects.filter(directory=directory).exists()


def test_progress_is_visible_while_the_import_transaction_is_open(settings):
    """The writer uses its own autocommit connection: another connection sees progress."""
    job = DirectoryImportJobFactory()
    writer = _ProgressWriter(job, every_seconds=0)

    with transaction.atomic():
        writer.set_total(10)
        writer.advance(4)
        other = connection.get_new_connection(connection.get_connection_params())
        row = other.execute(
            "SELECT processed, total FROM provisioning_directoryimportjob WHERE id = %s", [job.pk]
        ).fetchone()
        other.close()
    writer.close()

    assert row == (4, 10)


def test_another_directorys_import_is_404(staff_client):
    job = DirectoryImportJobFactory()
    other = DirectoryFactory()

    response = staff_client.get(f"/azure/directories/{other.tenant_id}/import/{job.public_id}/")

    assert response.status_code == 404
