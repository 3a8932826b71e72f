"""Support staff's view of the Azure side (issue 13). Secrets are never shown (not even
encrypted). What the engine owns is read-only; the job's Start/Stop/Restart/Allow deletes call
the services in :mod:`provisioning.services.jobs` and are audited under the support user's name.

The SCIM request log lives in ``scim_api``, which this app never imports: links to it are built
from admin URL names."""

from provisioning.admin import directory, jobs, logs  # noqa: F401  (registers the admins)
