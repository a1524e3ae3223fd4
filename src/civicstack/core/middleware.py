from django.http import HttpRequest, HttpResponse, JsonResponse

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
