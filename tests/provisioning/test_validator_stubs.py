"""The SCIM Validator against local stub servers that each break one rule: exactly the expected
checks fail, each showing the request and response that decided it; the rest pass, and the run
deletes everything it created."""

import json

import pytest

from provisioning.validator.oauth import OAuthCredentials
from provisioning.validator.result import CheckStatus
from provisioning.validator.runner import scim_validation_run
from tests.provisioning.validator_support import CompliantStub, TokenStub, bearer_required

TOKEN = "stub-secret-token-0123456789"


def _no_groups(method, path, body):
    return (404, {}, {"status": "404", "detail": "Not found"}) if "/Groups" in path else None


def _operations(body):
    return body.get("Operations", []) if isinstance(body, dict) else []


def _manager_rejected(method, path, body):
    if method == "PATCH" and any("manager" in str(o.get("path")) for o in _operations(body)):
        return 400, {}, {"status": "400", "scimType": "invalidPath", "detail": "manager"}
    return None


def _string_false_rejected(method, path, body):
    if method == "PATCH" and any(o.get("value") == "False" for o in _operations(body)):
        return 400, {}, {"status": "400", "scimType": "invalidValue", "detail": "not a boolean"}
    return None


def _run(stub, **options):
    return scim_validation_run(tenant_url=stub.url, token=TOKEN, **options)


def _not_passed(report):
    """Every check that did not pass, but Validate_Credentials skipped (a static token)."""
    skipped_credentials = report.result("Validate_Credentials").status == CheckStatus.SKIPPED
    return {
        r.name: r.status
        for r in report.results
        if r.status != CheckStatus.PASSED
        and not (r.name == "Validate_Credentials" and skipped_credentials)
    }


def test_a_compliant_target_succeeds_and_is_left_empty():
    with CompliantStub() as stub:
        report = _run(stub)

    assert _not_passed(report) == {}
    assert report.result("Validate_Credentials").status == CheckStatus.SKIPPED
    assert report.overall == "Succeeded"
    assert stub.users == {}
    assert stub.groups == {}


@pytest.mark.parametrize(
    ("stub", "expected", "deciding"),
    [
        pytest.param(
            CompliantStub(responder=_no_groups),
            {
                "SCIM_Group_Create": CheckStatus.FAILED,
                "SCIM_Group_Update": CheckStatus.FAILED,
                "SCIM_Group_Pagination": CheckStatus.WARNING,
                "Azure_Empty_Filter_200": CheckStatus.FAILED,
                "Azure_Member_Remove_Value_List": CheckStatus.FAILED,
                "Azure_Member_Remove_Path_Filter": CheckStatus.WARNING,
            },
            ("SCIM_Group_Create", "POST", "/Groups", 404),
            id="no-groups",
        ),
        pytest.param(
            CompliantStub(responder=_manager_rejected),
            {"SCIM_Update_Manager": CheckStatus.FAILED},
            ("SCIM_Update_Manager", "PATCH", "/Users/", 400),
            id="manager-patch-rejected",
        ),
        pytest.param(
            CompliantStub(breaks={"filter_404"}),
            {"Azure_Empty_Filter_200": CheckStatus.FAILED},
            ("Azure_Empty_Filter_200", "GET", "/Users?filter=userName", 404),
            id="filter-on-missing-user-404",
        ),
        pytest.param(
            CompliantStub(responder=_string_false_rejected),
            {"Azure_String_Booleans": CheckStatus.FAILED},
            ("Azure_String_Booleans", "PATCH", "/Users/", 400),
            id="string-false-rejected",
        ),
        pytest.param(
            CompliantStub(breaks={"pagination"}),
            {"SCIM_User_Pagination": CheckStatus.FAILED, "SCIM_Group_Pagination": "WARNING"},
            ("SCIM_User_Pagination", "GET", "/Users?startIndex=6&count=5", 200),
            id="pagination-ignores-startIndex",
        ),
    ],
)
def test_a_target_breaking_one_rule_fails_exactly_its_checks(stub, expected, deciding):
    with stub:
        report = _run(stub)

    assert _not_passed(report) == expected
    assert report.overall == "Failed"
    name, method, url_part, status = deciding
    exchange = report.result(name).deciding_exchange
    assert exchange.method == method
    assert url_part in exchange.url.replace("%3D", "=").replace("+", " ").replace("%20", " ")
    assert exchange.status == status
    assert stub.users == {}
    assert stub.groups == {}


def test_an_optional_check_that_fails_is_a_warning():
    with CompliantStub(breaks={"pagination"}) as stub:
        report = _run(stub, groups=True)
    assert report.result("SCIM_Group_Pagination").status == CheckStatus.WARNING
    assert report.result("SCIM_Group_Pagination").mandatory is False


def test_groups_off_skips_the_group_checks_and_succeeds():
    with CompliantStub(responder=_no_groups) as stub:
        report = _run(stub, groups=False)

    assert report.overall == "Succeeded"
    assert {r.name for r in report.results if r.status == CheckStatus.SKIPPED} == {
        "Validate_Credentials",
        "SCIM_Group_Create",
        "SCIM_Group_Update",
        "SCIM_Group_Pagination",
        "Azure_Member_Remove_Value_List",
        "Azure_Member_Remove_Path_Filter",
    }
    assert not any("/Groups" in r.path for r in stub.requests)


