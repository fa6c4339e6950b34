"""Log records as one JSON object per line, each carrying the id of the request it belongs to.

The request id is the proxy's X-Request-ID (ingress-nginx sets one) or a fresh one; it is kept in a
context variable for the request or WebSocket (portal.middleware sets it), so any log line written
while serving it, the audit lines included, can be joined with the proxy's access log.
"""
import contextvars
import json
import logging
import re
import time
import uuid
from datetime import datetime, timezone

request_id_var = contextvars.ContextVar("request_id", default="-")
# One line per HTTP request and per WebSocket (the image runs Daphne without its own text access log).
access_log = logging.getLogger("dvp.access")

# A proxy's id is taken only if it looks like one (no spaces or quotes to forge log fields with).
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_from(header_value):
    """The id to use for a request whose X-Request-ID header is `header_value` (may be empty)."""
    if header_value and VALID_REQUEST_ID.match(header_value):
        return header_value
    return uuid.uuid4().hex


def current_request_id():
    return request_id_var.get()


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        if not hasattr(record, "request_id"):
            # Django logs a failed request (django.request) after the middleware is done, with the request.
            record.request_id = getattr(getattr(record, "request", None), "id", None) or request_id_var.get()
        return True


# Attributes every LogRecord has; anything else was passed in `extra=` and goes into the JSON line.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    def format(self, record):
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id_var.get()),
        }
        line.update({key: value for key, value in vars(record).items() if key not in _STANDARD})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class RequestIdMiddleware:
    """Give the request an id (the proxy's X-Request-ID, else a new one) for every log line written while
    serving it, and send it back in X-Request-ID."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.id = request_id_from(request.headers.get("X-Request-ID"))
        token = request_id_var.set(request.id)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            access_log.info("%s %s %s", request.method, request.path, response.status_code, extra={
                "method": request.method, "path": request.path, "status": response.status_code,
                "duration_ms": round((time.monotonic() - started) * 1000, 1)})
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request.id
        return response


class RequestIdWebSockets:
    """ASGI middleware: the same for a WebSocket, for as long as it is open (scope["request_id"])."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.application(scope, receive, send)
        header = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        scope = dict(scope, request_id=request_id_from(header))
        token = request_id_var.set(scope["request_id"])
        started = time.monotonic()
        try:
            return await self.application(scope, receive, send)
        finally:
            access_log.info("WEBSOCKET %s closed", scope["path"], extra={
                "method": "WEBSOCKET", "path": scope["path"], "duration_ms": round((time.monotonic() - started) * 1000, 1)})
            request_id_var.reset(token)
