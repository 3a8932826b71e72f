"""Django's PostgreSQL backend, with a persistent connection's health checked without a round
trip.

``CONN_HEALTH_CHECKS`` makes Django check a reused connection at the start of every request, and
the stock check is ``SELECT 1``: one round trip per request, on every SCIM request, which the
provisioning benchmark showed as a sixth of a request's time. A connection that went bad while
idle shows it on its socket without being asked: a PostgreSQL server that restarts or
terminates a backend sends a ``FATAL`` notice and closes the connection, so the socket turns
readable. Here the check asks the kernel instead (``select`` with no wait): an idle socket with
nothing to read is a healthy connection; anything else — closed, broken, or unexpected bytes
waiting — falls back to Django's ``SELECT 1``, which decides. What this cannot see (a peer gone
without a word, a cable pulled) makes that request's first query fail, which the SCIM API
answers with a 503 and ``Retry-After`` and Django discards the connection.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if (
            connection.pgconn.status != pq.ConnStatus.OK
            or connection.info.transaction_status != pq.TransactionStatus.IDLE
        ):
            return super().is_usable()
        try:
            readable, _, _ = select.select([connection.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable or super().is_usable()