def test_the_token_never_appears_in_the_report():
    def echo_token(method, path, body):
        if method == "GET" and path.endswith("/Schemas"):
            return 500, {}, {"status": "500", "detail": f"bad token {TOKEN}"}
        return None

    with CompliantStub(responder=echo_token) as stub:
        report = _run(stub)

    assert report.result("Schema_Discoverability").status == CheckStatus.FAILED
    assert TOKEN not in json.dumps(report.as_dict(), default=str)
    assert stub.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_a_delete_that_fails_is_listed():
    def no_deletes(method, path, body):
        return (500, {}, {"status": "500"}) if method == "DELETE" else None

    with CompliantStub(responder=no_deletes) as stub:
        report = _run(stub, groups=False)

    assert len(report.cleanup_failures) == len(stub.users) >= 11
    assert all("DELETE answered 500" in failure for failure in report.cleanup_failures)


def test_the_aad_dialect_makes_the_flag_shapes_mandatory():
    def flat_keys_rejected(method, path, body):
        if method == "PATCH" and any("path" not in o for o in _operations(body)):
            return 400, {}, {"status": "400", "scimType": "noTarget"}
        return None

    with CompliantStub(responder=flat_keys_rejected) as stub:
        default = _run(stub)
    with CompliantStub(responder=flat_keys_rejected) as stub:
        flagged = _run(stub, dialect="aadOptscim062020")

    assert _not_passed(default) == {"Azure_Flat_Key_Replace": CheckStatus.WARNING}
    assert default.overall == "Succeeded"
    assert _not_passed(flagged) == {
        "SCIM_User_Update": CheckStatus.FAILED,
        "Azure_Flat_Key_Replace": CheckStatus.FAILED,
    }


SECRET = "client-secret-abc"


def _oauth(token_stub):
    return OAuthCredentials(token_url=token_stub.url, client_id="validator", client_secret=SECRET)


def test_oauth_client_credentials_token_is_fetched_and_used():
    answer = (200, {"access_token": "issued-1", "token_type": "Bearer", "expires_in": 3600})
    with TokenStub(answer=answer) as tokens, CompliantStub() as stub:
        stub.responder = bearer_required(stub, "issued-1")
        report = scim_validation_run(tenant_url=stub.url, oauth=_oauth(tokens))

    assert report.result("Validate_Credentials").status == CheckStatus.PASSED
    assert _not_passed(report) == {}
    assert tokens.forms == [
        {"grant_type": "client_credentials", "client_id": "validator", "client_secret": SECRET}
    ]
    text = json.dumps(report.as_dict(), default=str)
    assert SECRET not in text
    assert "issued-1" not in text


def test_a_token_endpoint_returning_a_bad_token_fails_validate_credentials_only():
    answer = (200, {"access_token": "not-good", "token_type": "Bearer", "expires_in": 3600})
    with TokenStub(answer=answer) as tokens, CompliantStub() as stub:
        stub.responder = bearer_required(stub, "issued-1")
        report = scim_validation_run(tenant_url=stub.url, oauth=_oauth(tokens))

    failed = {r.name for r in report.results if r.status == CheckStatus.FAILED}
    assert failed == {"Validate_Credentials"}
    assert all(
        r.status == CheckStatus.SKIPPED for r in report.results if r.name != "Validate_Credentials"
    )
    exchange = report.result("Validate_Credentials").deciding_exchange
    assert (exchange.method, exchange.status) == ("GET", 401)
    assert report.overall == "Failed"


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ((400, {"error": "invalid_client"}), "answered 400"),
        ((200, {"token_type": "Bearer", "expires_in": 3600}), "no access_token"),
        ((200, {"access_token": "t", "token_type": "Bearer", "expires_in": 86400}), "1440 min"),
    ],
)
def test_a_token_response_microsoft_would_refuse_fails_with_the_token_request(answer, problem):
    with TokenStub(answer=answer) as tokens, CompliantStub() as stub:
        report = scim_validation_run(tenant_url=stub.url, oauth=_oauth(tokens))

    result = report.result("Validate_Credentials")
    assert result.status == CheckStatus.FAILED
    assert problem in result.message
    assert result.deciding_exchange.method == "POST"
    assert result.deciding_exchange.request_body["client_secret"] == "********"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("stub", "expected"),
    [
        pytest.param(
            CompliantStub(responder=_manager_rejected),
            {"SCIM_Update_Manager", "User_Update_Manager"},
            id="manager-patch-rejected",
        ),
        pytest.param(
            CompliantStub(responder=_string_false_rejected),
            # Entra disables (and deprovisions on unassign) with the string "False".
            {"Azure_String_Booleans", "Disable_User", "Restore_User"},
            id="string-false-rejected",
        ),
    ],
)
def test_the_lifecycle_checks_see_the_same_broken_rule_through_the_engine(stub, expected):
    with stub:
        report = _run(stub, lifecycle=True)

    assert set(_not_passed(report)) == expected
    deciding = report.result(sorted(expected - {"SCIM_Update_Manager"})[-1]).deciding_exchange
    assert deciding.method == "LOG"
    assert deciding.response_body["status"] == "Failure"
    assert stub.users == {}
    assert stub.groups == {}


@pytest.mark.django_db(transaction=True)
def test_groups_off_keeps_the_engine_away_from_groups():
    with CompliantStub(responder=_no_groups) as stub:
        report = _run(stub, groups=False, lifecycle=True)

    assert report.overall == "Succeeded"
    assert report.result("Create_User").status == CheckStatus.PASSED
    assert report.result("Create_Group").status == CheckStatus.SKIPPED
    assert not any("/Groups" in r.path for r in stub.requests)
