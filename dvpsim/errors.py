"""API errors, rendered as metav1.Status by the server.

Admission rules and controllers raise these; the HTTP layer turns them into
responses with the matching code and reason.
"""


class ApiError(Exception):
    code = 500
    reason = "InternalError"

    def __init__(self, message, *, causes=None, details=None, code=None, reason=None):
        super().__init__(message)
        self.message = message
        self.causes = list(causes or [])
        self.details = dict(details or {})
        if code is not None:
            self.code = code
        if reason is not None:
            self.reason = reason

    def status(self):
        """The metav1.Status body for this error."""
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        details = dict(self.details)
        if self.causes:
            details["causes"] = self.causes
        if details:
            body["details"] = details
        return body


def _details(kind, name):
    details = {}
    if name:
        details["name"] = name
    if kind is not None:
        if kind.group:
            details["group"] = kind.group
        details["kind"] = kind.plural
    return details


def _qualified(kind):
    return f"{kind.plural}.{kind.group}" if kind.group else kind.plural


class NotFound(ApiError):
    code = 404
    reason = "NotFound"

    @classmethod
    def of(cls, kind, name):
        return cls(f'{_qualified(kind)} "{name}" not found', details=_details(kind, name))


class AlreadyExists(ApiError):
    code = 409
    reason = "AlreadyExists"

    @classmethod
    def of(cls, kind, name):
        return cls(f'{_qualified(kind)} "{name}" already exists', details=_details(kind, name))


class Conflict(ApiError):
    code = 409
    reason = "Conflict"

    @classmethod
    def of(cls, kind, name, why="the object has been modified; please apply your changes to the latest version and try again"):
        return cls(f'Operation cannot be fulfilled on {_qualified(kind)} "{name}": {why}',
                   details=_details(kind, name))


class Invalid(ApiError):
    """422. causes: [{"field": "spec.x", "message": "...", "reason": "FieldValueInvalid"}]."""

    code = 422
    reason = "Invalid"

    def __init__(self, message=None, *, causes=None, kind=None, name=None, details=None):
        causes = [dict(c) for c in (causes or [])]
        for c in causes:
            c.setdefault("reason", "FieldValueInvalid")
        if message is None:
            summary = ", ".join(
                f"{c['field']}: {c['message']}" if c.get("field") else c.get("message", "")
                for c in causes) or "invalid"
            if kind is not None:
                message = f'{kind.kind}.{kind.group or "core"} "{name or ""}" is invalid: {summary}'
                if not kind.group:
                    message = f'{kind.kind} "{name or ""}" is invalid: {summary}'
            else:
                message = summary
        merged = _details(kind, name) if kind is not None else {}
        if kind is not None:
            merged["kind"] = kind.kind  # NewInvalid takes a GroupKind: kubectl prints 'The Service "x" is invalid'
        merged.update(details or {})
        super().__init__(message, causes=causes, details=merged)


class Forbidden(ApiError):
    code = 403
    reason = "Forbidden"


class BadRequest(ApiError):
    code = 400
    reason = "BadRequest"


class Unauthorized(ApiError):
    code = 401
    reason = "Unauthorized"

    def __init__(self, message="Unauthorized", **kw):
        super().__init__(message, **kw)


class MethodNotAllowed(ApiError):
    code = 405
    reason = "MethodNotAllowed"


class Gone(ApiError):
    code = 410
    reason = "Expired"


class UnsupportedMediaType(ApiError):
    code = 415
    reason = "UnsupportedMediaType"


class InternalError(ApiError):
    code = 500
    reason = "InternalError"
