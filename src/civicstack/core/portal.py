"""Portal tiles: each module registers the tiles it shows on the citizen portal's home page
(from its AppConfig.ready), so adding a module never means editing the portal."""

from dataclasses import dataclass

from django.utils.functional import Promise


@dataclass(frozen=True)
class PortalTile:
    key: str
    title: str | Promise
    description: str | Promise
    url: str | Promise
    icon: str = "grid"
    order: int = 100


_TILES: dict[str, PortalTile] = {}


def register_tile(tile: PortalTile) -> None:
    _TILES[tile.key] = tile


def portal_tiles() -> list[PortalTile]:
    return sorted(_TILES.values(), key=lambda tile: (tile.order, tile.key))
