"""Source names and values shared by both formats, and the checks every user row gets."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from provisioning.models import DirectoryUser
from provisioning.services.directory_import.records import ImportProblem, UserRecord


def normalise(name: str) -> str:
    return re.sub(r"[\s_\-.]", "", name).lower()


# Source names (normalised) → DirectoryUser field. Graph JSON names and the CSV's headers.
USER_ALIASES: dict[str, str] = {
    "userprincipalname": "user_principal_name",
    "upn": "user_principal_name",
    "displayname": "display_name",
    "name": "display_name",
    "surname": "surname",
    "lastname": "surname",
    "givenname": "given_name",
    "firstname": "given_name",
    "mail": "mail",
    "email": "mail",
    "mailnickname": "mail_nickname",
    "usertype": "user_type",
    "jobtitle": "job_title",
    "department": "department",
    "companyname": "company_name",
    "employeeid": "employee_id",
    "preferredlanguage": "preferred_language",
    "usagelocation": "usage_location",
    "streetaddress": "street_address",
    "city": "city",
    "state": "state",
    "stateorprovince": "state",
    "country": "country",
    "countryorregion": "country",
    "postalcode": "postal_code",
    "ziporpostalcode": "postal_code",
    "physicaldeliveryofficename": "physical_delivery_office_name",
    "officelocation": "physical_delivery_office_name",
    "office": "physical_delivery_office_name",
    "telephonenumber": "telephone_number",
    "businessphone": "telephone_number",
    "businessphones": "telephone_number",
    "officephone": "telephone_number",
    "mobile": "mobile",
    "mobilephone": "mobile",
    "facsimiletelephonenumber": "facsimile_telephone_number",
    "faxnumber": "facsimile_telephone_number",
    "fax": "facsimile_telephone_number",
    "accountenabled": "account_enabled",
}
OBJECT_ID_ALIASES = frozenset({"objectid", "id"})
BLOCK_SIGN_IN = "blocksignin"
GROUP_ALIASES: dict[str, str] = {
    "displayname": "display_name",
    "mailnickname": "mail_nickname",
    "description": "description",
    "securityenabled": "security_enabled",
    "mailenabled": "mail_enabled",
}
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


def _field_label(field_name: str) -> str:
    """The Graph name of a model field, for messages."""
    return DirectoryUser.GRAPH_NAMES.get(field_name, field_name)


def max_length(model, field_name: str) -> int | None:
    return getattr(model._meta.get_field(field_name), "max_length", None)


def parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    return None


def parse_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value).strip())
    except (ValueError, AttributeError):
        return None


def check_user_fields(record: UserRecord, problems: list[ImportProblem]) -> None:
    line = record.line
    upn = record.fields.get("user_principal_name", "")
    if not upn:
        problems.append(
            ImportProblem(line, "userPrincipalName", "The user principal name is required.")
        )
    elif upn.count("@") != 1 or " " in upn or upn.startswith("@") or upn.endswith("@"):
        problems.append(
            ImportProblem(line, "userPrincipalName", f"{upn!r} is not a valid user principal name.")
        )
    if not record.fields.get("display_name"):
        problems.append(ImportProblem(line, "displayName", "The display name is required."))
    mail = record.fields.get("mail")
    if mail:
        try:
            validate_email(mail)
        except ValidationError:
            problems.append(ImportProblem(line, "mail", f"{mail!r} is not a valid email address."))
    for name, value in record.fields.items():
        limit = max_length(DirectoryUser, name)
        if isinstance(value, str) and limit and len(value) > limit:
            problems.append(ImportProblem(line, _field_label(name), f"At most {limit} characters."))
