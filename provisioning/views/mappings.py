"""The Mappings blades of an application: an object mapping's attribute mappings, the Edit
Attribute dialog with its live expression check, and the Source Object Scope (scoping
filters)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from provisioning import selectors
from provisioning.defaults import source_attributes_for
from provisioning.expressions import (
    PARSE_SUCCESS_MESSAGE,
    ExpressionSyntaxError,
    parse_expression,
)
from provisioning.forms import (
    OPERATOR_CHOICES,
    EditAttributeForm,
    ObjectMappingForm,
    RowButtonForm,
    ScopingClauseForm,
    ScopingClauseFormSet,
    ScopingFilterForm,
    unknown_attributes_message,
)
from provisioning.models import AttributeMapping, ObjectMapping
from provisioning.scoping import ScopingFilter, ScopingOperator, filters_from_json
from provisioning.services.mappings import (
    attribute_mapping_delete,
    attribute_mapping_save,
    object_mapping_scoping_filter_add,
    object_mapping_scoping_filter_delete,
    object_mapping_scoping_filter_replace,
    object_mapping_update,
)
from provisioning.views.base import ApplicationMixin, AzureConsoleMixin, apply_errors

EXPRESSION_PARSED_TEXT = PARSE_SUCCESS_MESSAGE  # the portal's wording


class ExpressionValidateView(AzureConsoleMixin, View):
    """Live parse feedback for the Edit Attribute dialog's Expression box."""

    def post(self, request, *args, **kwargs):
        text = request.POST.get("expression", "")
        try:
            expression = parse_expression(text)
        except ExpressionSyntaxError as error:
            return JsonResponse(
                {
                    "ok": False,
                    "message": error.message,
                    "line": error.line,
                    "column": error.column,
                    "position": error.position,
                }
            )
        # The dialog posts its Source attribute list as ``known``: an attribute the directory
        # does not have parses, but is empty for every object (Save refuses it too).
        known = {name.lower() for name in request.POST.getlist("known")}
        unknown = sorted(name for name in expression.attributes() if name.lower() not in known)
        if known and unknown:
            return JsonResponse({"ok": False, "message": unknown_attributes_message(unknown)})
        return JsonResponse({"ok": True, "message": EXPRESSION_PARSED_TEXT})


class MappingMixin(ApplicationMixin):
    menu = "app-provisioning"

    def dispatch(self, request, *args, **kwargs):
        if kwargs["object_type"] not in ObjectMapping.ObjectType.values:
            raise Http404("No such mapping")
        if request.user.is_authenticated and request.user.is_staff:
            directory = selectors.directory_get(tenant_id=kwargs["tenant_id"])
            application = selectors.application_get(directory=directory, object_id=kwargs["app_id"])
            self.mapping = selectors.object_mapping_get(
                application=application, object_type=kwargs["object_type"]
            )
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["mapping"] = self.mapping
        context["target_label"] = (
            "customappsso" if self.application.template == "scim" else self.application.name
        )
        return context

    def extension_attribute_names(self) -> set[str]:
        """Directory extension attributes the users carry (users only)."""
        if self.mapping.object_type != "user":
            return set()
        names: set[str] = set()
        for user in self.directory.users.exclude(extension_attributes={})[:50]:
            names.update(user.extension_attributes)
        return names

    def source_attribute_names(self) -> list[str]:
        """What a scoping clause may test: the directory's attributes for this object type."""
        return [*source_attributes_for(self.mapping.object_type), *self.extension_attribute_names()]

    def mapping_url(self, name: str = "mapping", **kwargs) -> str:
        return self.app_url(name, object_type=self.mapping.object_type, **kwargs)


