"""Faults heal: a worker killed with SIGKILL in the middle of an initial cycle of 2,000 users does
not stop the app's provisioning. Another worker requeues the dead worker's job, the cycle resumes
where the connector store says it stopped, and it completes with no duplicate on the target and a
log entry for every user — with no person doing anything."""

import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import transaction

from provisioning.models import (
    AppRoleAssignment,
    ConnectorObject,
    DirectoryUser,
    ProvisioningCycle,
    ProvisioningLogEntry,
)
from provisioning.tasks import cycle_defer
from tests.factories import DirectoryFactory
from tests.provisioning.engine_support import make_app

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

USERS = 2000


def start_worker(database_url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "elium_portal.settings.test",
        "DATABASE_URL": database_url,
        "WORKER_STALLED_SECONDS": "10",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "procrastinate", "worker", "--name", "crash-test"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_worker_killed_mid_cycle_is_healed_without_duplicates(target, database_url):
    directory = DirectoryFactory(domain="crash.example.com")
    app = make_app(target, directory=directory)
    job = app.provisioning_job
    role = app.roles.get(is_default=True)
    with transaction.atomic():
        users = DirectoryUser.objects.bulk_create(
            DirectoryUser(
                directory=directory,
                user_principal_name=f"user{i}@crash.example.com",
                mail=f"user{i}@crash.example.com",
                mail_nickname=f"user{i}",
                given_name=f"Given{i}",
                surname=f"Surname{i}",
                display_name=f"Given{i} Surname{i}",
            )
            for i in range(USERS)
        )
        AppRoleAssignment.objects.bulk_create(
            AppRoleAssignment(application=app, role=role, principal_user=u) for u in users
        )
    cycle_defer(job_pk=job.pk)

    first = start_worker(database_url)
    try:
        stored = ConnectorObject.objects.filter(job=job)
        wait_for(lambda: stored.count() >= 400, 180, "the first chunks to be provisioned")
        assert stored.count() < USERS, "the cycle ended before the worker could be killed"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()

    second = start_worker(database_url)
    try:
        cycle = wait_for(
            lambda: ProvisioningCycle.objects.filter(
                job=job, state=ProvisioningCycle.State.SUCCEEDED
            ).first(),
            240,
            "the cycle to complete by itself",
        )
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(30)
        except subprocess.TimeoutExpired:
            second.kill()

    assert ProvisioningCycle.objects.filter(job=job).count() == 1  # resumed, not restarted
    on_target = [u["userName"] for u in target.users()]
    assert len(on_target) == USERS
    assert len(set(on_target)) == USERS  # no duplicate
    assert ConnectorObject.objects.filter(job=job).count() == USERS
    logged = (
        ProvisioningLogEntry.objects.filter(job=job, cycle_id=cycle.cycle_id)
        .values("source_id")
        .distinct()
        .count()
    )
    assert logged == USERS  # every user has its log entry
