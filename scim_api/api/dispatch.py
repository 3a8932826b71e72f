"""Lenient endpoint matching, one named switch of the compatibility policy
(``lenient_endpoint_paths``): ``/users``, ``/Users/``, ``/GROUPS/{id}/`` reach the canonical
views. Under the strict policy they are a SCIM 404."""

from __future__ import annotations

from scim_api.api import bulk, discovery, resources
from scim_api.api.base import ScimView
from scim_api.errors import ScimError

# (lower-cased first segment, has id) → (view, name of the id keyword)
_ROUTES = {
    ("serviceproviderconfig", False): (discovery.ServiceProviderConfigView, None),
    ("resourcetypes", False): (discovery.ResourceTypeListView, None),
    ("resourcetypes", True): (discovery.ResourceTypeDetailView, "name"),
    ("schemas", False): (discovery.SchemaListView, None),
    ("schemas", True): (discovery.SchemaDetailView, "schema_id"),
    ("users", False): (resources.UsersView, None),
    ("users", True): (resources.UserDetailView, "resource_id"),
    ("groups", False): (resources.GroupsView, None),
    ("groups", True): (resources.GroupDetailView, "resource_id"),
    (".search", False): (resources.SearchView, None),
    ("bulk", False): (bulk.BulkView, None),
}
_SEARCH_SCOPES = {"users": "User", "groups": "Group"}


class LenientDispatchView(ScimView):
    log_requests = False  # the view it hands over to logs the request…
    rate_limited = False  # …and counts it

    def dispatch_lenient(self, request, slug, rest):
        if not self.policy.lenient_endpoint_paths:
            raise ScimError(f"No SCIM endpoint at /{rest}.", status=404)
        parts = [p for p in rest.split("/") if p]
        if len(parts) == 2 and parts[1].lower() == ".search" and parts[0].lower() in _SEARCH_SCOPES:
            view = resources.SearchView.as_view(scope=_SEARCH_SCOPES[parts[0].lower()])
            return view(request._request, slug=slug)
        key = (parts[0].lower(), len(parts) == 2) if parts and len(parts) <= 2 else None
        if key not in _ROUTES:
            raise ScimError(f"No SCIM endpoint at /{rest}.", status=404)
        view_class, id_name = _ROUTES[key]
        kwargs = {"slug": slug}
        if id_name:
            kwargs[id_name] = parts[1]
        return view_class.as_view()(request._request, **kwargs)

    def get(self, request, slug, rest):
        return self.dispatch_lenient(request, slug, rest)

    post = put = patch = delete = get
