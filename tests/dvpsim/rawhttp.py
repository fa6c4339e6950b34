"""Plain HTTP calls to dvpsim (for what the official client hides: headers, status bodies)."""

import http.client
import json
import urllib.parse
import uuid


def call(sim, method, path, body=None, token=None, headers=None, content_type="application/json", raw=False):
    """(status, response headers, decoded JSON body or bytes). `headers` values may be lists
    (sent as repeated headers, e.g. Impersonate-Group)."""
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    u = urllib.parse.urlsplit(sim.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.putrequest(method, path)
    if token is not False:
        conn.putheader("Authorization", f"Bearer {token or sim.token('admin')}")
    if data is not None:
        conn.putheader("Content-Type", content_type)
        conn.putheader("Content-Length", str(len(data)))
    for k, v in (headers or {}).items():
        for item in (v if isinstance(v, list) else [v]):
            conn.putheader(k, item)
    conn.endheaders(data)
    resp = conn.getresponse()
    status, hdrs, payload = resp.status, resp.headers, resp.read()
    conn.close()
    if raw:
        return status, hdrs, payload
    return status, hdrs, json.loads(payload) if payload else None


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def make_namespace(sim, prefix="t"):
    name = unique(prefix)
    status, _, body = call(sim, "POST", "/api/v1/namespaces", {"metadata": {"name": name}})
    assert status == 201, body
    return name
