"""Bearer token → the SCIM service user, for django-scim2's auth check."""

import hmac

from django.conf import settings
from django.contrib.auth import get_user_model


class BearerTokenMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = header.partition(" ")
        if (
            scheme.lower() == "bearer"
            and settings.PEER_TOKEN
            and hmac.compare_digest(token.encode(), settings.PEER_TOKEN.encode())
        ):
            # One query, as a token table look-up would make.
            request.user = get_user_model().objects.get(username=settings.PEER_SERVICE_USER)
        return self.get_response(request)
