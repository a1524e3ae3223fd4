"""Domain errors raised by services and selectors. The API turns each into the error envelope
``{"error": {"code", "message", "details"}}`` with the status below; pages show the message."""


class ServiceError(Exception):
    code = "invalid_request"
    status = 400

    def __init__(self, message: str, *, details=None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details
        if code:
            self.code = code


class InvalidInput(ServiceError):
    code = "invalid_input"
    status = 400


class NotAuthenticated(ServiceError):
    code = "not_authenticated"
    status = 401


class PermissionDenied(ServiceError):
    code = "permission_denied"
    status = 403


class NotFound(ServiceError):
    """Also used for records that exist but are not the caller's: the two must look the same."""

    code = "not_found"
    status = 404


class Conflict(ServiceError):
    code = "conflict"
    status = 409
