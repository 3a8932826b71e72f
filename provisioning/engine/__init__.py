"""The provisioning engine: what Entra's provisioning service does with a job's configuration.

* :mod:`.scim_client` — the one outbound SCIM client (timeouts, keep-alive, bounded
  concurrency, 429/Retry-After, Entra error codes), the two wire dialects, the protocol
  constants, and :func:`~.scim_client.scim_client_for`, the one factory cycles, provision on
  demand and Test Connection build it with; :mod:`.wire` — its HTTP/1.1 connections
  (``http.client`` behind the SSRF guard).
* :mod:`.paths` — target attribute paths (``emails[type eq "work"].value``) → request bodies,
  and reading them back from responses.
* :mod:`.evaluate` — attribute mappings evaluated against a source object.
* :mod:`.sync` — one object's sync against the target (match, create, update, disable,
  delete), free of the ORM so it can run in worker threads; :mod:`.references` — the manager
  and member passes.
* :mod:`.changes` — the incremental reader of the directory change feed.
* :mod:`.works` — what a cycle loads before talking to the target (candidates, import and
  scoping, reference changes); :mod:`.store` — what it writes (connector data store, logs).
* :mod:`.cycle` — cycles: phases, chunking, progress.
* :mod:`.state` — the job's state row, its advisory lock, the reset Restart performs.
* :mod:`.quarantine` — quarantine, retry schedule, notification email.
* :mod:`.ondemand` — Provision on demand.

Layers: the engine imports only ``provisioning.models``, ``expressions``, ``scoping`` and the
small helpers beside them (``audit``, ``crypto``, ``defaults``, ``outbound``) — never
``services``, ``selectors``, ``views`` or ``tasks``, which call it. Nothing here imports
``scim_api``: the engine speaks to every SCIM endpoint over HTTP only.
"""
