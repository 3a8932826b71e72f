"""The Provisioning blade's Save and Test Connection, and the Current status toolbar: Start,
Stop and Restart provisioning, Allow deletes."""

from __future__ import annotations

import http
import logging
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from provisioning.audit import Activity, provisioning_audit_record
from provisioning.crypto import SecretUnavailableError, secret_decrypt, secret_encrypt
from provisioning.engine.quarantine import quarantine_lift
from provisioning.engine.scim_client import (
    CREDENTIAL_VALIDATION_UNAVAILABLE,
    INCOMPATIBLE,
    LIST_RESPONSE,
    Purpose,
    ScimClient,
    scim_client_for,
    unexpected_response,
)
from provisioning.engine.state import job_state, provisioning_job_reset
from provisioning.engine.wire import WireResponse
from provisioning.models import (
    AttributeMapping,
    EnterpriseApplication,
    ObjectMapping,
    ProvisioningJob,
    ProvisioningJobState,
)
from provisioning.oauth import OAuthCredentials
from provisioning.outbound import DestinationRefusedError, tenant_url_problem
from provisioning.services.mappings import object_mappings_reset
from provisioning.tasks import cycle_defer

logger = logging.getLogger(__name__)

SUCCESS_TEXT = "The supplied credentials are authorized to enable provisioning"
FAILURE_TEXT = (
    "You appear to have entered invalid credentials. Please confirm you are using the correct "
    "information for an administrative account."
)
CODE_UNAVAILABLE = CREDENTIAL_VALIDATION_UNAVAILABLE
CODE_INCOMPATIBLE = INCOMPATIBLE
SETTINGS_FIELDS = (
    "mode",
    "tenant_url",
    "auth_method",
    "oauth_token_url",
    "oauth_client_id",
    "notification_email",
    "send_failure_email",
    "prevent_accidental_deletion",
    "deletion_threshold",
    "scope",
)


#: The largest threshold the column holds.
MAX_DELETION_THRESHOLD = 2_147_483_647


