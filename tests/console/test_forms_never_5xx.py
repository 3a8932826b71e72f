"""A property over every console form: whatever is posted — empty, huge, NUL bytes, RTL and
emoji, numbers past 64 bits, unknown choices — the answer is never a 5xx.

The forms are not listed by hand: the test renders each console page as a staff member and tenant
admin would see it, finds every ``<form method="post">`` with its fields, and posts generated
values to the form's own action. A form added to a page is covered without touching this file.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elium_portal.models import Membership
from tests.factories import (
    DirectoryGroupFactory,
    DirectoryUserFactory,
    MembershipFactory,
    make_application,
)

pytestmark = pytest.mark.django_db

# Actions that would leave this machine (Test Connection calls the typed URL) are posted with
# the values the page had, not fuzzed: the property is about parsing input, not the network.
NOT_FUZZED_ACTIONS = ("test-connection",)

HOSTILE = st.one_of(
    st.just(""),
    st.text(max_size=40),
    st.text(min_size=300, max_size=3000),
    st.sampled_from(
        [
            "\x00",
            "a\x00b",
            "99999999999999999999",
            "-1",
            "0",
            "1e309",
            "NaN",
            "user:00000000-0000-0000-0000-000000000000",
            "group:not-a-uuid",
            "on",
            "https://example.com:99999/scim",
            "http://[::1",
            '"><script>alert(1)</script>',
            "‮evil",
            "😀" * 50,
            "2999-13-45",
        ]
    ),
)


class _Forms(HTMLParser):
    """The POST forms of a page: action and field names (with the value the page gave)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._current: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self._current = {"action": attrs.get("action") or "", "fields": {}}
            self.forms.append(self._current)
        elif self._current is not None and tag in ("input", "select", "textarea", "button"):
            name = attrs.get("name")
            if name and name != "csrfmiddlewaretoken":
                self._current["fields"].setdefault(name, attrs.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


@pytest.fixture
def console(client, django_user_model):
    admin = MembershipFactory(role=Membership.Role.ADMIN, user__is_staff=True)
    client.force_login(admin.user)
    app = make_application(template="elium")
    directory = app.directory
    user = DirectoryUserFactory(directory=directory)
    group = DirectoryGroupFactory(directory=directory)
    d = {"tenant_id": directory.tenant_id}
    a = {**d, "app_id": app.object_id}
    m = {**a, "object_type": "user"}
    mapping = app.provisioning_job.mappings.get(object_type="user")
    attribute = mapping.attributes.first()
    pages = [
        reverse("provisioning:home"),
        reverse("provisioning:user-new", kwargs=d),
        reverse("provisioning:user-edit", kwargs={**d, "object_id": user.object_id}),
        reverse("provisioning:group-new", kwargs=d),
        reverse("provisioning:group-edit", kwargs={**d, "object_id": group.object_id}),
        reverse("provisioning:import", kwargs=d),
        reverse("provisioning:app-new", kwargs=d),
        reverse("provisioning:app-overview", kwargs=a),
        reverse("provisioning:app-users", kwargs=a),
        reverse("provisioning:provisioning", kwargs=a),
        reverse("provisioning:on-demand", kwargs=a),
        reverse("provisioning:mapping", kwargs=m),
        reverse("provisioning:attribute-new", kwargs=m),
        reverse("provisioning:attribute-edit", kwargs={**m, "pk": attribute.pk}),
        reverse("provisioning:scope", kwargs=m),
        reverse("provisioning:scope-new", kwargs=m),
        f"/t/{admin.tenant.slug}/settings/security/",
    ]
    forms = []
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        parser = _Forms()
        parser.feed(response.content.decode())
        for form in parser.forms:
            if "logout" in form["action"]:
                continue  # signing out would turn every later post into a redirect to login
            forms.append({**form, "action": urljoin(page, form["action"]) or page})
    assert len(forms) >= 15  # the crawl found the console's forms
    return client, forms


@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_console_form_answers_a_5xx(console, data):
    client, forms = console
    form = data.draw(st.sampled_from(forms))
    values = dict(form["fields"])
    if not any(part in form["action"] for part in NOT_FUZZED_ACTIONS):
        for name in values:
            if data.draw(st.booleans()):
                values[name] = data.draw(HOSTILE)
        if data.draw(st.booleans()):
            values[data.draw(st.text(min_size=1, max_size=12))] = data.draw(HOSTILE)

    response = client.post(form["action"], values)

    assert response.status_code < 500, (form["action"], values)


@pytest.mark.parametrize("value", ["", "abc", "99999999999999999999", "-5", "1.5"])
def test_a_row_button_with_a_bad_id_is_404(console, value):
    client, forms = console
    rows = [f for f in forms if {"delete", "remove"} & set(f["fields"])]
    assert rows, "the crawl found no row buttons"

    for form in rows:
        button = "delete" if "delete" in form["fields"] else "remove"
        response = client.post(form["action"], {button: value})
        assert response.status_code == 404, (form["action"], value)
