"""Forms of the Azure console. They parse input, refuse what the page would not offer (Delete
permanently for a user not deleted) and, like a model form, a directory name already taken;
services hold the rules."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import QuerySet

from provisioning.defaults import source_attributes_for, target_attributes_for
from provisioning.engine.ondemand import MAX_GROUP_MEMBERS
from provisioning.expressions import ExpressionSyntaxError, parse_expression
from provisioning.models import (
    AttributeMapping,
    Directory,
    DirectoryUser,
    EnterpriseApplication,
    ProvisioningJob,
)
from provisioning.scoping import ScopingClause, ScopingOperator, validate_clause


class DirectoryForm(forms.Form):
    NAME_TAKEN = "A directory with this name already exists."

    name = forms.CharField(label="Directory name", max_length=200)
    domain = forms.CharField(
        label="Primary domain", max_length=253, help_text="e.g. contoso.onmicrosoft.com"
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if Directory.objects.filter(name=name).exists():
            raise ValidationError(self.NAME_TAKEN)
        return name


USER_FORM_FIELDS = [
    "user_principal_name",
    "display_name",
    "given_name",
    "surname",
    "mail",
    "mail_nickname",
    "job_title",
    "department",
    "company_name",
    "employee_id",
    "preferred_language",
    "street_address",
    "city",
    "state",
    "postal_code",
    "country",
    "telephone_number",
    "mobile",
    "facsimile_telephone_number",
    "physical_delivery_office_name",
    "account_enabled",
    "manager",
]


class DirectoryUserForm(forms.ModelForm):
    """Create/edit a user by hand. Uniqueness and the manager chain are checked by the
    service; the model form only shapes the fields."""

    # The service's words, for when the database's constraint catches a concurrent save.
    UPN_TAKEN = "Another user already has this user principal name."

    class Meta:
        model = DirectoryUser
        fields = USER_FORM_FIELDS
        widgets = {"mail": forms.EmailInput()}

    def __init__(self, *args, directory, **kwargs):
        super().__init__(*args, **kwargs)
        self.directory = directory
        managers = DirectoryUser.objects.for_directory(directory)
        if self.instance.pk:
            managers = managers.exclude(pk=self.instance.pk)
        self.fields["manager"].queryset = managers
        self.fields["manager"].required = False

    def clean_user_principal_name(self) -> str:
        """The import's rule (one "@", no spaces) and, as the portal requires, a domain of the
        directory."""
        upn = self.cleaned_data["user_principal_name"].strip()
        local, at, domain = upn.partition("@")
        if not at or not local or not domain or "@" in domain or " " in upn:
            raise ValidationError(f"{upn!r} is not a valid user principal name.")
        if domain.lower() != self.directory.domain.lower():
            raise ValidationError(
                f"The domain {domain!r} is not a domain of this directory: use "
                f"name@{self.directory.domain}."
            )
        return upn

    def clean_mail(self) -> str:
        mail = self.cleaned_data["mail"].strip()
        if mail:
            try:
                validate_email(mail)
            except ValidationError:
                raise ValidationError(f"{mail!r} is not a valid email address.") from None
        return mail

    def validate_unique(self):
        """The service checks uniqueness (case-insensitively, per directory)."""


class DirectoryUserActionForm(forms.Form):
    """The buttons of a user's page other than Save, each posting its own name: Delete (to the
    recycle bin), Restore user, and Delete permanently, which only a deleted user offers.
    ``cleaned_data["action"]`` is the button's name, or "" for Save."""

    soft_delete = forms.BooleanField(required=False)
    restore = forms.BooleanField(required=False)
    hard_delete = forms.BooleanField(required=False)

    def __init__(self, *args, user: DirectoryUser, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self):
        data = super().clean()
        data["action"] = next((name for name in self.fields if data.get(name)), "")
        if data["action"] == "hard_delete" and self.user.deleted_at is None:
            raise ValidationError(
                "Delete the user first; only deleted users can be deleted permanently."
            )
        return data


