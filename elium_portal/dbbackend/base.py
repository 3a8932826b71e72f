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

And ``timestamptz`` values are read by psycopg's compiled loader. Django registers its own, a
Python subclass of psycopg's Python loader (it sets the time zone Django wants on each value),
so every timestamp was parsed in Python: a sixth of the Python time of a page of 100 users.
:func:`_timestamptz_loader` does what Django's does — parse in the session's time zone, then
set Django's — with the parsing done by the fastest loader psycopg has.
"""

from __future__ import annotations

import functools
import select

from django.db.backends.postgresql import base
from psycopg import adapt, postgres, pq

_TIMESTAMPTZ = postgres.types["timestamptz"].oid


@functools.cache
def _timestamptz_loader(timezone):
    """A text ``timestamptz`` loader with Django's ``timezone`` attribute and behaviour
    (``django.db.backends.postgresql.psycopg_any.BaseTzLoader``), parsing with psycopg's own
    loader: the compiled one when psycopg's binary implementation is installed."""
    parser = postgres.adapters.get_loader(_TIMESTAMPTZ, pq.Format.TEXT)

    class TimestamptzLoader(adapt.Loader):
        def __init__(self, oid, context=None):
            super().__init__(oid, context)
            self._parse = parser(oid, context).load

        def load(self, data):
            return self._parse(data).replace(tzinfo=timezone)

    TimestamptzLoader.timezone = timezone  # what Django's create_cursor() compares
    return TimestamptzLoader


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        connection.adapters.register_loader(_TIMESTAMPTZ, _timestamptz_loader(self.timezone))
        return connection

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
