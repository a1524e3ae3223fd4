"""The one NinjaAPI of the platform. Each module's ``<module>/api.py`` exposes ``router``, mounted
at ``/api/v1/<module>/``; core also mounts ``auth_router`` at ``/api/v1/auth/``.

Every error leaves as ``{"error": {"code", "message", "details"}}`` (ARCHITECTURE.md).
"""

import importlib
import logging

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.apps import apps
from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError
from ninja.renderers import JSONRenderer

from civicstack.core.errors import ServiceError
from civicstack.core.middleware import HTTP_ERROR_CODES

logger = logging.getLogger("civicstack.api")


class Utf8JSONRenderer(JSONRenderer):
    """Chinese text as UTF-8 rather than \\u escapes: half the bytes, and readable in a terminal."""

    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    title="Civic Stack API",
    version="1",
    description=(
        "The API of every Civic Stack module. Authenticate with a session, a bearer token from "
        "`POST /api/v1/auth/token`, or a partner key in `X-API-Key`. Errors are "
        '`{"error": {"code", "message", "details"}}`; list endpoints take `page` and `page_size`.'
    ),
    urls_namespace="api",
    renderer=Utf8JSONRenderer(),
    # Swagger UI sets inline style attributes; everything else stays under the strict policy.
    docs_decorator=csp_update({"style-src": [UNSAFE_INLINE]}),
)


def error_response(status: int, code: str, message: str, details=None) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": code, "message": message, "details": details}},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


@api.exception_handler(ServiceError)
def _service_error(request: HttpRequest, exc: ServiceError):
    return error_response(exc.status, exc.code, exc.message, exc.details)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError):
    # Keep only the JSON-safe parts of pydantic's errors (its ctx may hold exception objects).
    details = [
        {"loc": list(error.get("loc", [])), "msg": error.get("msg", ""), "type": error.get("type", "")}
        for error in exc.errors
    ]
    return error_response(422, "validation_error", "the request is not valid", details)


@api.exception_handler(AuthenticationError)
def _authentication_error(request: HttpRequest, exc: AuthenticationError):
    return error_response(401, "not_authenticated", "log in, or send a valid bearer token or API key")


@api.exception_handler(AuthorizationError)
def _authorization_error(request: HttpRequest, exc: AuthorizationError):
    return error_response(403, "permission_denied", str(exc) or "not allowed")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError):
    status = exc.status_code
    return error_response(status, HTTP_ERROR_CODES.get(status, "error"), str(exc))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404):
    return error_response(404, "not_found", "not found")


@api.exception_handler(DjangoPermissionDenied)
def _django_permission_denied(request: HttpRequest, exc: DjangoPermissionDenied):
    return error_response(403, "permission_denied", str(exc) or "not allowed")


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception):
    logger.exception("unhandled API error on %s %s", request.method, request.path)
    if settings.DEBUG:
        raise exc
    return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")


def _mount_module_routers() -> None:
    core_api = importlib.import_module("civicstack.core.api")
    api.add_router("/v1/auth/", core_api.auth_router)
    for config in apps.get_app_configs():
        if not config.name.startswith("civicstack."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.api")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.api":
                raise
            continue
        api.add_router(f"/v1/{config.label}/", module.router)


_mount_module_routers()
