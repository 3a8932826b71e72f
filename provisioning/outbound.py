"""Where the provisioning service may send requests. The Tenant URL is typed by an admin, so
it must not become a way to reach cloud metadata services or (unless allowed) private networks.

Settings (read when called; declared in ``elium_portal/settings/base.py``):

* ``PROVISIONING_ALLOW_LOOPBACK`` (default True) — the app provisions its own tenants.
* ``PROVISIONING_ALLOW_PRIVATE_NETWORKS`` (default False) — RFC 1918 / ULA / CGNAT ranges.

Link-local addresses (which include 169.254.169.254) and known metadata addresses are refused
always.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

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
    if parts.username or parts.password:
        return "The Tenant URL must not contain a user name or password."
    if parts.fragment:
        return "The Tenant URL must not contain a fragment (#…)."
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
