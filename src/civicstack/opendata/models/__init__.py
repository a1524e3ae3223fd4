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
from .datastore import DatastoreRow
from .usage import UsageMonthly

__all__ = [
    "CATEGORIES", "LICENSE_URLS", "OPEN_LICENSES", "CacheGeneration", "DatastoreRow", "Dataset", "Group", "License", "Resource",
    "ResourceUpdate", "Tag", "UpdateFrequency", "UsageMonthly",
]  # fmt: skip
