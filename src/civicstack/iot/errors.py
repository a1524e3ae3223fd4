"""Errors of the iot module: each is a core ServiceError, so the API turns it into the envelope."""

from civicstack.core.errors import Conflict, InvalidInput


class InvalidStation(InvalidInput):
    code = "invalid_station"


class StationExists(Conflict):
    code = "station_exists"


class BatchTooLarge(InvalidInput):
    code = "batch_too_large"
