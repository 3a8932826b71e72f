"""The outbound SCIM client's transport (:mod:`provisioning.engine.wire`): ``http.client``
behind the SSRF guard, with the bytes on the wire httpx wrote before — recorded by small local
servers, HTTPS included."""

from __future__ import annotations

import datetime
import gzip
import ipaddress
import json
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from gunicorn.config import Keepalive

from provisioning.engine import wire
from provisioning.engine.scim_client import (
    INCOMPATIBLE,
    PROTOCOL_ERROR,
    TIMEOUT,
    UNAUTHORIZED,
    ScimClient,
)
from provisioning.engine.wire import Endpoint, WireResponse

LIST = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
    "totalResults": 0,
    "Resources": [],
}

BASES = [
    "http://127.0.0.1:8000/t/acme/scim/v2",
    "https://example.com/scim",
    "https://example.com:8443/api/v2/scim",
    "https://exämple.com/t/ö b/scim",
    "http://[::1]:8080/scim/v2",
    "https://[2001:db8::1]/scim",
    "http://example.com:80/scim",
]
PATHS = [
    "/Users",
    "/Users/3f2c1a4e-8b1d-4c7a-9e55-0a1b2c3d4e5f",
    "/Groups/sales team",
    "/Users/é~!$&'()*+,;=:@x",
    "/Users/50%",
    "/Users/a%20b",
    '/Users/<"quoted">{x}|^`',
]
PARAMS = [
    None,
    {"filter": 'userName eq "ada+lovelace@example.com"'},
    {"excludedAttributes": "members", "filter": 'displayName eq "Sales & Ops/é ~x\'()*!;,:=[]"'},
    {"filter": 'externalId eq "50% \\"off\\""'},
]


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("params", PARAMS)
def test_request_targets_are_written_as_httpx_writes_them(base, path, params):
    endpoint = Endpoint.parse(base)
    target = endpoint.target(path, params)
    expected = httpx.Request("GET", base + path, params=params)
    assert target == expected.url.raw_path.decode("ascii")
    assert endpoint.origin + target == str(expected.url)
    assert endpoint.host_header.decode("ascii") == expected.headers["Host"]


@pytest.mark.parametrize("resource_id", ["a?b", "a#b", "a?b#c"])
def test_a_target_id_with_a_query_or_fragment_character_stays_in_the_path(resource_id):
    endpoint = Endpoint.parse("https://example.com/scim")
    target = endpoint.target(f"/Users/{resource_id}", {"excludedAttributes": "members"})
    path, _, query = target.partition("?")
    assert query == "excludedAttributes=members"
    assert httpx.URL("https://example.com" + path).path == f"/scim/Users/{resource_id}"


def test_text_uses_the_charset_of_the_content_type():
    def answer(content_type: str, content: bytes) -> WireResponse:
        return WireResponse("u", 400, {"content-type": content_type}, content)

    assert answer("text/plain; charset=latin-1", "café".encode("latin-1")).text == "café"
    assert answer('text/plain; charset="utf-8"', "café".encode()).text == "café"
    assert answer("text/plain", "café".encode()).text == "café"
    assert answer("text/plain", b"caf\xe9").text == "caf\ufffd"
    assert answer("text/plain; charset=no-such-thing", b"ok").text == "ok"


# -- against real local servers ---------------------------------------------------------------


class Recording:
    def __init__(self, respond: Callable[[BaseHTTPRequestHandler], tuple[int, dict, bytes] | None]):
        self.respond = respond
        self.requests: list[dict] = []


@contextmanager
def serving(
    respond: Callable[[BaseHTTPRequestHandler], tuple[int, dict, bytes] | None],
    *,
    tls: ssl.SSLContext | None = None,
) -> Iterator[tuple[str, Recording]]:
    recording = Recording(respond)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as gunicorn's threaded workers

        def log_message(self, *args):
            pass

        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            recording.requests.append(
                {
                    "line": self.requestline,
                    "headers": [(k.lower(), v) for k, v in self.headers.items()],
                    "body": body,
                    "peer": self.client_address,
                }
            )
            answer = recording.respond(self)
            if answer is None:  # hang up without an answer
                self.close_connection = True
                return
            status, headers, data = answer
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            try:
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout)
                self.close_connection = True

        do_GET = do_POST = do_PATCH = do_DELETE = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    scheme = "https" if tls else "http"
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}/t/acme/scim/v2", recording
    finally:
        server.shutdown()
        server.server_close()


def scim_json(_handler) -> tuple[int, dict, bytes]:
    return 200, {"Content-Type": "application/scim+json"}, json.dumps(LIST).encode()


