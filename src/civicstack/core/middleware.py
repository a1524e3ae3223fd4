from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.datastructures import MultiValueDict

HTTP_ERROR_CODES = {
    400: "bad_request", 401: "not_authenticated", 403: "permission_denied", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
    422: "validation_error", 429: "too_many_requests", 500: "internal_error",
}  # fmt: skip


class ApiErrorEnvelopeMiddleware:
    """Under /api/, turn error responses that did not come from our handlers (Django's 405 for a
    wrong method, a CSRF rejection page, a 413 from the request parser...) into the envelope."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            status = response.status_code
            message = response.reason_phrase or "error"
            details = None
            if status == 405 and response.has_header("Allow"):
                details = {"allowed_methods": [m.strip() for m in response["Allow"].split(",")]}
                message = f"{request.method} is not allowed here"
            envelope = JsonResponse(
                {
                    "error": {
                        "code": HTTP_ERROR_CODES.get(status, "error"),
                        "message": message,
                        "details": details,
                    }
                },
                status=status,
            )
            if response.has_header("Allow"):
                envelope["Allow"] = response["Allow"]
            return envelope
        return response


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path:
        return True
    query: MultiValueDict = request.GET
    if any("\x00" in key or any("\x00" in value for value in query.getlist(key)) for key in query):
        return True
    if any("\x00" in value for value in request.headers.values()):
        return True
    if request.content_type == "application/json":
        body = request.body
        return b"\x00" in body or b"\\u0000" in body.lower()
    return False


class RejectNulCharactersMiddleware:
    """No text field of ours may hold a NUL character (PostgreSQL cannot store one in text, and
    nothing a person types contains it): API requests carrying one are refused up front with a
    400 envelope instead of failing deep inside a query. Django forms already reject NUL."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/") and _has_nul(request):
            return JsonResponse(
                {
                    "error": {
                        "code": "bad_request",
                        "message": "NUL characters are not allowed",
                        "details": None,
                    }
                },
                status=400,
            )
        return self.get_response(request)
