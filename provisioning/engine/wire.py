"""One HTTP exchange with a SCIM target, on httpcore (the transport under httpx) directly.

The provisioning service sends hundreds of requests a second in a cycle, and httpx's client
layer above its transport (URL and request models, cookies, auth and redirect handling, header
and response models) cost about as much CPU as the transport itself: measured on this box,
0.69 ms per request through an ``httpx.Client`` against 0.32 ms through the same connection
pool directly. What this module keeps of httpx is what the wire needs:

* the SSRF guard's connection pool (:func:`provisioning.outbound.guarded_pool`: checked
  addresses, TLS verified against the URL's host name);
* the same bytes on the wire: the target (path and query) is written as httpx writes it — a
  plain path passes as it is, anything else goes through ``httpx.URL`` — and the default headers
  ``Accept-Encoding: gzip, deflate`` and ``Connection: keep-alive``;
* answers decoded as httpx decodes them (``gzip``/``deflate`` content codings, the charset of
  ``Content-Type`` or UTF-8 with replacement characters).

No cookies are kept and no redirect is followed, as before (the client never followed them).
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpcore
import httpx

#: Sent with every request, as httpx sends them by default.
DEFAULT_HEADERS = ((b"Accept-Encoding", b"gzip, deflate"), (b"Connection", b"keep-alive"))


class DecodingError(Exception):
    """The body's content coding is broken (httpx's error of the same name)."""


#: No answer in time: connecting, writing, reading or waiting for a connection.
TIMEOUT_ERRORS = (httpcore.TimeoutException,)
#: Every other transport failure. httpx raises each as its ``HTTPError`` of the same name, and
#: the name is what a provisioning log's reason shows.
TRANSPORT_ERRORS = (
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.ProxyError,
    httpcore.UnsupportedProtocol,
    DecodingError,
)

#: A path httpx leaves as it is: RFC 3986 unreserved characters, sub-delimiters, ``:``, ``@``
#: and ``/`` (a resource id the target chose can be anything; other paths are quoted by httpx).
_PLAIN_PATH = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/]*")
_CHARSET = re.compile(r";\s*charset\s*=\s*\"?([^\";\s]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Endpoint:
    """Where requests go: the base URL's origin and path, parsed once."""

    scheme: bytes
    host: bytes
    port: int | None
    origin: str  # "https://host:port", as httpx writes it
    path: str  # the base path, encoded, without a trailing slash

    @classmethod
    def parse(cls, base_url: str) -> Endpoint:
        url = httpx.URL(base_url)
        origin = str(url.copy_with(raw_path=b"/"))[:-1]
        return cls(
            scheme=url.raw_scheme,
            host=url.raw_host,
            port=url.port,
            origin=origin,
            path=url.raw_path.decode("ascii").rstrip("/"),
        )

    def target(self, path: str, params: dict[str, str] | None) -> str:
        """The request target (path and query) for ``path`` under the base path, encoded as
        httpx encodes it."""
        full = self.path + path
        if not _PLAIN_PATH.fullmatch(full):
            # "?" and "#" in an id the target chose belong to the path, not a query or fragment.
            full = full.replace("?", "%3F").replace("#", "%23")
            full = httpx.URL(self.origin + full).raw_path.decode("ascii")
        if params:
            full += "?" + urlencode(params)
        return full

    def url(self, target: str) -> httpcore.URL:
        return httpcore.URL(
            scheme=self.scheme, host=self.host, port=self.port, target=target.encode("ascii")
        )


@dataclass(frozen=True, eq=False)
class WireResponse:
    """A target's answer as received: status, headers (names lower-cased, repeated fields
    joined by ", ") and the body, decoded from its content coding."""

    url: str
    status_code: int
    headers: dict[str, str] = field(repr=False)
    content: bytes = field(repr=False)
    reason: bytes = b""

    @property
    def reason_phrase(self) -> str:
        return self.reason.decode("ascii", errors="ignore")

    @property
    def text(self) -> str:
        match = _CHARSET.search(self.headers.get("content-type", ""))
        encoding = match.group(1) if match else "utf-8"
        try:
            return self.content.decode(encoding, errors="replace")
        except LookupError:  # a charset Python does not know
            return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; ``ValueError`` when it is not."""
        return json.loads(self.content)


def _decoded(content: bytes, coding: str) -> bytes:
    """The body without its content codings (applied in the order named, so undone in reverse);
    one it does not know is left as it is, as httpx leaves it."""
    for name in reversed([c.strip().lower() for c in coding.split(",") if c.strip()]):
        if name == "gzip":
            content = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(content)
        elif name == "deflate":
            try:
                content = zlib.decompressobj().decompress(content)
            except zlib.error:  # raw deflate, without the zlib header
                content = zlib.decompressobj(-zlib.MAX_WBITS).decompress(content)
    return content


def exchange(
    pool: httpcore.ConnectionPool,
    endpoint: Endpoint,
    method: str,
    target: str,
    *,
    headers: list[tuple[bytes, bytes]],
    content: bytes | None,
    timeouts: dict[str, float],
) -> WireResponse:
    """Send one request on ``pool`` and read the whole answer. Raises one of
    ``TIMEOUT_ERRORS`` or ``TRANSPORT_ERRORS`` when no usable answer arrives."""
    response = pool.request(
        method,
        endpoint.url(target),
        headers=[*headers, *DEFAULT_HEADERS],
        content=content,
        extensions={"timeout": timeouts},
    )
    answer: dict[str, str] = {}
    for name, value in response.headers:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        answer[key] = f"{answer[key]}, {text}" if key in answer else text
    body = response.content
    if "content-encoding" in answer and body:
        try:
            body = _decoded(body, answer["content-encoding"])
        except zlib.error as error:
            raise DecodingError(f"Malformed {answer['content-encoding']} body: {error}") from None
    return WireResponse(
        url=endpoint.origin + target,
        status_code=response.status,
        headers=answer,
        content=body,
        reason=response.extensions.get("reason_phrase", b""),
    )
