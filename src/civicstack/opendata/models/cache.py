"""The API response cache's generation: one number that every write to the catalog or a
datastore table moves, in the same transaction as the write (see ``response_cache``)."""

from django.db import models


class CacheGeneration(models.Model):
    """A single row (id 1). Cached responses are keyed by its value, so a bump makes every
    cached response of every process unreachable at the write's commit."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"generation {self.value}"
