from .alerts import AlertEpisode
from .readings import IngestTally, QuarantinedReading, Reading, Rollup
from .registry import Sensor, Station

__all__ = ["AlertEpisode", "IngestTally", "QuarantinedReading", "Reading", "Rollup", "Sensor", "Station"]
