"""``sortBy``/``sortOrder`` (RFC 7644 §3.4.2.3) compiled to ``order_by`` arguments."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import F, Func, JSONField, TextField, Value
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Coalesce, Lower
from scim2_models.exceptions import InvalidPathException
from scim2_models.path import AttrPath, Path

from scim_api.errors import InvalidValue
from scim_api.filters.parse import MAX_FILTER_LENGTH
from scim_api.filters.sql import _JsonSource
from scim_api.filters.targets import (
    _COMPUTED_WHY,
    _Membership,
    _Object,
    _ResourceScope,
    _Scalar,
    _Target,
)
from scim_api.schema import Attribute


def compile_sort(sort_by: str, *, resource_type: str, descending: bool) -> list:
    """Compile ``sortBy``/``sortOrder`` into arguments for ``.order_by(*...)``.

    Strings sort case-insensitively unless ``caseExact``; a multi-valued attribute sorts by its
    primary value, or its first one (RFC 7644 §3.4.2.3); resources without the attribute come
    last in both directions. ``id`` is appended as a tie-breaker so that pages are stable.
    An unusable ``sortBy`` raises :class:`InvalidValue` (``scimType`` ``invalidValue``): RFC 7644
    defines ``invalidFilter`` for filters only.
    """
    if not isinstance(sort_by, str) or not sort_by.strip():
        raise InvalidValue("sortBy is empty")
    if len(sort_by) > MAX_FILTER_LENGTH:
        raise InvalidValue(f"sortBy is longer than {MAX_FILTER_LENGTH} characters")
    try:
        path = Path(sort_by.strip()).ast
    except InvalidPathException as exc:
        raise InvalidValue(f"sortBy {sort_by!r} is not an attribute path: {exc.detail}") from None
    if not isinstance(path, AttrPath):
        raise InvalidValue(f"sortBy {sort_by!r} must name an attribute, not select values")
    target = _ResourceScope(resource_type, InvalidValue).resolve(path)
    key = _sort_key(target, path, sort_by)
    tie_breaker = F("id").desc() if descending else F("id").asc()
    if key is None:
        return [tie_breaker]
    ordered = key.desc(nulls_last=True) if descending else key.asc(nulls_last=True)
    return [ordered] if path.attr.lower() == "id" and path.uri is None else [ordered, tie_breaker]


def _sort_key(target: _Target, path: AttrPath, sort_by: str) -> Any:
    if isinstance(target, _Scalar):
        # Custom extension values (untyped) sort like strings, without case.
        case_exact = not target.untyped and (
            target.attribute.case_exact or target.attribute.type != "string"
        )
        return target.source.sort_key(case_exact=case_exact)
    if isinstance(target, _Membership):
        raise InvalidValue(f"cannot sort by {sort_by!r}: {_COMPUTED_WHY}")
    sub = target.attribute.sub(path.sub_attr or "value")
    if sub is None or isinstance(target, _Object) and target.json is None:
        raise InvalidValue(
            f"cannot sort by {sort_by!r}: it is complex; name one of its sub-attributes"
        )
    if isinstance(target, _Object):
        return _JsonSource(target.json, sub.name).sort_key(case_exact=sub.case_exact)
    return _primary_or_first(target.json, sub)


def _primary_or_first(array: Any, sub: Attribute) -> Any:
    """``sub`` of the element marked primary, else of the first element."""
    # The jsonpath is built from a schema name only (never client text) and bound as a param.
    jsonpath = (
        '$[*] ? (@.primary == true || @.primary == "true" || @.primary == "True").'
        + json.dumps(sub.name)
    )
    primary = Func(
        array,
        Func(Value(jsonpath), template="(%(expressions)s)::jsonpath", output_field=TextField()),
        function="jsonb_path_query_first",
        output_field=JSONField(),
    )
    primary_text = Func(primary, template="(%(expressions)s #>> '{}')", output_field=TextField())
    first_text = KeyTextTransform(sub.name, KeyTransform(0, array))
    value = Coalesce(primary_text, first_text, output_field=TextField())
    return value if sub.case_exact or sub.type != "string" else Lower(value)
