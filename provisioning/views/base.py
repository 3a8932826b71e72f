"""What every page of the Azure console shares: the staff-only access rule, the directory and
application resolved from the URL, and how a service's ``ValidationError`` reaches a form.

Access: every view requires a logged-in Django user who is staff (``is_staff``). Objects are
resolved through selectors scoped to the directory in the URL, so an id from another directory
is a 404.
"""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.core.exceptions import ValidationError
from django.urls import reverse

from provisioning import selectors
from provisioning.defaults import directory_product_name


def apply_errors(form, error: ValidationError) -> None:
    """Put a service's ``ValidationError`` on ``form``: messages about a field on that field,
    the others above the form."""
    if hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages_)
    else:
        form.add_error(None, error.messages)


class AzureConsoleMixin(LoginRequiredMixin, UserPassesTestMixin):
    """Staff only: the Azure console is the emulated Entra admin center."""

    raise_exception = False

    def test_func(self) -> bool:
        return bool(self.request.user.is_staff)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["product_name"] = directory_product_name()
        return context


class DirectoryMixin(AzureConsoleMixin):
    """Resolves ``self.directory`` from the ``tenant_id`` URL argument."""

    menu = ""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.is_staff:
            self.directory = selectors.directory_get(tenant_id=kwargs["tenant_id"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(directory=self.directory, menu=self.menu)
        return context


class ApplicationMixin(DirectoryMixin):
    """Resolves ``self.application`` and ``self.job`` within ``self.directory``."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.is_staff:
            directory = selectors.directory_get(tenant_id=kwargs["tenant_id"])
            self.application = selectors.application_get(
                directory=directory, object_id=kwargs["app_id"]
            )
            self.job = self.application.provisioning_job
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(app=self.application, job=self.job)
        return context

    def app_url(self, name: str, **kwargs) -> str:
        return reverse(
            f"provisioning:{name}",
            kwargs={
                "tenant_id": self.directory.tenant_id,
                "app_id": self.application.object_id,
                **kwargs,
            },
        )
