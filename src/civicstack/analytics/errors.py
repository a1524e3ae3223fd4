"""Errors of the analytics module: each is a core ServiceError, so the API turns it into the envelope."""

from civicstack.core.errors import InvalidInput, ServiceError


class ChartInvalid(InvalidInput):
    """A chart or dataset definition that does not validate; ``details`` says which part and why."""

    code = "chart_invalid"


class QueryFailed(InvalidInput):
    code = "query_failed"


class QuotaExceeded(ServiceError):
    code = "quota_exceeded"
    status = 429
