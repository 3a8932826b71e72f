"""Forms of the SCIM app's console pages."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from scim_api.models import ScimChange


class ChangeFeedFilterForm(forms.Form):
    """The filters of Settings › People › Provisioning activity (a GET form)."""

    q = forms.CharField(
        label="Person or group",
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Name or username (beginning), or an id"}
        ),
    )
    kind = forms.ChoiceField(
        label="Change", required=False, choices=[("", "All changes"), *ScimChange.Kind.choices]
    )
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_q(self) -> str:
        return self.cleaned_data["q"].replace("\x00", "").strip()

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return cleaned

    def filters(self) -> dict:
        """Keyword arguments of :func:`scim_api.selectors.change_feed` (call when valid): the
        dates as the start of the day ``since`` and the end of the day ``until``, in the
        console's time zone."""
        data = self.cleaned_data
        until = data.get("until")
        return {
            "search": data.get("q") or "",
            "kind": data.get("kind") or "",
            "since": _day_start(data.get("since")),
            # The last day there is has no end to filter by.
            "until": _day_start(until + dt.timedelta(days=1))
            if until and until < dt.date.max
            else None,
        }


def _day_start(day: dt.date | None) -> dt.datetime | None:
    if day is None:
        return None
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
