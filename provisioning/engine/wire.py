"""One HTTP exchange with a SCIM target: HTTP/1.1 keep-alive connections on the standard
library's ``http.client``, behind the SSRF guard.

The provisioning service sends hundreds of requests a second in a cycle. Measured on this box
(CPU per request of the sending process, the same request and answer): 0.69 ms through an
``httpx.Client``, 0.32 ms through httpcore's connection pool directly (httpx's transport, whose
HTTP parser, h11, is pure Python), 0.19 ms on ``http.client``. What this module keeps of httpx
is what the wire and the provisioning logs show:

* every connection goes to an address the SSRF guard resolved and checked in the same step
  (:func:`provisioning.outbound.guarded_connection`), and TLS verifies the certificate against
  the URL's host name with httpx's context (certifi's authorities, not the environment's);
* the same bytes on the wire: ``Host`` first, the target (path and query) written as httpx
  writes it — a plain path passes as it is, anything else goes through ``httpx.URL`` — and
  httpx's default headers ``Accept-Encoding: gzip, deflate`` and ``Connection: keep-alive``;
* answers decoded as httpx decodes them (``gzip``/``deflate`` content codings, the charset of
  ``Content-Type`` or UTF-8 with replacement characters);
* failures raised under httpx's names (``ConnectError``, ``ReadTimeout``,
  ``RemoteProtocolError``…), which the provisioning logs' reasons quote;
* a kept-alive connection idle for more than :data:`KEEPALIVE_EXPIRY` seconds, or that the
  target closed (readable while idle), is replaced before a request is written on it.

No cookies are kept and no redirect is followed, as before.
"""

from __future__ import annotations

import http.client
import json
import re
import select
import socket
import ssl
import time
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from provisioning.outbound import DestinationRefusedError, guarded_connection

#: Sent with every request, as httpx sends them by default.
DEFAULT_HEADERS = ((b"Accept-Encoding", b"gzip, deflate"), (b"Connection", b"keep-alive"))
#: How long a kept-alive connection may stay idle and still be reused: less than the shortest
#: keep-alive timeout servers commonly have (gunicorn's, 2 seconds; httpx's 5 seconds is
#: longer). A server closes an idle connection when its own timeout passes, and a request
#: written on it in that moment is lost ("Server disconnected without sending a response", or
#: a reset): against gunicorn, requests 1.95-2.05 s apart on kept-alive connections failed 9
#: times in 2,000 (none with this expiry). One PATCH of a 100,000-user benchmark cycle failed
#: with no error answer logged by its server, most likely so. A connection idle for longer is
#: replaced, at the price of a new connection.
KEEPALIVE_EXPIRY = 1.0


class TransportTimeout(Exception):
    """No answer in time. ``str()`` is the socket's message; the class name says when."""


class ConnectTimeout(TransportTimeout):
    pass


class WriteTimeout(TransportTimeout):
    pass


class ReadTimeout(TransportTimeout):
    pass


class TransportError(Exception):
    """The exchange failed before a whole answer arrived. The class name says how."""


class ConnectError(TransportError):
    pass


class WriteError(TransportError):
    pass


class ReadError(TransportError):
    pass


class LocalProtocolError(TransportError):
    """The request could not be written (a header value with a line break, say)."""


class RemoteProtocolError(TransportError):
    """The answer is not HTTP/1.1 (or the target closed the connection without one)."""


class DecodingError(TransportError):
    """The body's content coding is broken."""


