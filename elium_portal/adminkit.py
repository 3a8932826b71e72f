"""Building blocks of the support admin, shared by every app's ``admin.py`` (issue 13).

- :class:`EstimatedCountPaginator`: a changelist never runs an exact ``COUNT(*)`` over a big
  table; it counts at most :data:`EXACT_COUNT_LIMIT` rows and beyond that asks the planner.
- :class:`SupportAdmin`: read-only, constant-query changelists, and searches that an index
  answers (exact ids, case-insensitive prefixes) instead of ``icontains`` over every row.
- :class:`ObjectActionsMixin`: buttons on a change page (Start, Stop, Revoke…) that POST to
  their own URL, answer 403 without the model's ``operate`` permission, and call a service.

Roles: the ``Support`` group views, ``Support admin`` also has the ``operate_<model>``
permissions the actions require (data migrations ``*_support_groups``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property

#: Up to this many rows a changelist shows the exact count (a bounded, index-only count).
EXACT_COUNT_LIMIT = 10_000


def planner_estimate(queryset: QuerySet) -> int:
    """The planner's row estimate for ``queryset`` (``EXPLAIN``; nothing is read)."""
    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    """Exact counts for small results, the planner's estimate for big ones: one bounded query
    (``SELECT COUNT(*) FROM (… LIMIT n+1)``), plus one ``EXPLAIN`` when the result is big."""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        bounded = queryset.order_by()[: EXACT_COUNT_LIMIT + 1].count()
        if bounded <= EXACT_COUNT_LIMIT:
            return bounded
        return max(planner_estimate(queryset.order_by()), bounded)


def as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        return None


class ReadOnlyAdminMixin:
    """What the engine, SCIM or the services own is never edited here: an edit in the admin
    would bypass the service (its audit event, its change-feed row)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class GuardedActionsMixin:
    """A changelist action POSTed by someone it is not offered to answers 403 (Django would
    redirect with "No action selected", which hides a permission problem)."""

    def has_operate_permission(self, request) -> bool:
        opts = self.model._meta
        return request.user.has_perm(f"{opts.app_label}.operate_{opts.model_name}")

    def changelist_view(self, request, extra_context=None):
        name = request.POST.get("action") if request.method == "POST" else None
        if name and name not in self.get_actions(request):
            raise PermissionDenied
        return super().changelist_view(request, extra_context)


class SupportAdmin(GuardedActionsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """A read-only admin whose changelist costs the same whatever the table's size.

    ``search_uuid_fields`` are matched exactly when the term is a UUID, ``search_prefix_fields``
    case-insensitively by prefix (``Lower(field) LIKE 'term%'``, served by a
    ``text_pattern_ops`` index on ``Lower(field)``), ``search_exact_fields`` exactly."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    search_uuid_fields: tuple[str, ...] = ()
    search_prefix_fields: tuple[str, ...] = ()
    search_exact_fields: tuple[str, ...] = ()

    def get_search_fields(self, request):
        # Non-empty so that the changelist shows its search box; the search itself is ours.
        return (
            self.search_uuid_fields or self.search_prefix_fields or self.search_exact_fields
        ) and ("-",)

    def search_condition(self, request, term: str) -> Q | None:
        """The condition a non-empty ``term`` selects (prefix fields are compared through the
        aliases ``search_prefix_<i>`` that :meth:`get_search_results` adds); None selects
        nothing."""
        condition = Q()
        found = False
        term_uuid = as_uuid(term)
        if term_uuid is not None:
            for field in self.search_uuid_fields:
                condition |= Q(**{field: str(term_uuid)})
                found = True
        for field in self.search_exact_fields:
            condition |= Q(**{field: term})
            found = True
        if term_uuid is None:
            for index, _ in enumerate(self.search_prefix_fields):
                condition |= Q(**{f"search_prefix_{index}__startswith": term.lower()})
                found = True
        return condition if found else None

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        condition = self.search_condition(request, term)
        if condition is None:
            return queryset.none(), False
        aliases = {
            f"search_prefix_{index}": Lower(field)
            for index, field in enumerate(self.search_prefix_fields)
        }
        return queryset.alias(**aliases).filter(condition), False


def recent_filter(field: str, title: str = "date") -> type[admin.SimpleListFilter]:
    """A date filter by age (last hour … last 30 days): ``date_hierarchy`` would read the
    distinct dates of the whole table on every view."""

    periods = {
        "1h": ("Last hour", timedelta(hours=1)),
        "24h": ("Last 24 hours", timedelta(hours=24)),
        "7d": ("Last 7 days", timedelta(days=7)),
        "30d": ("Last 30 days", timedelta(days=30)),
    }

    class RecentFilter(admin.SimpleListFilter):
        parameter_name = "since"

        def lookups(self, request, model_admin):
            return [(key, label) for key, (label, _) in periods.items()]

        def queryset(self, request, queryset):
            period = periods.get(self.value() or "")
            if period is None:
                return queryset
            return queryset.filter(**{f"{field}__gte": timezone.now() - period[1]})

    RecentFilter.title = title
    return RecentFilter


@dataclass(frozen=True)
class ObjectAction:
    """One button of a change page. ``run(request, obj)`` calls a service and returns the
    message to show; a ``ValidationError`` becomes an error message."""

    name: str
    label: str
    run: Callable
    description: str = ""
    shown: Callable | None = None  # obj -> bool: whether the button makes sense now


class ObjectActionsMixin(GuardedActionsMixin):
    """Per-object actions as POST-only URLs ``<pk>/act/<name>/`` guarded by the model's
    ``operate_<model>`` permission (403 otherwise), shown as buttons to those who hold it."""

    change_form_template = "admin/support/change_form.html"

    def get_object_actions(self) -> list[ObjectAction]:
        return []

    def get_urls(self):
        opts = self.model._meta
        urls = [
            path(
                "<path:object_id>/act/<str:action>/",
                self.admin_site.admin_view(self.object_action_view),
                name=f"{opts.app_label}_{opts.model_name}_act",
            )
        ]
        return urls + super().get_urls()

    def object_action_view(self, request, object_id, action):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_operate_permission(request):
            raise PermissionDenied
        chosen = {a.name: a for a in self.get_object_actions()}.get(action)
        obj = self.get_object(request, object_id)
        if chosen is None or obj is None:
            raise PermissionDenied
        try:
            message = chosen.run(request, obj)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
        else:
            self.message_user(request, message, messages.SUCCESS)
        opts = self.model._meta
        return HttpResponseRedirect(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        obj = self.get_object(request, object_id)
        if obj is not None and self.has_operate_permission(request):
            opts = self.model._meta
            extra_context["object_actions"] = [
                {
                    "label": action.label,
                    "description": action.description,
                    "url": reverse(
                        f"admin:{opts.app_label}_{opts.model_name}_act",
                        args=[obj.pk, action.name],
                    ),
                }
                for action in self.get_object_actions()
                if action.shown is None or action.shown(obj)
            ]
        return super().change_view(request, object_id, form_url, extra_context)


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR")