@transaction.atomic
def provisioning_job_update(
    *,
    job: ProvisioningJob,
    mode: str,
    tenant_url: str = "",
    secret_token: str = "",
    auth_method: str = ProvisioningJob.AuthMethod.BEARER,
    oauth_token_url: str = "",
    oauth_client_id: str = "",
    oauth_client_secret: str = "",
    notification_email: str = "",
    send_failure_email: bool = False,
    prevent_accidental_deletion: bool = False,
    deletion_threshold: int = 500,
    scope: str = ProvisioningJob.Scope.ASSIGNED,
    status: str = ProvisioningJob.Status.OFF,
    restore_default_mappings: bool = False,
    actor: AbstractBaseUser | None = None,
) -> list[str]:
    """Save the Provisioning blade. A blank ``secret_token`` keeps the stored one. With the
    Authentication Method "OAuth2 client credentials grant" the Token Endpoint, Client
    Identifier and Client Secret are saved instead (the secret encrypted); a blank
    ``oauth_client_secret`` keeps the stored one — unless the Token Endpoint changed: the stored
    secret is only ever sent to the Token Endpoint it was saved with. Returns the audit
    activities recorded (one per kind of change)."""
    errors: dict[str, str] = {}
    tenant_url = tenant_url.strip()
    secret_token = secret_token.strip()
    auth_method = auth_method or ProvisioningJob.AuthMethod.BEARER
    oauth_token_url = oauth_token_url.strip()
    oauth_client_id = oauth_client_id.strip()
    oauth_client_secret = oauth_client_secret.strip()
    notification_email = notification_email.strip()
    if mode not in ProvisioningJob.Mode.values:
        errors["mode"] = "Select a valid choice."
    elif mode == ProvisioningJob.Mode.MANUAL and job.mode == ProvisioningJob.Mode.AUTOMATIC:
        errors["mode"] = (
            "Provisioning Mode cannot go back to Manual once Automatic is configured; "
            "set Provisioning Status to Off instead."
        )
    automatic = mode == ProvisioningJob.Mode.AUTOMATIC
    if automatic:
        if not tenant_url:
            errors["tenant_url"] = "This field is required."
        elif problem := tenant_url_problem(tenant_url):
            errors["tenant_url"] = problem
        if auth_method not in ProvisioningJob.AuthMethod.values:
            errors["auth_method"] = "Select a valid choice."
        elif auth_method == ProvisioningJob.AuthMethod.OAUTH:
            errors.update(
                _oauth_problems(
                    job=job,
                    token_url=oauth_token_url,
                    client_id=oauth_client_id,
                    client_secret=oauth_client_secret,
                )
            )
        else:
            needs_token = job.application.template == EnterpriseApplication.Template.ELIUM
            if needs_token and not secret_token and not job.has_secret_token:
                errors["secret_token"] = "This field is required."
    if notification_email:
        try:
            validate_email(notification_email)
        except ValidationError:
            errors["notification_email"] = "Enter a valid email address."
    elif send_failure_email:
        errors["notification_email"] = "Enter the address to notify when a failure occurs."
    if prevent_accidental_deletion and deletion_threshold < 1:
        errors["deletion_threshold"] = "Enter a whole number of 1 or more."
    elif deletion_threshold > MAX_DELETION_THRESHOLD:
        errors["deletion_threshold"] = (
            f"Enter a whole number of at most {MAX_DELETION_THRESHOLD:,}."
        )
    if scope not in ProvisioningJob.Scope.values:
        errors["scope"] = "Select a valid choice."
    if status not in ProvisioningJob.Status.values:
        errors["status"] = "Select a valid choice."
    elif status == ProvisioningJob.Status.ON and not automatic:
        errors["status"] = "Provisioning can only be turned on in Automatic mode."
    if errors:
        raise ValidationError(errors)

    oauth = automatic and auth_method == ProvisioningJob.AuthMethod.OAUTH
    wanted = {
        "mode": mode,
        "tenant_url": tenant_url,
        "auth_method": auth_method if automatic else job.auth_method,
        # With Bearer authentication the saved OAuth settings stay as they were.
        "oauth_token_url": oauth_token_url if oauth else job.oauth_token_url,
        "oauth_client_id": oauth_client_id if oauth else job.oauth_client_id,
        "notification_email": notification_email,
        "send_failure_email": send_failure_email,
        "prevent_accidental_deletion": prevent_accidental_deletion,
        "deletion_threshold": deletion_threshold,
        "scope": scope,
    }
    changed = [name for name in SETTINGS_FIELDS if getattr(job, name) != wanted[name]]
    for name in changed:
        setattr(job, name, wanted[name])
    if secret_token:
        # Re-encrypting the same token is still a credentials change in the portal's eyes.
        job.secret_token_encrypted = secret_encrypt(secret_token)
        changed.append("secret_token")
    if oauth and oauth_client_secret:
        job.oauth_client_secret_encrypted = secret_encrypt(oauth_client_secret)
        changed.append("client_secret")
    old_status = job.status
    job.status = status
    job.save()

    activities: list[str] = []
    application = job.application
    if changed:
        provisioning_audit_record(
            application=application,
            activity=Activity.UPDATE_SETTINGS,
            actor=actor,
            details={"changed": changed},
        )
        activities.append(Activity.UPDATE_SETTINGS)
    if old_status != status:
        activity = Activity.START if status == ProvisioningJob.Status.ON else Activity.STOP
        provisioning_audit_record(application=application, activity=activity, actor=actor)
        activities.append(activity)
        if status == ProvisioningJob.Status.ON:
            # Turning provisioning On starts the first cycle at once, as Start does, rather
            # than leaving it to the scheduler's next sweep.
            _queue_now(job)
    if restore_default_mappings:
        object_mappings_reset(job=job)
        provisioning_audit_record(
            application=application,
            activity=Activity.UPDATE_MAPPINGS,
            actor=actor,
            details={"restored_default_mappings": True},
        )
        activities.append(Activity.UPDATE_MAPPINGS)
    return activities


def _oauth_problems(
    *, job: ProvisioningJob, token_url: str, client_id: str, client_secret: str
) -> dict[str, str]:
    """Field errors of the OAuth2 client credentials grant's settings, as typed."""
    errors = {}
    if not token_url:
        errors["oauth_token_url"] = (
            "Enter the Token Endpoint: the OAuth2 client credentials grant gets its access "
            "tokens there."
        )
    elif problem := tenant_url_problem(token_url):
        errors["oauth_token_url"] = problem.replace("Tenant URL", "Token Endpoint")
    if not client_id:
        errors["oauth_client_id"] = "Enter the Client Identifier the Token Endpoint knows."
    if not client_secret:
        if not job.has_client_secret:
            errors["oauth_client_secret"] = "Enter the Client Secret."
        elif token_url != job.oauth_token_url.strip():
            errors["oauth_client_secret"] = (
                "Enter the Client Secret again: the saved secret is only ever sent to the "
                "saved Token Endpoint, and the Token Endpoint was changed."
            )
    return errors