def test_the_request_on_the_wire():
    with serving(scim_json) as (url, recording), ScimClient(tenant_url=url, token="s3cret") as c:
        c.query("Users", "userName", 'ada "the first"@example.com')
        c.create("Users", {"userName": "ada@example.com", "displayName": "Adá"})
    query, create = recording.requests
    assert query["line"] == (
        "GET /t/acme/scim/v2/Users?filter=userName+eq+%22ada+%5C%22the+first%5C%22"
        "%40example.com%22 HTTP/1.1"
    )
    names = [name for name, _ in query["headers"]]
    assert names[0] == "host"
    headers = dict(query["headers"])
    assert headers["host"] == url.split("/")[2]
    assert headers["accept"] == "application/scim+json"
    assert headers["user-agent"] == "Elium-Portal-Provisioning/1.0"
    assert headers["authorization"] == "Bearer s3cret"
    assert headers["accept-encoding"] == "gzip, deflate"
    assert headers["connection"] == "keep-alive"
    assert len(headers["client-request-id"]) == 36
    assert "content-type" not in headers
    assert "cookie" not in headers
    assert create["line"] == "POST /t/acme/scim/v2/Users HTTP/1.1"
    created = dict(create["headers"])
    assert created["content-type"] == "application/scim+json"
    assert int(created["content-length"]) == len(create["body"])
    assert json.loads(create["body"]) == {"userName": "ada@example.com", "displayName": "Adá"}
    # One keep-alive connection carried both.
    assert query["peer"] == create["peer"]


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, no zlib header
        ("identity", lambda data: data),
    ],
)
def test_a_compressed_answer_is_decoded(coding, encode):
    def respond(_handler):
        headers = {"Content-Type": "application/scim+json", "Content-Encoding": coding}
        return 200, headers, encode(json.dumps(LIST).encode())

    with serving(respond) as (url, _), ScimClient(tenant_url=url, token="t") as client:
        result = client.query("Users", "userName", "ada@example.com")
    assert result.ok, result.reason
    assert result.body == LIST


def test_a_broken_compressed_answer_is_a_protocol_error_that_says_so():
    def respond(_handler):
        return 200, {"Content-Encoding": "gzip"}, b"not gzip at all"

    with serving(respond) as (url, _), ScimClient(tenant_url=url, token="t") as client:
        result = client.query("Users", "userName", "ada@example.com")
    assert result.error_code == PROTOCOL_ERROR
    assert result.retryable
    assert "DecodingError: Malformed gzip body" in result.reason


def test_an_error_answer_keeps_status_reason_and_masked_body():
    def respond(_handler):
        body = b"<html>token s3cret is not welcome here</html>"
        return 418, {"Content-Type": "text/html; charset=utf-8"}, body

    with serving(respond) as (url, _), ScimClient(tenant_url=url, token="s3cret") as client:
        result = client.create("Users", {"userName": "ada@example.com"})
    assert result.status == 418
    assert result.error_code == PROTOCOL_ERROR
    assert f"Resource: {url}/Users " in result.reason
    assert "Response Status Code: I'maTeapot" in result.reason
    assert "token ******** is not welcome" in result.reason
    assert "s3cret" not in result.reason
    assert result.response.text == "<html>token s3cret is not welcome here</html>"


def test_a_429_waits_for_retry_after_in_any_header_case():
    answers = iter([(429, {"retry-after": "0"}, b""), scim_json(None)])

    with (
        serving(lambda _handler: next(answers)) as (url, recording),
        ScimClient(tenant_url=url, token="t") as client,
    ):
        result = client.query("Users", "userName", "ada@example.com")
    assert result.ok
    assert result.attempts == 2
    assert len(recording.requests) == 2


def test_a_closed_keep_alive_connection_is_replaced():
    """The target closes the connection after its answer: the next request connects again
    instead of failing on the stale one."""

    def respond(handler):
        handler.close_connection = True
        return 200, {"Content-Type": "application/scim+json", "Connection": "close"}, b"{}"

    with serving(respond) as (url, recording), ScimClient(tenant_url=url, token="t") as client:
        results = [client.get("Users", str(n)) for n in range(3)]
    assert [r.ok for r in results] == [True, True, True]
    assert len({r["peer"] for r in recording.requests}) == 3


