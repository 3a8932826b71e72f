"""A SCIM target that answers every request after a fixed delay: a stand-in for a SaaS across
the internet, for measuring how the provisioning engine's throughput grows with
``PROVISIONING_CONCURRENCY`` (``bench/bench_engine_latency.py``).

One asyncio process, HTTP/1.1 keep-alive, users and groups kept in memory: just enough of SCIM
for a provisioning cycle (matching ``eq`` filters, POST, GET by id, PATCH, DELETE), so that the
delay, not this server, is what a request costs. Run: ``python -m bench.latency_target PORT
DELAY_MS``; it prints ``ready`` once listening.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import uuid
from urllib.parse import parse_qs, unquote, urlsplit

LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
EQ = re.compile(r'^\s*(\S+)\s+eq\s+"(.*)"\s*$', re.IGNORECASE)
MATCH_ON = {"Users": "userName", "Groups": "displayName"}
REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 404: "Not Found"}


class Store:
    def __init__(self) -> None:
        self.resources: dict[str, dict[str, dict]] = {"Users": {}, "Groups": {}}
        self.by_key: dict[str, dict[str, str]] = {"Users": {}, "Groups": {}}

    def handle(self, method: str, target: str, body: bytes) -> tuple[int, object]:
        url = urlsplit(target)
        parts = [unquote(p) for p in url.path.split("/") if p]
        if "Users" in parts:
            kind = "Users"
        elif "Groups" in parts:
            kind = "Groups"
        else:
            return 404, _error(404, "Not found")
        resource_id = parts[-1] if parts[-1] != kind else None
        resources = self.resources[kind]
        if method == "GET" and resource_id is None:
            query = parse_qs(url.query)
            found = []
            match = EQ.match(query.get("filter", [""])[0])
            if match:
                key = self.by_key[kind].get(match.group(2).lower())
                found = [resources[key]] if key in resources else []
            return 200, {
                "schemas": [LIST],
                "totalResults": len(found),
                "startIndex": 1,
                "itemsPerPage": len(found),
                "Resources": found,
            }
        if method == "POST" and resource_id is None:
            payload = json.loads(body or b"{}")
            new_id = uuid.uuid4().hex
            payload["id"] = new_id
            resources[new_id] = payload
            key = str(payload.get(MATCH_ON[kind], "")).lower()
            self.by_key[kind][key] = new_id
            return 201, payload
        if resource_id not in resources:
            return 404, _error(404, f"Resource {resource_id} not found")
        if method == "GET":
            return 200, resources[resource_id]
        if method in ("PATCH", "PUT"):
            return 204, None
        if method == "DELETE":
            del resources[resource_id]
            return 204, None
        return 400, _error(400, f"{method} is not supported here")


def _error(status: int, detail: str) -> dict:
    return {"schemas": [ERROR], "status": str(status), "detail": detail}


async def serve(port: int, delay: float) -> None:
    store = Store()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, target, _ = line.decode("latin-1").split(" ", 2)
                length = 0
                while True:
                    header = await reader.readline()
                    if header in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = header.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                status, payload = store.handle(method, target, body)
                await asyncio.sleep(delay)
                data = b"" if payload is None else json.dumps(payload).encode()
                head = f"HTTP/1.1 {status} {REASONS[status]}\r\nContent-Length: {len(data)}\r\n"
                if data:
                    head += "Content-Type: application/scim+json\r\n"
                writer.write(head.encode() + b"\r\n" + data)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            return
        finally:
            writer.close()

    server = await asyncio.start_server(connection, "127.0.0.1", port, backlog=1024)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), int(sys.argv[2]) / 1000))
