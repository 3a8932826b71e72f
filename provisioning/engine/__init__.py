"""The provisioning engine: what Entra's provisioning service does with a job's configuration.

* :mod:`.scim_client` — the one outbound SCIM client (httpx; timeouts, keep-alive, bounded
  concurrency, 429/Retry-After, Entra error codes) and the two wire dialects.
* :mod:`.paths` — target attribute paths (``emails[type eq "work"].value``) → request bodies,
  and reading them back from responses.
* :mod:`.evaluate` — attribute mappings evaluated against a source object.
* :mod:`.sync` — one object's sync against the target (match, create, update, disable, delete,
  references), free of the ORM so it can run in worker threads.
* :mod:`.changes` — the incremental reader of the directory change feed.
* :mod:`.cycle` — cycles: phases, chunking, the connector data store, logs, progress.
* :mod:`.quarantine` — quarantine, retry schedule, notification email.
* :mod:`.control` — Start / Stop / Restart / Allow deletes.
* :mod:`.ondemand` — Provision on demand.
* :mod:`.logs` — provisioning log queries, downloads and retention.

Nothing here imports ``scim_api``: the engine speaks to every SCIM endpoint over HTTP only.
"""
