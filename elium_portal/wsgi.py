import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "elium_portal.settings.local")

application = get_wsgi_application()

from django.urls import get_resolver  # noqa: E402  (needs the settings above)

from elium_portal.runtime import tune_web_worker  # noqa: E402

get_resolver().url_patterns  # noqa: B018  (import every view before freezing what is loaded)
tune_web_worker()