class DirectoryGroupForm(forms.Form):
    display_name = forms.CharField(label="Group name", max_length=256)
    mail_nickname = forms.CharField(label="Mail nickname", max_length=64, required=False)
    description = forms.CharField(
        max_length=1024, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    security_enabled = forms.BooleanField(label="Security enabled", required=False, initial=True)


class GroupMemberAddForm(forms.Form):
    """``cleaned_data["member"]`` is ("user" or "group", object id)."""

    member = forms.ChoiceField(label="Add member")

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].choices = [("", "Select a user or group…"), *choices]

    def clean_member(self) -> tuple[str, uuid.UUID]:
        return object_reference(self.cleaned_data["member"])


class GroupMemberRemoveForm(forms.Form):
    """A member's Remove button. ``cleaned_data["remove_member"]`` is ("user" or "group",
    object id)."""

    remove_member = forms.CharField(strip=False)

    def clean_remove_member(self) -> tuple[str, uuid.UUID]:
        return object_reference(self.cleaned_data["remove_member"])


def object_reference(value: str) -> tuple[str, uuid.UUID]:
    """("user", id) for the console's "user:<id>" choice values; any other kind is a group."""
    kind, _, raw = value.partition(":")
    try:
        object_id = uuid.UUID(raw)
    except ValueError:
        raise ValidationError("Select a user or group.") from None
    return ("user" if kind == "user" else "group"), object_id


class ImportForm(forms.Form):
    file = forms.FileField(
        label="File",
        help_text='Microsoft Graph JSON ({"value": [...]}) of users or groups, or the '
        '"Download users" CSV.',
    )


class NewApplicationForm(forms.Form):
    template = forms.ChoiceField(choices=EnterpriseApplication.Template.choices)
    name = forms.CharField(label="Name", max_length=120, required=False)


class AssignmentForm(forms.Form):
    """Users and groups → Add user/group → Assign."""

    principal = forms.ChoiceField(label="Users and groups")
    role = forms.ChoiceField(label="Select a role")

    def __init__(self, *args, principals, roles, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["principal"].choices = [("", "None Selected"), *principals]
        self.fields["role"].choices = roles

    def clean_principal(self) -> tuple[str, uuid.UUID]:
        """("user" or "group", object id)."""
        return object_reference(self.cleaned_data["principal"])


def _auth_method_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label="Authentication Method",
        choices=ProvisioningJob.AuthMethod.choices,
        initial=ProvisioningJob.AuthMethod.BEARER,
        required=False,  # Bearer when not given (a script posting the older form)
    )


def _secret_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )


class ProvisioningForm(forms.Form):
    """The classic Provisioning blade. The Secret Token and the Client Secret are never
    rendered back."""

    mode = forms.ChoiceField(label="Provisioning Mode", choices=ProvisioningJob.Mode.choices)
    tenant_url = forms.CharField(label="Tenant URL", max_length=2048, required=False)
    auth_method = _auth_method_field()
    secret_token = _secret_field("Secret Token")
    oauth_token_url = forms.CharField(label="Token Endpoint", max_length=2048, required=False)
    oauth_client_id = forms.CharField(label="Client Identifier", max_length=255, required=False)
    oauth_client_secret = _secret_field("Client Secret")
    notification_email = forms.CharField(label="Notification Email", max_length=254, required=False)
    send_failure_email = forms.BooleanField(
        label="Send an email notification when a failure occurs", required=False
    )
    prevent_accidental_deletion = forms.BooleanField(
        label="Prevent accidental deletion", required=False
    )
    deletion_threshold = forms.IntegerField(
        label="Accidental deletion threshold",
        min_value=1,
        max_value=2_147_483_647,  # the column's range; a bigger number is a field error
        initial=500,
    )
    scope = forms.ChoiceField(label="Scope", choices=ProvisioningJob.Scope.choices)
    status = forms.ChoiceField(
        label="Provisioning Status",
        choices=ProvisioningJob.Status.choices,
        widget=forms.RadioSelect,
    )
    restore_default_mappings = forms.BooleanField(label="Restore default mappings", required=False)

    def clean_auth_method(self) -> str:
        return self.cleaned_data.get("auth_method") or ProvisioningJob.AuthMethod.BEARER


