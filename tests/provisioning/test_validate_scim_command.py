"""``manage.py validate_scim``: exit status 0 only when the run Succeeded, the result as JSON."""

import json

import pytest
from django.core.management import CommandError, call_command

from tests.provisioning.validator_support import CompliantStub, TokenStub, bearer_required

TOKEN = "cli-secret-token-42"


def test_a_compliant_target_exits_zero_and_writes_the_json(tmp_path, capsys):
    out = tmp_path / "result.json"
    with CompliantStub() as stub:
        call_command(
            "validate_scim", stub.url, "--token", TOKEN, "--direct-only", "--json", str(out)
        )

    data = json.loads(out.read_text())
    assert data["overall"] == "Succeeded"
    assert {r["name"] for r in data["results"]} >= {"Schema_Discoverability", "SCIM_User_Create"}
    assert "Succeeded: " in capsys.readouterr().out


def test_a_failing_target_exits_one_and_shows_the_deciding_request(capsys):
    def no_manager(method, path, body):
        if method == "PATCH" and "manager" in json.dumps(body):
            return 400, {}, {"status": "400", "detail": "manager not supported"}
        return None

    with CompliantStub(responder=no_manager) as stub, pytest.raises(SystemExit) as exit_:
        call_command("validate_scim", stub.url, "--token", TOKEN, "--no-groups", "--direct-only")

    assert exit_.value.code == 1
    out = capsys.readouterr().out
    assert "FAILED  SCIM_Update_Manager" in out
    assert "manager not supported" in out
    assert "SKIPPED SCIM_Group_Create" in out
    assert TOKEN not in out


def test_a_refused_destination_is_an_error(settings):
    settings.PROVISIONING_ALLOW_LOOPBACK = False

    with pytest.raises(CommandError, match="may not be called"):
        call_command("validate_scim", "http://127.0.0.1:9/scim", "--token", TOKEN)


@pytest.mark.django_db(transaction=True)
def test_the_own_tenant_succeeds_with_every_check(target, capsys):
    call_command("validate_scim", target.url, "--token", target.token)

    out = capsys.readouterr().out
    assert "Succeeded: " in out
    assert "PASSED  Create_User" in out
    assert "FAILED" not in out


def test_oauth_reads_the_secret_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("VALIDATOR_SECRET", "s3cret-from-env")
    answer = (200, {"access_token": "issued-2", "token_type": "Bearer", "expires_in": 7200})
    with TokenStub(answer=answer) as tokens, CompliantStub() as stub:
        stub.responder = bearer_required(stub, "issued-2")
        call_command(
            "validate_scim",
            stub.url,
            "--oauth",
            tokens.url,
            "app-1",
            "VALIDATOR_SECRET",
            "--direct-only",
        )

    assert tokens.forms[0]["client_secret"] == "s3cret-from-env"
    out = capsys.readouterr().out
    assert "PASSED  Validate_Credentials" in out
    assert "s3cret-from-env" not in out


def test_oauth_without_the_secret_variable_is_an_error(monkeypatch):
    monkeypatch.delenv("VALIDATOR_SECRET", raising=False)

    with pytest.raises(CommandError, match="VALIDATOR_SECRET is not set"):
        call_command(
            "validate_scim",
            "http://127.0.0.1:9/scim",
            "--oauth",
            "http://127.0.0.1:9/t",
            "c",
            "VALIDATOR_SECRET",
        )
