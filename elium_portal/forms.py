"""Console forms of the Elium side."""

from __future__ import annotations

import datetime as dt

from django import forms

from elium_portal import clock
from elium_portal.models import Tenant
from elium_portal.services.tokens import (
    GRACE_PERIODS,
    TokenFormInvalidError,
    token_form_submission_check,
    token_form_submission_new,
)


class TokenExpiryField(forms.DateField):
    """An optional expiry date; the token stops working at the start of that day (UTC)."""

    def __init__(self, **kwargs):
        super().__init__(
            required=False,
            widget=forms.DateInput(attrs={"type": "date"}),
            label="Expires on (optional)",
            help_text="Leave empty for a token that does not expire. Azure AD quarantines the "
            "job when its token expires.",
            **kwargs,
        )

    def clean(self, value):
        day = super().clean(value)
        if day is None:
            return None
        expires = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
        if expires <= clock.now():
            raise forms.ValidationError("The expiry date must be in the future.")
        return expires


class OneTimeTokenForm(forms.Form):
    """A form that issues a token carries a one-time id, so a browser refresh, Back + re-submit
    or a replayed request can never issue a second token. Bound to the tenant and the user."""

    submission = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, tenant: Tenant, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant, self.user = tenant, user
        if not self.is_bound:
            self.initial["submission"] = token_form_submission_new(tenant=tenant, user=user)

    def clean_submission(self) -> str:
        try:
            return token_form_submission_check(
                tenant=self.tenant, user=self.user, value=self.cleaned_data["submission"]
            )
        except TokenFormInvalidError:
            raise forms.ValidationError(
                "This form has expired or was not opened from this page. No token was issued: "
                "reload the Security page and try again.",
                code="stale_form",
            ) from None


class GenerateTokenForm(OneTimeTokenForm):
    expires_at = TokenExpiryField()


class RegenerateTokenForm(OneTimeTokenForm):
    old_token_stops = forms.ChoiceField(
        label="When should the current token stop working?",
        choices=[
            ("immediately", "Immediately"),
            ("1h", "In 1 hour"),
            ("24h", "In 24 hours"),
        ],
        initial="immediately",
        widget=forms.RadioSelect,
    )
    expires_at = TokenExpiryField()

    def clean_old_token_stops(self):
        value = self.cleaned_data["old_token_stops"]
        assert value in GRACE_PERIODS
        return value


class ScimSwitchForm(forms.Form):
    enabled = forms.BooleanField(required=False)


class ScimSettingsForm(forms.Form):
    compatibility = forms.ChoiceField(
        label="Compatibility",
        choices=Tenant.ScimCompatibility.choices,
        widget=forms.RadioSelect,
        help_text="Azure-AD-tolerant accepts every request shape Azure AD sends. Strict follows "
        "RFC 7643/7644 to the letter.",
    )
    request_log_level = forms.ChoiceField(
        label="Keep provisioning requests",
        choices=Tenant.ScimRequestLogLevel.choices,
    )