class TestConnectionForm(forms.Form):
    tenant_url = forms.CharField(max_length=2048, required=False)
    auth_method = _auth_method_field()
    secret_token = forms.CharField(required=False)
    oauth_token_url = forms.CharField(max_length=2048, required=False)
    oauth_client_id = forms.CharField(max_length=255, required=False)
    oauth_client_secret = forms.CharField(required=False)

    def clean_auth_method(self) -> str:
        return self.cleaned_data.get("auth_method") or ProvisioningJob.AuthMethod.BEARER


class ObjectMappingForm(forms.Form):
    enabled = forms.TypedChoiceField(
        label="Enabled",
        choices=[("yes", "Yes"), ("no", "No")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    action_create = forms.BooleanField(label="Create", required=False)
    action_update = forms.BooleanField(label="Update", required=False)
    action_delete = forms.BooleanField(label="Delete", required=False)


class EditAttributeForm(forms.Form):
    """The Edit Attribute dialog. Fields irrelevant to the mapping type are hidden in the page
    and ignored by the service."""

    SAVED_MEANWHILE = (
        "Another mapping to this target attribute, or with this matching precedence, was saved "
        "meanwhile."
    )

    mapping_type = forms.ChoiceField(
        label="Mapping type", choices=AttributeMapping.MappingType.choices
    )
    source_attribute = forms.ChoiceField(label="Source attribute", required=False)
    constant_value = forms.CharField(label="Constant Value", max_length=1000, required=False)
    expression = forms.CharField(
        label="Expression",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )
    default_value = forms.CharField(
        label="Default value if null (optional)", max_length=1000, required=False
    )
    target_attribute = forms.ChoiceField(label="Target attribute")
    match_objects = forms.TypedChoiceField(
        label="Match objects using this attribute",
        choices=[("no", "No"), ("yes", "Yes")],
        coerce=lambda value: value == "yes",
        initial="no",
    )
    matching_precedence = forms.IntegerField(
        label="Matching precedence", min_value=0, required=False, initial=0
    )
    apply = forms.ChoiceField(label="Apply this mapping", choices=AttributeMapping.Apply.choices)

    def __init__(self, *args, object_type: str, extra_sources=(), **kwargs):
        super().__init__(*args, **kwargs)
        sources = sorted({*source_attributes_for(object_type), *extra_sources}, key=str.lower)
        self.known_sources = {name.lower() for name in sources}
        self.fields["source_attribute"].choices = [
            ("", "Select an attribute"),
            *zip(sources, sources, strict=True),
        ]
        targets = target_attributes_for(object_type)
        current = self.initial.get("target_attribute") or (
            self.data.get("target_attribute") if self.is_bound else ""
        )
        if current and current not in targets:
            targets = (*targets, current)
        self.fields["target_attribute"].choices = [
            ("", "Select an attribute"),
            *zip(targets, targets, strict=True),
        ]

    def clean(self):
        data = super().clean()
        if data.get("match_objects"):
            if not data.get("matching_precedence"):
                self.add_error("matching_precedence", "Enter a matching precedence of 1 or more.")
        else:
            data["matching_precedence"] = 0
        if data.get("mapping_type") == AttributeMapping.MappingType.EXPRESSION:
            try:
                expression = parse_expression(data.get("expression") or "")
            except ExpressionSyntaxError:
                pass  # the service reports the syntax error with its position
            else:
                unknown = sorted(
                    name
                    for name in expression.attributes()
                    if name.lower() not in self.known_sources
                )
                if unknown:
                    self.add_error("expression", unknown_attributes_message(unknown))
        return data


def unknown_attributes_message(names: Sequence[str]) -> str:
    """An expression or a scoping clause naming attributes the directory does not have would
    be silently empty (out of scope) for every object: an error, not "correctly parsed"."""
    listed = ", ".join(f"[{name}]" for name in names)
    noun = "attribute" if len(names) == 1 else "attributes"
    return f"The directory has no {noun} {listed}. Choose one of the source attributes."


class OnDemandSubjectForm(forms.Form):
    """Who Provision on demand runs for: a user or a group. The search results post
    ``object`` ("user:<id>" or "group:<id>"); Retry and the members form post ``user`` or
    ``group``. ``cleaned_data`` gets ``kind`` and ``object_id``."""

    object = forms.CharField(required=False, strip=False)
    user = forms.CharField(required=False, strip=False)
    group = forms.CharField(required=False, strip=False)

    def clean(self):
        data = super().clean()
        kind, raw = "", ""
        if data["object"]:
            kind, _, raw = data["object"].partition(":")
        elif data["group"]:
            kind, raw = "group", data["group"]
        elif data["user"]:
            kind, raw = "user", data["user"]
        try:
            object_id = uuid.UUID(raw)
        except ValueError:
            object_id = None
        if kind not in ("user", "group") or object_id is None:
            raise ValidationError("Select a user or a group.")
        data.update(kind=kind, object_id=object_id)
        return data


class OnDemandMembersForm(forms.Form):
    """The members of a group that Provision on demand provisions with it: at most
    ``MAX_GROUP_MEMBERS``, each a user member of the group. ``cleaned_data["members"]`` is
    the list of those users."""

    members = forms.Field(required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, group_members: QuerySet[DirectoryUser], **kwargs):
        super().__init__(*args, **kwargs)
        self.group_members = group_members

    @property
    def chosen(self) -> list[str]:
        """The ids posted, each once, to tick them again; none if one of them is not an id."""
        chosen = list(dict.fromkeys(self["members"].value() or []))
        return chosen if all(_is_uuid(value) for value in chosen) else []

    def clean(self):
        data = super().clean()
        chosen = list(dict.fromkeys(data["members"] or []))
        if len(chosen) > MAX_GROUP_MEMBERS:
            raise ValidationError(
                f"You can select up to {MAX_GROUP_MEMBERS} members of a group at a time; "
                f"{len(chosen)} are selected."
            )
        if not all(_is_uuid(value) for value in chosen):
            raise ValidationError("Select members of the group.")
        members = list(self.group_members.filter(object_id__in=chosen))
        if len(members) != len(chosen):
            raise ValidationError("Select members of the group.")
        data["members"] = members
        return data


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


OPERATOR_CHOICES = [(op.value, op.value) for op in ScopingOperator]
MAX_SCOPING_CLAUSES = 50  # rows read from one post of the editor


class ScopingClauseForm(forms.Form):
    """One clause row of the scoping-filter editor. ``validate_clause`` holds the rules of a
    clause and their messages, so the fields take any text and ``clean()`` asks it."""

    attribute = forms.CharField(required=False)
    operator = forms.CharField(required=False, strip=False)
    value = forms.CharField(required=False, strip=False)

    def __init__(self, *args, known_attributes: Sequence[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        # The source attributes of the directory; none given: any attribute.
        self.known_attributes = {name.lower() for name in known_attributes}

    def clean(self):
        data = super().clean()
        if any(name not in data for name in ("attribute", "operator", "value")):
            return data  # a field already has its error (e.g. a NUL character)
        problems = validate_clause(data["attribute"], data["operator"], data["value"])
        for field, field_problems in problems.items():
            self.add_error(field, field_problems)
        attribute = (data.get("attribute") or "").strip()
        if (
            attribute
            and "attribute" not in problems
            and self.known_attributes
            and attribute.lower() not in self.known_attributes
        ):
            self.add_error("attribute", unknown_attributes_message([attribute]))
        return data

    def posted(self) -> dict[str, str]:
        """The row as posted (the attribute trimmed), to show it again without judging it."""
        values = {name: self[name].value() or "" for name in self.fields}
        values["attribute"] = values["attribute"].strip()
        return values

    def scoping_clause(self) -> ScopingClause:
        operator = ScopingOperator(self.cleaned_data["operator"])
        return ScopingClause(
            attribute=self.cleaned_data["attribute"],
            operator=operator,
            value=self.cleaned_data["value"] if operator.takes_value else "",
        )


class BaseScopingClauseFormSet(forms.BaseFormSet):
    """The clause rows of a scoping filter (AND-ed), as ``clause-<n>-attribute|operator|value``.

    The editor's page posts the number of rows as ``clause_count`` rather than a management
    form, and the row whose Delete button was pressed as ``remove_clause``:
    :meth:`posted_rows` reads that, and :meth:`bound_to` builds the formset of the rows kept.
    """

    @classmethod
    def get_default_prefix(cls) -> str:
        return "clause"

    @classmethod
    def posted_rows(cls, data) -> list[dict[str, str]]:
        """The rows of the editor's post, less the one removed, renumbered from 0."""
        prefix = cls.get_default_prefix()
        try:
            count = min(int(data.get("clause_count") or 0), MAX_SCOPING_CLAUSES)
        except ValueError:
            count = 0
        rows = []
        for n in range(count):
            if data.get("remove_clause") == str(n) or f"{prefix}-{n}-attribute" not in data:
                continue
            row = ScopingClauseForm(data, prefix=f"{prefix}-{n}").posted()
            rows.append(row)
        return rows

    @classmethod
    def bound_to(
        cls, rows: Sequence[Mapping[str, str]], *, known_attributes: Sequence[str] = ()
    ) -> BaseScopingClauseFormSet:
        """A bound formset of these rows: every row is a clause, even an empty one."""
        prefix = cls.get_default_prefix()
        data = {f"{prefix}-TOTAL_FORMS": len(rows), f"{prefix}-INITIAL_FORMS": len(rows)}
        for n, row in enumerate(rows):
            data.update({f"{prefix}-{n}-{name}": value for name, value in row.items()})
        return cls(data, form_kwargs={"known_attributes": known_attributes})

    def clean(self):
        if not self.forms:
            raise ValidationError("Add at least one scoping clause.")

    def scoping_clauses(self) -> tuple[ScopingClause, ...]:
        return tuple(form.scoping_clause() for form in self.forms)


ScopingClauseFormSet = forms.formset_factory(
    ScopingClauseForm, formset=BaseScopingClauseFormSet, extra=0
)


class ScopingFilterForm(forms.Form):
    """The title of a scoping filter; its clauses are a :class:`ScopingClauseFormSet`."""

    title = forms.CharField(label="Scoping Filter Title")


class RowButtonForm(forms.Form):
    """A table row's Delete / Remove button, which posts the row's id as its value under the
    button's name: anything but a valid id is a form error (the view answers 404), never a
    500."""

    MAX_ID = 2**63 - 1

    def __init__(self, data, *, button: str) -> None:
        super().__init__(data)
        self.button = button
        self.fields[button] = forms.IntegerField(min_value=0, max_value=self.MAX_ID)

    @property
    def row_id(self) -> int | None:
        return self.cleaned_data[self.button] if self.is_valid() else None


class ScimValidatorForm(forms.Form):
    """Enterprise applications › SCIM Validator: the endpoint to validate and how. ``app`` is
    set when the page was opened from an app's Provisioning tab ("Validate this endpoint"): its
    saved Secret Token (or, with OAuth, Client Secret) is used when none is typed — towards its
    saved URLs only."""

    app = forms.UUIDField(required=False, widget=forms.HiddenInput)
    tenant_url = forms.CharField(
        label="Tenant URL",
        max_length=2048,
        widget=forms.URLInput(attrs={"placeholder": "https://scim.example.com/scim/v2"}),
    )
    auth_method = forms.ChoiceField(
        label="Authentication Method",
        choices=[
            ("bearer", "Bearer authentication"),
            ("oauth", "OAuth2 client credentials grant"),
        ],
        initial="bearer",
        required=False,  # Bearer when not given (a script posting the old form)
    )
    secret_token = forms.CharField(
        label="Secret Token",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    oauth_token_url = forms.CharField(label="Token URL", required=False, max_length=2048)
    oauth_client_id = forms.CharField(label="Client ID", required=False, max_length=255)
    oauth_client_secret = forms.CharField(
        label="Client Secret",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    groups = forms.BooleanField(label="Validate groups", required=False, initial=True)
    dialect = forms.ChoiceField(
        label="PATCH dialect",
        choices=[
            ("default", "Default"),
            ("aadOptscim062020", "aadOptscim062020 (feature flag)"),
        ],
        initial="default",
    )
    lifecycle = forms.BooleanField(
        label="Include the user and group lifecycle checks (through the provisioning engine)",
        required=False,
        initial=True,
    )

    def clean(self):
        data = super().clean()
        if data.get("auth_method") == "oauth":
            required = ["oauth_token_url", "oauth_client_id"]
            if not data.get("app"):
                # Opened from an app's Provisioning tab, its saved Client Secret may be used.
                required.append("oauth_client_secret")
            for name in required:
                if not data.get(name):
                    self.add_error(name, "This field is required with OAuth.")
        return data
