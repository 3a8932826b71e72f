"""Where the provisioning service may send requests. The Tenant URL is typed by an admin, so
it must not become a way to reach cloud metadata services or (unless allowed) private networks.

Settings (read when called; declared in ``elium_portal/settings/base.py``):

* ``PROVISIONING_ALLOW_LOOPBACK`` (default True) — the app provisions its own tenants.
* ``PROVISIONING_ALLOW_PRIVATE_NETWORKS`` (default False) — RFC 1918 / ULA / CGNAT ranges.

Link-local addresses (which include 169.254.169.254) and known metadata addresses are refused
always.

The check runs twice: once on the URL before anything is sent (a clear message for the admin),
and again inside the connection itself (:func:`guarded_connection` for the SCIM client,
:class:`GuardedTransport` for httpx), which connects to exactly the address it has just
checked — so a DNS answer that changes between the check and the connect (DNS rebinding) can
never reach a refused address.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import httpcore
import httpx
import idna
from django.conf import settings

METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("169.254.170.2"),
        ipaddress.ip_address("100.100.100.200"),
        ipaddress.ip_address("fd00:ec2::254"),
    }
)


class DestinationRefusedError(Exception):
    """The URL is not one the provisioning service may call; ``str()`` says why."""


def tenant_url_problem(url: str) -> str | None:
    """Why a Tenant URL is not acceptable as typed (None when it is)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "Enter a valid URL."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "The Tenant URL must be an absolute http:// or https:// URL."
    try:
        port = parts.port
    except ValueError:
        return "The Tenant URL's port must be a number from 1 to 65535."
    if port == 0:
        return "The Tenant URL's port must be a number from 1 to 65535."
    if problem := _host_name_problem(parts.hostname):
        return problem
    if parts.username or parts.password:
        return "The Tenant URL must not contain a user name or password."
    if parts.fragment:
        return "The Tenant URL must not contain a fragment (#…)."
    return None


def _host_name_problem(host: str) -> str | None:
    """Why a host name cannot be looked up (None when it can): internationalised labels must be
    valid IDNA (checked by the ``idna`` package), every label 1–63 characters once encoded, 253
    in all. Plain ASCII labels are left to DNS (an underscore is legal there)."""
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    labels = host.removesuffix(".").split(".")  # a fully qualified name may end with a dot
    encoded = []
    for label in labels:
        if label.isascii() and not label.lower().startswith("xn--"):
            encoded.append(label.encode())
            continue
        try:
            encoded.append(idna.encode(label, uts46=True))
        except (idna.IDNAError, UnicodeError):
            return "The Tenant URL's host name is not a valid internationalised domain name."
    if sum(len(e) + 1 for e in encoded) - 1 > 253 or any(not 0 < len(e) <= 63 for e in encoded):
        return (
            "The Tenant URL's host name is not a valid domain name (labels of 1 to 63 characters)."
        )
    return None


def _address_problem(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return "cloud metadata addresses are never called"
    if address.is_link_local:
        return "link-local addresses are never called"
    if address.is_loopback:
        if settings.PROVISIONING_ALLOW_LOOPBACK:
            return None
        return "loopback addresses are not allowed (PROVISIONING_ALLOW_LOOPBACK)"
    if address.is_unspecified or address.is_multicast or address.is_reserved:
        return "this address cannot be called"
    if address.is_private or address in ipaddress.ip_network("100.64.0.0/10"):
        if settings.PROVISIONING_ALLOW_PRIVATE_NETWORKS:
            return None
        return "private network addresses are not allowed (PROVISIONING_ALLOW_PRIVATE_NETWORKS)"
    return None


def _checked_addresses(host: str, port: int) -> list[str]:
    """Resolve ``host`` once and return its addresses, refusing all of them if any one is
    forbidden (a name that resolves to a private address among public ones is not callable)."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    addresses = []
    for info in infos:
        text = info[4][0].split("%", 1)[0]
        problem = _address_problem(ipaddress.ip_address(text))
        if problem:
            raise DestinationRefusedError(f"{host} resolves to {text}: {problem}")
        if text not in addresses:
            addresses.append(text)
    return addresses


def guarded_connection(host: str, port: int, *, timeout: float | None) -> socket.socket:
    """A TCP connection (``TCP_NODELAY``) to an address of ``host`` that was resolved and
    checked in the same step: no second lookup by the socket library. Raises
    ``DestinationRefusedError``, ``TimeoutError`` (connecting took longer than ``timeout``) or
    ``OSError``."""
    last: OSError | None = None
    for address in _checked_addresses(host, port):
        try:
            sock = socket.create_connection((address, port), timeout=timeout)
        except TimeoutError:
            raise
        except OSError as error:
            last = error
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise last or OSError(f"{host} has no address")


class _GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, but every TCP connection goes to an address that was
    resolved and checked in the same step (no second lookup by the socket library)."""

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            addresses = _checked_addresses(host, port)
        except DestinationRefusedError as error:
            raise httpcore.ConnectError(f"Refused: {error}") from None
        except (OSError, UnicodeError) as error:
            raise httpcore.ConnectError(str(error)) from None
        last: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as error:
                last = error
        raise last or httpcore.ConnectError(f"{host} has no address")


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport, connecting only to checked addresses, for the requests sent through
    an ``httpx.Client`` (the OAuth token endpoint's). TLS still verifies the certificate against
    the host name of the URL."""

    def __init__(self, *, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(),
        )


def destination_check(url: str) -> None:
    """Resolve the URL's host and refuse it if any address it resolves to is forbidden.
    Unresolvable hosts pass here and fail as connection errors, as they would for Entra."""
    problem = tenant_url_problem(url)
    if problem:
        raise DestinationRefusedError(problem)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        problem = _address_problem(address)
        if problem:
            raise DestinationRefusedError(f"{parts.hostname} resolves to {address}: {problem}")