#: A path httpx leaves as it is: RFC 3986 unreserved characters, sub-delimiters, ``:``, ``@``
#: and ``/`` (a resource id the target chose can be anything; other paths are quoted by httpx).
_PLAIN_PATH = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/]*")
_CHARSET = re.compile(r";\s*charset\s*=\s*\"?([^\";\s]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Endpoint:
    """Where requests go: the base URL's origin and path, parsed once."""

    tls: bool
    host: str  # as connected to: IDNA-encoded, an IPv6 address without brackets
    port: int
    host_header: bytes  # as httpx writes it: IPv6 in brackets, the port unless the scheme's
    origin: str  # "https://host:port", as httpx writes it
    path: str  # the base path, encoded, without a trailing slash

    @classmethod
    def parse(cls, base_url: str) -> Endpoint:
        url = httpx.URL(base_url)
        tls = url.scheme == "https"
        return cls(
            tls=tls,
            host=url.raw_host.decode("ascii"),
            port=url.port or (443 if tls else 80),
            host_header=url.netloc,
            origin=str(url.copy_with(raw_path=b"/"))[:-1],
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


def _readable(sock: socket.socket) -> bool:
    """Whether an idle connection has something to read: the target closed it (or broke the
    protocol). ``poll``, not ``select``, which fails on descriptors past 1023."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class Connection:
    """One keep-alive HTTP/1.1 connection to ``endpoint``, opened on first use and again
    whenever the last one cannot be reused. Not thread-safe: the SCIM client lends each one to
    one thread at a time."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        connect_timeout: float,
        timeout: float,
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        self.endpoint = endpoint
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.ssl_context = ssl_context
        self._http: http.client.HTTPConnection | None = None
        self._idle_since = 0.0

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def _create_socket(self, address, timeout=None, source_address=None) -> socket.socket:
        """``http.client``'s hook for opening the TCP connection: through the guard."""
        try:
            sock = guarded_connection(
                self.endpoint.host, self.endpoint.port, timeout=self.connect_timeout
            )
        except DestinationRefusedError as error:
            raise ConnectError(f"Refused: {error}") from None
        except TimeoutError as error:
            raise ConnectTimeout(str(error) or "timed out") from None
        except (OSError, UnicodeError) as error:
            raise ConnectError(str(error)) from None
        sock.settimeout(self.timeout)
        return sock

    def _ready(self) -> http.client.HTTPConnection:
        """The connection to write the next request on: the kept-alive one unless it expired
        or the target closed it, else a new one, connected (TLS handshake included)."""
        current = self._http
        if current is not None and current.sock is not None:
            idle = time.monotonic() - self._idle_since
            if idle <= KEEPALIVE_EXPIRY and not _readable(current.sock):
                return current
        self.close()
        if self.endpoint.tls:
            fresh: http.client.HTTPConnection = http.client.HTTPSConnection(
                self.endpoint.host, self.endpoint.port, context=self.ssl_context
            )
        else:
            fresh = http.client.HTTPConnection(self.endpoint.host, self.endpoint.port)
        fresh._create_connection = self._create_socket
        try:
            fresh.connect()  # the guard's errors are raised as they are
        except TimeoutError as error:  # the TLS handshake
            fresh.close()
            raise ConnectTimeout(str(error) or "timed out") from None
        except (OSError, ssl.SSLError) as error:
            fresh.close()
            raise ConnectError(str(error)) from None
        self._http = fresh
        return fresh

    def exchange(
        self,
        method: str,
        target: str,
        *,
        headers: list[tuple[bytes, bytes]],
        content: bytes | None,
    ) -> WireResponse:
        """Send one request and read the whole answer. Raises a :class:`TransportTimeout` or
        a :class:`TransportError` when no usable answer arrives (the connection is closed
        then)."""
        conn = self._ready()
        try:
            try:
                conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                conn.putheader(b"Host", self.endpoint.host_header)
                for name, value in headers:
                    conn.putheader(name, value)
                for name, value in DEFAULT_HEADERS:
                    conn.putheader(name, value)
                if content is not None:
                    conn.putheader(b"Content-Length", b"%d" % len(content))
                conn.endheaders(content)
            except (ValueError, http.client.HTTPException) as error:
                raise LocalProtocolError(str(error)) from None
            except TimeoutError as error:
                raise WriteTimeout(str(error) or "timed out") from None
            except OSError as error:
                raise WriteError(str(error)) from None
            try:
                response = conn.getresponse()
                body = response.read()
            except TimeoutError as error:
                raise ReadTimeout(str(error) or "timed out") from None
            except http.client.RemoteDisconnected:
                raise RemoteProtocolError(
                    "Server disconnected without sending a response."
                ) from None
            except http.client.HTTPException as error:
                raise RemoteProtocolError(f"{type(error).__name__}: {error}") from None
            except OSError as error:
                raise ReadError(str(error)) from None
        except (TransportError, TransportTimeout):
            self.close()
            raise
        answer: dict[str, str] = {}
        for name, value in response.getheaders():
            key = name.lower()
            answer[key] = f"{answer[key]}, {value}" if key in answer else value
        if response.will_close:
            self.close()
        else:
            self._idle_since = time.monotonic()
        if "content-encoding" in answer and body:
            try:
                body = _decoded(body, answer["content-encoding"])
            except zlib.error as error:
                coding = answer["content-encoding"]
                raise DecodingError(f"Malformed {coding} body: {error}") from None
        return WireResponse(
            url=self.endpoint.origin + target,
            status_code=response.status,
            headers=answer,
            content=body,
            reason=response.reason.encode("latin-1", errors="replace"),
        )