class AttributeMappingView(MappingMixin, TemplateView):
    template_name = "provisioning/attribute_mapping.html"

    def make_form(self, data=None) -> ObjectMappingForm:
        mapping = self.mapping
        form = ObjectMappingForm(
            data,
            initial={
                "enabled": "yes" if mapping.enabled else "no",
                "action_create": mapping.action_create,
                "action_update": mapping.action_update,
                "action_delete": mapping.action_delete,
            },
        )
        # The users mapping cannot be disabled: the toggle is shown but locked.
        form.fields["enabled"].disabled = mapping.object_type == ObjectMapping.ObjectType.USER
        return form

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        mapping = self.mapping
        context.setdefault("form", self.make_form())
        context["attributes"] = mapping.attributes.all()
        context["filter_count"] = len(mapping.scoping_filters or [])
        return context

    def post(self, request, *args, **kwargs):
        if "delete" in request.POST:
            row = RowButtonForm(request.POST, button="delete").row_id
            attribute = self.mapping.attributes.filter(pk=row).first() if row else None
            if attribute is None:
                raise Http404("No such attribute mapping")
            try:
                attribute_mapping_delete(attribute=attribute, actor=request.user)
                messages.success(request, f"Deleted the mapping to {attribute.target_attribute}.")
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            return redirect(request.path)
        form = self.make_form(request.POST)
        if form.is_valid():
            try:
                object_mapping_update(mapping=self.mapping, actor=request.user, **form.cleaned_data)
                messages.success(request, f"Saved {self.mapping.name}.")
                return redirect(request.path)
            except ValidationError as error:
                apply_errors(form, error)
        return self.render_to_response(self.get_context_data(form=form))


