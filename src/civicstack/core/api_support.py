"""What every module's API router shares: authentication, pagination and error schemas.

Authentication, in the order tried: a Django session (pages calling the API; CSRF checked on
unsafe methods), a bearer token from ``POST /api/v1/auth/token``, or a partner API key in the
``X-API-Key`` header (only on endpoints that accept one, checked against its scopes).
"""

import datetime
import math
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Schema
from ninja.pagination import PaginationBase
from ninja.security import APIKeyHeader, HttpBearer, SessionAuth
from pydantic import AfterValidator, Field

from . import services
from .errors import NotAuthenticated, PermissionDenied
from .models import ApiKey
from .selectors import StaffScope, staff_scope


class UserSession(SessionAuth):
    """Django session login; CSRF is checked on POST/PUT/PATCH/DELETE.

    Without a session cookie there is nothing to check: the request may carry a bearer token
    or key instead, and must not be refused for a missing CSRF token it never needed.
    """

    def _get_key(self, request: HttpRequest):
        if self.param_name not in request.COOKIES:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key):
        return request.user if key and request.user.is_authenticated else None


class UserToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        user = services.api_token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class PartnerKey(APIKeyHeader):
    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiKey | None:
        if not key:
            return None
        api_key = services.api_key_authenticate(key)
        if api_key is not None:
            request.api_key = api_key
        return api_key


USER_AUTH = [UserToken(), UserSession()]
USER_OR_PARTNER_AUTH = [UserToken(), PartnerKey(), UserSession()]


def require_user(request: HttpRequest):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        raise NotAuthenticated("log in or send a bearer token")
    return user


def require_staff(request: HttpRequest) -> StaffScope:
    scope = staff_scope(require_user(request))
    if not scope.is_staff:
        raise PermissionDenied("staff only")
    return scope


def require_scope(request: HttpRequest, scope: str) -> ApiKey | None:
    """For endpoints open to partner keys: a key must carry ``scope``; users pass through."""
    api_key = getattr(request, "api_key", None)
    if api_key is not None and scope not in api_key.scopes:
        raise PermissionDenied(f"this API key lacks the scope {scope}", details={"required_scope": scope})
    return api_key


def _plausible(value: datetime.datetime) -> datetime.datetime:
    # Years 1 and 9999 parse but overflow when converted to UTC on some engines.
    if not 1900 <= value.year <= 2999:
        raise ValueError("must be between the years 1900 and 2999")
    return value


PlausibleDateTime = Annotated[datetime.datetime, AfterValidator(_plausible)]


class ErrorBody(Schema):
    code: str
    message: str
    details: Any = None


class ErrorOut(Schema):
    error: ErrorBody


ERROR_RESPONSES = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class Pagination(PaginationBase):
    """Page-number pagination: ``?page=2&page_size=50`` (at most 200 a page)."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=1_000_000)
        page_size: int = Field(50, ge=1, le=200)

    class Output(Schema):
        items: list[Any]
        count: int
        page: int
        page_size: int
        pages: int

    def paginate_queryset(self, queryset, pagination: Input, request: HttpRequest, **params):
        offset = (pagination.page - 1) * pagination.page_size
        count = self._items_count(queryset)
        return {
            "items": list(queryset[offset : offset + pagination.page_size]),
            "count": count,
            "page": pagination.page,
            "page_size": pagination.page_size,
            "pages": math.ceil(count / pagination.page_size) if count else 0,
        }
