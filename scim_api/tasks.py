"""Background work of the SCIM API."""

from __future__ import annotations

from procrastinate.contrib.django import app

from scim_api.request_log import scim_request_log_prune
from scim_api.services.feed import scim_change_feed_prune


@app.periodic(cron="17 * * * *", periodic_id="prune-scim-request-log")
@app.task(name="scim_api.prune_request_log", queueing_lock="prune-scim-request-log")
def prune_request_log(timestamp: int) -> int:
    """Hourly: drop inbound request log entries older than ``SCIM_REQUEST_LOG_DAYS``."""
    return scim_request_log_prune()


@app.periodic(cron="23 * * * *", periodic_id="prune-scim-change-feed")
@app.task(name="scim_api.prune_change_feed", queueing_lock="prune-scim-change-feed")
def prune_change_feed(timestamp: int) -> int:
    """Hourly: drop change feed rows older than ``SCIM_CHANGE_FEED_DAYS``, in batches."""
    return scim_change_feed_prune()