class EditAttributeView(MappingMixin, TemplateView):
    """The Edit Attribute dialog (``pk`` absent = Add New Mapping)."""

    template_name = "provisioning/edit_attribute.html"

    def get_attribute(self) -> AttributeMapping | None:
        pk = self.kwargs.get("pk")
        if pk is None:
            return None
        attribute = self.mapping.attributes.filter(pk=pk).first()
        if attribute is None:
            raise Http404("No such attribute mapping")
        return attribute

    def make_form(self, data=None):
        attribute = self.get_attribute()
        initial = {"apply": AttributeMapping.Apply.ALWAYS, "mapping_type": "Direct"}
        extra_sources = []
        if attribute is not None:
            initial = {
                "mapping_type": attribute.mapping_type,
                "source_attribute": attribute.source_attribute,
                "constant_value": attribute.constant_value,
                "expression": attribute.expression,
                "default_value": attribute.default_value,
                "target_attribute": attribute.target_attribute,
                "match_objects": "yes" if attribute.is_matching else "no",
                "matching_precedence": attribute.matching_precedence,
                "apply": attribute.apply,
            }
            if attribute.source_attribute:
                extra_sources.append(attribute.source_attribute)
        extra_sources.extend(self.extension_attribute_names())
        return EditAttributeForm(
            data,
            initial=initial,
            object_type=self.mapping.object_type,
            extra_sources=extra_sources,
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", self.make_form())
        context["attribute"] = self.get_attribute()
        context["expression_parsed_text"] = EXPRESSION_PARSED_TEXT
        return context

    def post(self, request, *args, **kwargs):
        form = self.make_form(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                attribute_mapping_save(
                    mapping=self.mapping,
                    instance=self.get_attribute(),
                    mapping_type=data["mapping_type"],
                    source_attribute=data["source_attribute"],
                    constant_value=data["constant_value"],
                    expression=data["expression"],
                    default_value=data["default_value"],
                    target_attribute=data["target_attribute"],
                    matching_precedence=data["matching_precedence"] or 0,
                    apply=data["apply"],
                    actor=request.user,
                )
            except ValidationError as error:
                apply_errors(form, error)
            except IntegrityError:  # a concurrent save took the target or the precedence
                form.add_error(None, EditAttributeForm.SAVED_MEANWHILE)
            else:
                messages.success(request, f"Saved the mapping to {data['target_attribute']}.")
                return HttpResponseRedirect(self.mapping_url())
        return self.render_to_response(self.get_context_data(form=form))


class SourceObjectScopeView(MappingMixin, TemplateView):
    template_name = "provisioning/scope.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["filters"] = list(enumerate(filters_from_json(self.mapping.scoping_filters)))
        return context

    def post(self, request, *args, **kwargs):
        index = RowButtonForm(request.POST, button="delete").row_id
        if index is None:
            raise Http404("No such scoping filter")
        try:
            object_mapping_scoping_filter_delete(
                mapping=self.mapping, index=index, actor=request.user
            )
        except IndexError:
            raise Http404("No such scoping filter") from None
        messages.success(request, "Scoping filter deleted.")
        return redirect(request.path)


class ScopingFilterEditView(MappingMixin, TemplateView):
    """Add Scoping Filter (``index`` absent) or edit one. "Add New Scoping Clause" and a row's
    Delete show the editor again with its rows changed, judging only the row being added; Ok
    judges the title and every row, then saves."""

    template_name = "provisioning/scoping_filter.html"

    def existing(self) -> ScopingFilter | None:
        index = self.kwargs.get("index")
        if index is None:
            return None
        filters = filters_from_json(self.mapping.scoping_filters)
        if not 0 <= index < len(filters):
            raise Http404("No such scoping filter")
        return filters[index]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        existing = self.existing()
        if "clauses" not in context:
            rows = [
                {"attribute": c.attribute, "operator": str(c.operator), "value": c.value}
                for c in (existing.clauses if existing else ())
            ]
            context.update(self.unjudged(rows, existing.title if existing else ""))
        context["source_attributes"] = source_attributes_for(self.mapping.object_type)
        context["operators"] = OPERATOR_CHOICES
        context["unary_operators"] = [op.value for op in ScopingOperator if not op.takes_value]
        return context

    @staticmethod
    def unjudged(rows, title: str, new_clause: ScopingClauseForm | None = None) -> dict:
        """The editor's forms showing these values with no errors."""
        return {
            "clauses": ScopingClauseFormSet(initial=rows),
            "form": ScopingFilterForm(initial={"title": title}),
            "new_clause": new_clause or new_clause_form(),
        }

    def post(self, request, *args, **kwargs):
        rows = ScopingClauseFormSet.posted_rows(request.POST)
        new_clause = ScopingClauseForm(
            request.POST, prefix="new", known_attributes=self.source_attribute_names()
        )
        form = ScopingFilterForm(request.POST)
        title = (form["title"].value() or "").strip()
        if "add_clause" in request.POST:
            if new_clause.is_valid():
                return self.show(self.unjudged([*rows, new_clause.posted()], title))
            return self.show(self.unjudged(rows, title, new_clause))
        if "remove_clause" in request.POST:
            return self.show(self.unjudged(rows, title, new_clause_form(new_clause.posted())))
        # Ok: a pending new clause row counts when filled in.
        if new_clause.posted()["attribute"]:
            if not new_clause.is_valid():
                return self.show(self.unjudged(rows, title, new_clause))
            rows.append(new_clause.posted())
            new_clause = new_clause_form()
        else:
            new_clause = new_clause_form(new_clause.posted())
        clauses = ScopingClauseFormSet.bound_to(
            rows, known_attributes=self.source_attribute_names()
        )
        if all([clauses.is_valid(), form.is_valid()]):  # both judged, to show every error
            scoping_filter = ScopingFilter(
                title=form.cleaned_data["title"], clauses=clauses.scoping_clauses()
            )
            try:
                if self.kwargs.get("index") is None:
                    object_mapping_scoping_filter_add(
                        mapping=self.mapping, scoping_filter=scoping_filter, actor=request.user
                    )
                else:
                    object_mapping_scoping_filter_replace(
                        mapping=self.mapping,
                        index=self.kwargs["index"],
                        scoping_filter=scoping_filter,
                        actor=request.user,
                    )
            except ValidationError as error:
                form.add_error(None, error.messages)
            else:
                messages.success(request, f"Saved scoping filter {scoping_filter.title}.")
                return HttpResponseRedirect(self.mapping_url("scope"))
        return self.show({"clauses": clauses, "form": form, "new_clause": new_clause})

    def show(self, editor: dict):
        return self.render_to_response(self.get_context_data(**editor))


def new_clause_form(initial: dict[str, str] | None = None) -> ScopingClauseForm:
    """The editor's unbound new-clause row: empty (EQUALS), or showing ``initial``."""
    return ScopingClauseForm(
        prefix="new", initial=initial or {"attribute": "", "operator": "EQUALS", "value": ""}
    )