def test_a_connection_idle_past_the_expiry_is_replaced(monkeypatch):
    """A kept-alive connection is reused while fresh; once idle past the expiry, the next
    request goes on a new one (the server may be closing the old one at that very moment)."""
    monkeypatch.setattr(wire, "KEEPALIVE_EXPIRY", 0.2)
    with serving(scim_json) as (url, recording), ScimClient(tenant_url=url, token="t") as client:
        client.get("Users", "1")
        client.get("Users", "2")  # at once: the same connection
        time.sleep(0.3)
        client.get("Users", "3")
    first, again, later = (r["peer"] for r in recording.requests)
    assert first == again
    assert later != first


def test_no_connection_is_reused_as_long_as_gunicorn_keeps_one_open():
    """gunicorn closes a connection idle for its keep-alive timeout; a request written on it
    then is lost. The engine stops reusing a connection well before."""
    assert wire.KEEPALIVE_EXPIRY <= Keepalive.default / 2


def _self_signed(tmp_path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


def test_https_verifies_the_certificate(tmp_path):
    """A target whose certificate no public authority signed is refused, as httpx refused it:
    the request never reaches it."""
    with (
        serving(scim_json, tls=_self_signed(tmp_path)) as (url, recording),
        ScimClient(tenant_url=url, token="s3cret") as client,
    ):
        result = client.query("Users", "userName", "ada@example.com")
    assert result.status == 0
    assert result.error_code == PROTOCOL_ERROR
    assert "ConnectError" in result.reason
    assert "CERTIFICATE_VERIFY_FAILED" in result.reason
    assert recording.requests == []


def test_a_non_json_success_is_incompatible():
    def respond(_handler):
        return 200, {"Content-Type": "text/html"}, b"<html>login</html>"

    with serving(respond) as (url, _), ScimClient(tenant_url=url, token="t") as client:
        result = client.create("Users", {"userName": "ada@example.com"})
    assert result.error_code == INCOMPATIBLE


def test_nothing_listening_is_a_retryable_connect_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with ScimClient(tenant_url=f"http://127.0.0.1:{port}/scim", token="t") as client:
        result = client.get("Users", "1")
    assert result.status == 0
    assert result.retryable
    assert result.error_code == PROTOCOL_ERROR
    assert "ConnectError" in result.reason


def test_the_guard_refuses_at_connect_time_too(settings):
    """The Tenant URL was checked when it was saved; the address is checked again when the
    connection is made (a DNS answer may have changed since)."""
    with serving(scim_json) as (url, recording):
        client = ScimClient(tenant_url=url, token="t")
        settings.PROVISIONING_ALLOW_LOOPBACK = False
        with client:
            result = client.get("Users", "1")
    assert result.status == 0
    assert result.error_code == PROTOCOL_ERROR
    assert "ConnectError: Refused: 127.0.0.1 resolves to 127.0.0.1: loopback" in result.reason
    assert recording.requests == []


def test_a_header_that_cannot_be_written_is_an_error_result_and_nothing_is_sent():
    with serving(scim_json) as (url, recording):
        with ScimClient(tenant_url=url, token="abc\r\nX-Injected: 1") as client:
            result = client.get("Users", "1")
        assert result.error_code == PROTOCOL_ERROR
        assert "LocalProtocolError" in result.reason
        assert recording.requests == []


def test_a_target_that_hangs_up_without_answering_is_a_retryable_protocol_error():
    with serving(lambda _handler: None) as (url, _), ScimClient(tenant_url=url, token="t") as c:
        result = c.create("Users", {"userName": "ada@example.com"})
        assert result.retryable
        assert "RemoteProtocolError: Server disconnected without sending a response." in (
            result.reason
        )
        # and the next request opens a new connection and is answered
        assert c.get("Users", "1").status == 0  # hangs up again: each time a fresh connection


def test_a_slow_answer_is_a_timeout():
    def respond(_handler):
        time.sleep(1.0)
        return scim_json(None)

    with serving(respond) as (url, _), ScimClient(tenant_url=url, token="t", timeout=0.2) as c:
        result = c.get("Users", "1")
    assert result.error_code == TIMEOUT
    assert result.retryable


def test_a_token_with_a_non_ascii_character_is_sent_and_its_refusal_is_the_answer():
    """A token pasted with a stray character is the target's to refuse (401, the credentials
    were rejected), not an exception before anything is sent."""

    def respond(handler):
        return 401, {"Content-Type": "application/scim+json"}, b'{"status": "401"}'

    with serving(respond) as (url, recording), ScimClient(tenant_url=url, token="tök\u00e9n") as c:
        result = c.query("Users", "userName", "ada@example.com")
    assert result.status == 401
    assert result.error_code == UNAUTHORIZED
    assert result.fatal
    assert len(recording.requests) == 1
