from .cache import CacheGeneration
from .catalog import (
    CATEGORIES,
    LICENSE_URLS,
    OPEN_LICENSES,
    Dataset,
    Group,
    License,
    Resource,
    ResourceUpdate,
    Tag,
    UpdateFrequency,
)  # fmt: skip
from .datastore import DatastoreRow, DatastoreValueCount, value_key
from .usage import UsageMonthly

__all__ = [
    "CATEGORIES", "LICENSE_URLS", "OPEN_LICENSES", "CacheGeneration", "DatastoreRow", "DatastoreValueCount", "Dataset", "Group", "License", "Resource",
    "ResourceUpdate", "Tag", "UpdateFrequency", "UsageMonthly", "value_key",
]  # fmt: skip
