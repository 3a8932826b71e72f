"""The SCIM Validator against this project's own tenant (behind ``live_server``): every check
passes and the run leaves nothing behind on the target."""

import time

import pytest

from provisioning.models import Directory
from provisioning.validator.result import CheckStatus
from provisioning.validator.runner import scim_validation_run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("dialect", ["default", "aadOptscim062020"])
def test_own_tenant_succeeds_and_is_left_as_found(target, dialect):
    before = {u["id"] for u in target.users()}

    started = time.monotonic()
    report = scim_validation_run(tenant_url=target.url, token=target.token, dialect=dialect)
    elapsed = time.monotonic() - started

    failed = {
        r.name: r.message
        for r in report.results
        if r.status != CheckStatus.PASSED and r.name != "Validate_Credentials"
    }
    assert failed == {}
    assert report.overall == "Succeeded"
    assert report.cleanup_failures == []
    assert {u["id"] for u in target.users()} == before
    assert target.groups() == []
    assert elapsed < 60


@pytest.mark.parametrize("dialect", ["default", "aadOptscim062020"])
def test_lifecycle_checks_pass_through_the_engine_and_leave_nothing_behind(target, dialect):
    before = {u["id"] for u in target.users()}

    started = time.monotonic()
    report = scim_validation_run(
        tenant_url=target.url, token=target.token, dialect=dialect, lifecycle=True
    )
    elapsed = time.monotonic() - started

    failed = {
        r.name: r.message
        for r in report.results
        if r.status != CheckStatus.PASSED and r.name != "Validate_Credentials"
    }
    assert failed == {}
    assert {"Create_User", "POD_Group", "Restore_User"} <= {r.name for r in report.results}
    assert report.overall == "Succeeded"
    assert report.cleanup_failures == []
    assert {u["id"] for u in target.users()} == before
    assert target.groups() == []
    assert not Directory.objects.filter(name__startswith="SCIM Validator").exists()
    assert elapsed < 60