@dataclass(frozen=True)
class ConnectionTestResult:
    """What the "Testing connection to <App>" notification shows."""

    ok: bool
    title: str
    message: str
    error_code: str = ""
    details: str = ""
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def _matching_attribute(job: ProvisioningJob, object_type: str, fallback: str) -> str:
    """The target attribute of the mapping's first matching attribute (lowest precedence)."""
    attribute = (
        AttributeMapping.objects.filter(
            object_mapping__job=job,
            object_mapping__object_type=object_type,
            matching_precedence__gt=0,
        )
        .order_by("matching_precedence")
        .values_list("target_attribute", flat=True)
        .first()
    )
    return attribute or fallback


def _status_name(code: int) -> str:
    # Test Connection names the status as http.HTTPStatus does, without spaces or hyphens.
    try:
        return http.HTTPStatus(code).phrase.replace(" ", "").replace("-", "")
    except ValueError:
        return str(code)


class _ProbeFailed(Exception):
    def __init__(self, code: str, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def _scim_error_summary(response: WireResponse) -> str:
    """What of a response body Test Connection may show: the ``scimType`` and ``detail`` of a
    SCIM error, and nothing of any other body (an arbitrary page must never be echoed back —
    the Tenant URL could point anywhere the portal can reach)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict) or SCIM_ERROR not in (body.get("schemas") or []):
        return ""
    parts = []
    for key in ("scimType", "detail"):
        value = body.get(key)
        if isinstance(value, str | int) and str(value).strip():
            parts.append(f"{key}: {str(value).strip()[:300]}")
    return "; ".join(parts)


def _unexpected(response: WireResponse, why: str = "") -> str:
    return unexpected_response(
        url=response.url,
        method="GET",
        status=_status_name(response.status_code),
        content=_scim_error_summary(response),
        why=why,
    )


def _probe(client: ScimClient, resource: str, attribute: str) -> None:
    """Entra's Test Connection query; stricter than a cycle's: only a 200 with a ListResponse
    that has ``totalResults`` passes."""
    result = client.query(resource, attribute, str(uuid.uuid4()))
    response = result.response
    if response is None:  # no answer: the client's reason says why (timeout, connection)
        raise _ProbeFailed(CODE_UNAVAILABLE, result.reason)
    if response.status_code != 200:
        raise _ProbeFailed(CODE_UNAVAILABLE, _unexpected(response))
    body = result.body
    if (
        not isinstance(body, dict)
        or LIST_RESPONSE not in (body.get("schemas") or [])
        or not isinstance(body.get("totalResults"), int)
    ):
        raise _ProbeFailed(
            CODE_INCOMPATIBLE,
            _unexpected(response, "The response is not a SCIM ListResponse."),
        )


def provisioning_job_test_connection(
    *,
    job: ProvisioningJob,
    tenant_url: str,
    secret_token: str = "",
    auth_method: str = ProvisioningJob.AuthMethod.BEARER,
    oauth_token_url: str = "",
    oauth_client_id: str = "",
    oauth_client_secret: str = "",
    actor: AbstractBaseUser | None = None,
) -> ConnectionTestResult:
    """Call the target exactly as Entra's Test Connection does: a query for a user that cannot
    exist (the users mapping's matching attribute eq a random GUID), and the same for groups
    when the app provisions groups. Nothing is saved; the token never appears in the result or
    the log; every test is an audit event (who, the URL's host, the result).

    A blank ``secret_token`` uses the stored one — but only towards the saved Tenant URL: the
    stored token never goes anywhere else, so testing a changed URL needs the token typed
    again. Of the target's answer only the status and a SCIM error's ``scimType``/``detail``
    are shown.

    With ``auth_method`` "oauth" the access token is obtained from ``oauth_token_url`` first
    (a new one, never the cached one of the cycles). A blank ``oauth_client_secret`` uses the
    stored one only towards the saved Token Endpoint and, with the tokens it yields, the saved
    Tenant URL. Of the token endpoint's answer only its OAuth ``error`` and
    ``error_description`` are shown."""
    application = job.application
    title = f"Testing connection to {application.name}"
    tenant_url = tenant_url.strip()
    uses_oauth = auth_method == ProvisioningJob.AuthMethod.OAUTH
    oauth_token_url = oauth_token_url.strip()

    def finish(result: ConnectionTestResult) -> ConnectionTestResult:
        provisioning_audit_record(
            application=application,
            activity=Activity.TEST_CONNECTION,
            actor=actor,
            details={
                "host": _host_of(tenant_url),
                **({"token_endpoint_host": _host_of(oauth_token_url)} if uses_oauth else {}),
                "result": "Success" if result.ok else "Failure",
                **({"error_code": result.error_code} if result.error_code else {}),
            },
        )
        return result

    def failure(code: str, details: str) -> ConnectionTestResult:
        for secret in (token, client_secret):
            if secret:
                details = details.replace(secret, "********")
        logger.info("Test connection for job %s failed: %s", job.job_id, code)
        return finish(
            ConnectionTestResult(
                ok=False, title=title, message=FAILURE_TEXT, error_code=code, details=details
            )
        )

    token = "" if uses_oauth else secret_token.strip()
    client_secret = oauth_client_secret.strip() if uses_oauth else ""
    if not tenant_url:
        return failure(CODE_UNAVAILABLE, "The Tenant URL is required.")
    oauth: OAuthCredentials | None = None
    if uses_oauth:
        problem = _oauth_test_problem(job, tenant_url, oauth_token_url, oauth_client_id)
        if problem:
            return failure(CODE_UNAVAILABLE, problem)
        if not client_secret:
            if oauth_token_url != job.oauth_token_url.strip():
                return failure(
                    CODE_UNAVAILABLE,
                    "Enter the Client Secret: the saved secret is only ever sent to the saved "
                    "Token Endpoint, and the Token Endpoint was changed.",
                )
            if tenant_url != job.tenant_url.strip():
                return failure(
                    CODE_UNAVAILABLE,
                    "Enter the Client Secret: tokens issued for the saved secret are only ever "
                    "sent to the saved Tenant URL, and the Tenant URL was changed.",
                )
            try:
                client_secret = secret_decrypt(job.oauth_client_secret_encrypted)
            except SecretUnavailableError as error:
                return failure(CODE_UNAVAILABLE, str(error))
        oauth = OAuthCredentials(
            token_url=oauth_token_url,
            client_id=oauth_client_id.strip(),
            client_secret=client_secret,
        )
    elif not token:
        if tenant_url != job.tenant_url.strip():
            return failure(
                CODE_UNAVAILABLE,
                "Enter the Secret Token: the saved token is only ever sent to the saved Tenant "
                "URL, and the Tenant URL was changed.",
            )
        try:
            token = secret_decrypt(job.secret_token_encrypted)
        except SecretUnavailableError as error:
            return failure(CODE_UNAVAILABLE, str(error))
    # The URL as typed (the client drops its query string and fragment), then the address.
    try:
        if problem := tenant_url_problem(tenant_url):
            raise DestinationRefusedError(problem)
        client = scim_client_for(
            job,
            tenant_url=tenant_url,
            token=None if oauth else token,
            oauth=oauth,
            purpose=Purpose.TEST_CONNECTION,
        )
    except DestinationRefusedError as error:
        # The reason may be a sentence of its own: one full stop ("…https:// URL.", not "URL..").
        reason = str(error).rstrip(".")
        return failure(CODE_UNAVAILABLE, f"The Tenant URL cannot be called: {reason}.")

    probes = [("Users", _matching_attribute(job, "user", "userName"))]
    groups_enabled = ObjectMapping.objects.filter(
        job=job, object_type=ObjectMapping.ObjectType.GROUP, enabled=True
    ).exists()
    if application.supports_groups and groups_enabled:
        probes.append(("Groups", _matching_attribute(job, "group", "displayName")))
    try:
        with client:
            for resource, attribute in probes:
                _probe(client, resource, attribute)
    except _ProbeFailed as failed:
        return failure(failed.code, failed.details)
    logger.info("Test connection for job %s succeeded", job.job_id)
    return finish(ConnectionTestResult(ok=True, title=title, message=SUCCESS_TEXT))


def _oauth_test_problem(
    job: ProvisioningJob, tenant_url: str, token_url: str, client_id: str
) -> str:
    """Why the OAuth settings typed for Test Connection cannot be tried ("" when they can)."""
    if not token_url:
        return "The Token Endpoint is required with the OAuth2 client credentials grant."
    if problem := tenant_url_problem(token_url):
        reason = problem.replace("Tenant URL", "Token Endpoint").rstrip(".")
        return f"The Token Endpoint cannot be called: {reason}."
    if not client_id.strip():
        return "The Client Identifier is required with the OAuth2 client credentials grant."
    return ""


def _host_of(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


# -- the Current status toolbar ---------------------------------------------------------------

Code = ProvisioningJobState.Code


def _enqueue(job: ProvisioningJob) -> None:
    transaction.on_commit(lambda: cycle_defer(job_pk=job.pk))


def _queue_now(job: ProvisioningJob) -> None:
    """Make the next cycle due now and queue it (the job is On)."""
    state = job_state(job)
    state.next_cycle_at = timezone.now()
    if state.code in (Code.NOT_RUN, Code.PAUSED):
        state.code = Code.ACTIVE
    state.save()
    _enqueue(job)


@transaction.atomic
def provisioning_job_start(*, job: ProvisioningJob, actor: AbstractBaseUser | None = None) -> None:
    """Start provisioning: status On and a cycle queued now."""
    if not job.is_configured:
        raise ValidationError(
            "Configure Automatic provisioning with a Tenant URL before starting provisioning."
        )
    ProvisioningJob.objects.filter(pk=job.pk).update(status=ProvisioningJob.Status.ON)
    job.status = ProvisioningJob.Status.ON
    provisioning_audit_record(application=job.application, activity=Activity.START, actor=actor)
    _queue_now(job)


@transaction.atomic
def provisioning_job_stop(*, job: ProvisioningJob, actor: AbstractBaseUser | None = None) -> None:
    """Stop provisioning: status Off; a running cycle completes, no new one starts."""
    ProvisioningJob.objects.filter(pk=job.pk).update(status=ProvisioningJob.Status.OFF)
    job.status = ProvisioningJob.Status.OFF
    state = job_state(job)
    if state.code == Code.ACTIVE:
        state.code = Code.PAUSED
        state.save(update_fields=["code", "updated_at"])
    provisioning_audit_record(application=job.application, activity=Activity.STOP, actor=actor)


@transaction.atomic
def provisioning_job_restart(
    *, job: ProvisioningJob, actor: AbstractBaseUser | None = None
) -> bool:
    """Restart provisioning: clear the state (see
    :func:`~provisioning.engine.state.provisioning_job_reset`) and, when provisioning is On,
    queue a new initial cycle. A stopped job stays Off (Restart is not Start); the audit event
    says which happened. Returns whether a cycle was queued."""
    provisioning_job_reset(job=job)
    job.refresh_from_db(fields=["status"])
    started = job.status == ProvisioningJob.Status.ON
    provisioning_audit_record(
        application=job.application,
        activity=Activity.RESTART,
        actor=actor,
        details={
            "state_cleared": True,
            "provisioning_status": job.get_status_display(),
            "initial_cycle_queued": started,
        },
    )
    if started:
        _enqueue(job)
    return started


@transaction.atomic
def provisioning_job_allow_deletes(
    *, job: ProvisioningJob, actor: AbstractBaseUser | None = None
) -> None:
    """Allow deletes: lift the TooManyDeletes quarantine; the next cycle exports the staged
    deletes and disables whatever their number."""
    state = job_state(job)
    if state.quarantine_reason != ProvisioningJobState.QuarantineReason.TOO_MANY_DELETES:
        raise ValidationError("The job is not quarantined for too many deletes.")
    quarantine_lift(state=state)
    state.allow_deletes = True
    state.next_cycle_at = timezone.now()
    state.save()
    provisioning_audit_record(
        application=job.application,
        activity=Activity.UPDATE_SETTINGS,
        actor=actor,
        details={"allow_deletes": True},
    )
    job.refresh_from_db(fields=["status"])
    if job.status == ProvisioningJob.Status.ON:
        _enqueue(job)
