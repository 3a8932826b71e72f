"""Faults, injected by a small local misbehaving SCIM server: 429 with Retry-After, 5xx and
timeouts escrowed and retried, 401 and 404-on-query quarantine (with the email, sent to a
real local SMTP server), a worker killed mid-cycle, accidental deletion prevention, the lock."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from aiosmtpd.controller import Controller
from django.db import connection

from provisioning.engine import cycle as cycle_module
from provisioning.engine.cycle import provisioning_cycle_run
from provisioning.engine.state import job_state
from provisioning.models import (
    ConnectorObject,
    ProvisioningCycle,
    ProvisioningJobState,
    ProvisioningLogEntry,
)
from provisioning.services.applications import app_role_assignment_delete
from provisioning.services.jobs import provisioning_job_allow_deletes, provisioning_job_restart
from tests.factories import DirectoryUserFactory, make_application
from tests.provisioning.engine_support import StubScim, assign, configure

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def users_app(stub: StubScim, count: int = 3, **settings):
    app = make_application(template="elium")
    configure(app, url=stub.url, token="stub-token", **settings)
    users = [
        DirectoryUserFactory(directory=app.directory, given_name=f"User{i}", surname="Test")
        for i in range(count)
    ]
    for user in users:
        assign(app, user)
    return app, users


def posts(stub: StubScim, user_name: str | None = None) -> list:
    return [
        r
        for r in stub.requests
        if r.method == "POST" and (user_name is None or r.body.get("userName") == user_name)
    ]


def test_429_waits_for_retry_after_and_retries():
    state = {"limited": 0}

    def responder(method, path, body):
        if method == "POST" and state["limited"] == 0:
            state["limited"] += 1
            return 429, {"Retry-After": "1"}, {"status": "429", "detail": "slow down"}
        return None

    with StubScim(responder=responder) as stub:
        app, users = users_app(stub, count=2)
        started = time.monotonic()
        cycle = provisioning_cycle_run(job=app.provisioning_job)
        elapsed = time.monotonic() - started

    assert elapsed >= 1.0
    assert cycle.count("Create", "Success") == 2
    assert len(stub.users) == 2
    assert len(posts(stub)) == 3  # one was answered 429 and sent again


def test_5xx_is_escrowed_and_retried_next_cycle():
    broken = {"on": True}

    def responder(method, path, body):
        if broken["on"] and method == "POST" and body.get("userName", "").startswith("user1."):
            return 500, {}, {"status": "500", "detail": "database is down"}
        return None

    with StubScim(responder=responder) as stub:
        app, users = users_app(stub)
        first = provisioning_cycle_run(job=app.provisioning_job)
        first.refresh_from_db()
        row = ConnectorObject.objects.get(source_id=users[1].object_id)
        failure = ProvisioningLogEntry.objects.get(cycle_id=first.cycle_id, status="Failure")

        broken["on"] = False
        second = provisioning_cycle_run(job=app.provisioning_job)

    assert first.state == ProvisioningCycle.State.ENTRY_LEVEL_ERRORS
    assert row.escrow_attempts == 1
    assert row.escrow_error_code == "InternalServerError"
    assert row.target_id == ""
    assert failure.error_code == "InternalServerError"
    assert "database is down" in failure.error_reason
    assert failure.error_recommendation
    assert second.kind == "incremental"
    assert second.count("Create", "Success") == 1
    assert len(stub.users) == 3
    assert ConnectorObject.objects.get(source_id=users[1].object_id).escrow_attempts == 0


def test_a_timeout_is_escrowed_and_the_retry_matches_instead_of_duplicating(settings):
    settings.PROVISIONING_HTTP_TIMEOUT = 0.5
    slow = {"on": True}

    def responder(method, path, body):
        if slow["on"] and method == "POST":
            slow["on"] = False
            time.sleep(1.0)  # the target still creates the user, too late for the client
        return None

    with StubScim(responder=responder) as stub:
        app, users = users_app(stub, count=1)
        first = provisioning_cycle_run(job=app.provisioning_job)
        time.sleep(0.7)
        second = provisioning_cycle_run(job=app.provisioning_job)

    assert first.count("Create", "Failure") == 1
    entry = ProvisioningLogEntry.objects.get(cycle_id=first.cycle_id)
    assert entry.error_code == "Timeout"
    assert len(stub.users) == 1  # matched, not created again
    assert len(posts(stub)) == 1
    assert second.count("Other", "Skipped") == 1  # RedundantExport after the match


@pytest.fixture
def smtp(settings):
    class Sink:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            self.messages.append(envelope)
            return "250 OK"

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    yield sink
    controller.stop()


def test_401_quarantines_and_emails_once_per_reason(smtp):
    def responder(method, path, body):
        return 401, {"WWW-Authenticate": "Bearer"}, {"status": "401", "detail": "bad token"}

    with StubScim(responder=responder) as stub:
        app, _ = users_app(stub, notification_email="ops@contoso.example", send_failure_email=True)
        job = app.provisioning_job
        cycle = provisioning_cycle_run(job=job)
        state = job_state(job)
        # a retry that fails the same way sends no second email
        provisioning_cycle_run(job=job)
        requests = len(stub.requests)

    assert cycle.state == ProvisioningCycle.State.QUARANTINED
    assert state.code == ProvisioningJobState.Code.QUARANTINE
    assert state.quarantine_reason == "EncounteredQuarantineException"
    assert "Unauthorized" in state.quarantine_error
    next_attempt = state.quarantine_next_attempt - state.quarantine_began
    assert 5.9 * 3600 < next_attempt.total_seconds() <= 6 * 3600
    assert requests == 2  # only the probe of each cycle: all calls fail
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message.rcpt_tos == ["ops@contoso.example"]
    content = message.content.decode()
    assert "quarantined" in content
    assert "EncounteredQuarantineException" in content
    assert "stub-token" not in content
    assert app.audit_events.filter(activity="Quarantine").count() == 1


def test_quarantine_reason_change_sends_another_email_and_success_lifts_it(smtp):
    mode = {"status": 401}

    def responder(method, path, body):
        if mode["status"]:
            return mode["status"], {}, {"status": str(mode["status"])}
        return None

    with StubScim(responder=responder) as stub:
        app, _ = users_app(
            stub,
            notification_email="ops@contoso.example",
            send_failure_email=True,
            prevent_accidental_deletion=True,
            deletion_threshold=1,
        )
        job = app.provisioning_job
        provisioning_cycle_run(job=job)
        mode["status"] = 0
        provisioning_cycle_run(job=job)  # succeeds: quarantine lifted
        assert job_state(job).code == ProvisioningJobState.Code.ACTIVE
        for assignment in list(app.assignments.all()):
            app_role_assignment_delete(application=app, assignment=assignment)
        provisioning_cycle_run(job=job)  # 3 disables > threshold 1

    state = job_state(job)
    assert state.quarantine_reason == "TooManyDeletes"
    assert len(smtp.messages) == 2
    assert "TooManyDeletes" in smtp.messages[1].content.decode()


def test_404_on_queries_quarantines_as_a_scim_compliance_issue():
    with StubScim(responder=lambda m, p, b: (404, {}, {"status": "404"})) as stub:
        app, _ = users_app(stub)
        cycle = provisioning_cycle_run(job=app.provisioning_job)
    state = job_state(app.provisioning_job)
    assert cycle.state == ProvisioningCycle.State.QUARANTINED
    assert cycle.error_code == "SystemForCrossDomainIdentityManagementServiceIncompatible"
    assert state.quarantine_reason == "EncounteredQuarantineException"


def test_accidental_deletion_prevention_stages_deletes_until_allowed():
    with StubScim() as stub:
        app, users = users_app(
            stub, count=3, prevent_accidental_deletion=True, deletion_threshold=1
        )
        job = app.provisioning_job
        provisioning_cycle_run(job=job)
        for assignment in list(app.assignments.all())[:2]:
            app_role_assignment_delete(application=app, assignment=assignment)
        held = provisioning_cycle_run(job=job)
        disables_while_held = [r for r in stub.requests if r.method == "PATCH"]

        provisioning_job_allow_deletes(job=job)
        allowed = provisioning_cycle_run(job=job)

    assert held.state == ProvisioningCycle.State.QUARANTINED
    assert held.count("StagedDelete") == 2
    staged = ProvisioningLogEntry.objects.filter(cycle_id=held.cycle_id, action="StagedDelete")
    assert staged.count() == 2
    assert disables_while_held == []
    assert allowed.count("Disable", "Success") == 2
    assert job_state(job).code == ProvisioningJobState.Code.ACTIVE
    assert not ConnectorObject.objects.filter(job=job).exclude(staged_action="").exists()


def test_restart_rejects_staged_deletes_and_keeps_links():
    with StubScim() as stub:
        app, users = users_app(
            stub, count=3, prevent_accidental_deletion=True, deletion_threshold=1
        )
        job = app.provisioning_job
        provisioning_cycle_run(job=job)
        assignments = list(app.assignments.all())[:2]
        for assignment in assignments:
            app_role_assignment_delete(application=app, assignment=assignment)
        provisioning_cycle_run(job=job)
        for assignment in assignments:  # the admin fixes the cause ...
            assign(app, assignment.principal)
        provisioning_job_restart(job=job)  # ... and restarts
        cycle = provisioning_cycle_run(job=job)

    assert cycle.kind == "initial"
    assert cycle.state == ProvisioningCycle.State.SUCCEEDED
    assert cycle.count("Disable") == 0
    assert len(posts(stub)) == 3  # links kept: nothing created again
    assert job_state(job).code == ProvisioningJobState.Code.ACTIVE


def test_a_worker_killed_mid_cycle_resumes_without_duplicates(settings, monkeypatch):
    settings.PROVISIONING_CHUNK_SIZE = 2
    calls = {"n": 0}
    real = cycle_module.CycleRunner._persist

    def dying(self, outcomes, links):
        calls["n"] += 1
        if calls["n"] == 2:  # the second chunk's POSTs went out; the worker dies before saving
            raise SystemExit("killed")
        return real(self, outcomes, links)

    with StubScim() as stub:
        app, users = users_app(stub, count=5)
        job = app.provisioning_job
        monkeypatch.setattr(cycle_module.CycleRunner, "_persist", dying)
        with pytest.raises(SystemExit):
            provisioning_cycle_run(job=job)
        killed = ProvisioningCycle.objects.get(job=job)
        assert killed.state == ProvisioningCycle.State.RUNNING
        monkeypatch.setattr(cycle_module.CycleRunner, "_persist", real)
        resumed = provisioning_cycle_run(job=job)

    assert resumed.pk == killed.pk  # the same cycle, resumed
    resumed.refresh_from_db()
    assert resumed.state == ProvisioningCycle.State.SUCCEEDED
    assert len(stub.users) == 5
    assert len(posts(stub)) == 5
    per_user = {u.user_principal_name: len(posts(stub, u.user_principal_name)) for u in users}
    assert set(per_user.values()) == {1}
    assert ConnectorObject.objects.filter(job=job).exclude(target_id="").count() == 5


def test_one_cycle_per_job_at_a_time():
    def slow(method, path, body):
        time.sleep(0.2)

    with StubScim(responder=slow) as stub:
        app, _ = users_app(stub, count=2)
        job = app.provisioning_job
        results = []

        def worker():
            try:
                results.append(provisioning_cycle_run(job=job))
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert sorted(r is None for r in results) == [False, True]
    assert ProvisioningCycle.objects.filter(job=job).count() == 1
    assert len(stub.users) == 2


@pytest.mark.parametrize(
    "bad_url",
    ["https://example.com:99999/scim", "https://example.com:x/scim", "https://a..b.example/scim"],
)
def test_a_saved_unusable_tenant_url_quarantines_with_a_clear_reason(bad_url):
    app = make_application(template="elium")
    with StubScim() as stub:
        job = configure(app, url=stub.url, token="stub-token")
    # A URL saved before it was validated (an older release, the admin, a migration).
    type(job).objects.filter(pk=job.pk).update(tenant_url=bad_url)
    job.refresh_from_db()

    cycle = provisioning_cycle_run(job=job)

    assert cycle.state == ProvisioningCycle.State.QUARANTINED
    assert "The Tenant URL cannot be called" in cycle.error
    assert job_state(job).is_quarantined
