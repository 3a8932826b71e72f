"""Template filters of the Azure console."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from provisioning.defaults import object_mapping_display_name

register = template.Library()


def _scalar(value: Any) -> str:
    # The portal writes booleans as True/False and leaves missing values empty.
    if value is None:
        return ""
    return str(value)


@register.filter
def kv_table(value: Any) -> SafeString | str:
    """A step's or an audit event's details as the portal shows them: a key/value table, with
    lists and objects as nested tables (never a Python ``repr``). Scalars stay text."""
    if isinstance(value, dict):
        if not value:
            return ""
        rows = format_html_join(
            "",
            '<tr><th scope="row">{}</th><td>{}</td></tr>',
            ((key, kv_table(item)) for key, item in value.items()),
        )
        return format_html('<table class="az-kv-table">{}</table>', rows)
    if isinstance(value, list | tuple):
        if not value:
            return ""
        if all(not isinstance(item, dict | list | tuple) for item in value):
            return ", ".join(_scalar(item) for item in value)
        rows = format_html_join("", "<tr><td>{}</td></tr>", ((kv_table(item),) for item in value))
        return format_html('<table class="az-kv-table">{}</table>', rows)
    return _scalar(value)


@register.filter
def mapping_name(mapping: Any, application: Any) -> str:
    """``{{ mapping|mapping_name:app }}``: the mapping's name in the current product's words."""
    return object_mapping_display_name(
        template=application.template,
        object_type=mapping.object_type,
        app_name=application.name,
        name=mapping.name,
    )
