"""The public lookup's rate limit, shared by the API and the lookup page (one budget per address)."""

from django.http import HttpRequest
from ninja.throttling import AnonRateThrottle

LOOKUP_RATE = "30/m"


class LookupThrottle(AnonRateThrottle):
    """Per client address, logged in or not: the public lookup must not become a way to walk
    through case numbers or identifiers."""

    scope = "fines_lookup"

    def get_cache_key(self, request: HttpRequest) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def lookup_allowed(request: HttpRequest) -> bool:
    return LookupThrottle(LOOKUP_RATE).allow_request(request)
