"""Kubernetes API errors as typed exceptions, built from metav1.Status bodies."""
import json


class KubeError(Exception):
    status = 500
    reason = "InternalError"

    def __init__(self, message, *, status=None, reason=None, causes=None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if reason is not None:
            self.reason = reason
        self.causes = causes or []

    def summary(self, *, fields=False):
        """The API's causes in one line ("; "-joined, each "field: message" with `fields`), else the message."""
        parts = [f"{c.get('field')}: {c['message']}" if fields and c.get("field") else c["message"]
                 for c in self.causes if c.get("message")]
        return "; ".join(parts) or self.message


class NotFound(KubeError):
    status = 404
    reason = "NotFound"


class AlreadyExists(KubeError):
    status = 409
    reason = "AlreadyExists"


class Conflict(KubeError):
    status = 409
    reason = "Conflict"


class Forbidden(KubeError):
    status = 403
    reason = "Forbidden"


class Unauthorized(KubeError):
    status = 401
    reason = "Unauthorized"


class Invalid(KubeError):
    """422: `causes` is a list of {"field", "message", "reason"} as the API sent them."""

    status = 422
    reason = "Invalid"


class ModuleDisabled(KubeError):
    """The cluster does not serve the virtualization module's API: the module is disabled (its APIService is gone)
    or was never enabled (its kinds are absent). Not an answer of the API but what its discovery says."""

    status = 503
    reason = "ModuleDisabled"


class Unavailable(KubeError):
    """The API could not be reached, timed out, or answered 5xx."""

    status = 503
    reason = "ServiceUnavailable"


def from_status(http_status, body):
    """Build the right exception from an HTTP status and a (possibly non-JSON) body."""
    try:
        data = json.loads(body) if body else {}
    except (ValueError, TypeError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    message = data.get("message") or (body.decode(errors="replace") if isinstance(body, bytes) else str(body or ""))
    reason = data.get("reason") or ""
    causes = (data.get("details") or {}).get("causes") or []
    message = message.strip() or f"HTTP {http_status}"
    if http_status == 404:
        return NotFound(message, causes=causes)
    if http_status == 409:
        cls = AlreadyExists if reason == "AlreadyExists" else Conflict
        return cls(message, causes=causes)
    if http_status == 403:
        return Forbidden(message, causes=causes)
    if http_status == 401:
        return Unauthorized(message)
    if http_status == 422 or reason == "Invalid":
        return Invalid(message, causes=causes)
    if http_status >= 500 or http_status == 0:
        # The console answers 503 whatever the API's 5xx was: the failure is upstream, not ours.
        error = Unavailable(message, reason=reason or None)
        error.upstream_status = http_status
        return error
    return KubeError(message, status=http_status, reason=reason or None, causes=causes)
