"""Live data of other platform modules offered to the catalog (services.register_internal_source).

Each export reads through the owning module's public read functions, never its tables.
"""

import csv
import io

from django.apps import apps

HEADER = [
    "停車場代號",
    "停車場名稱",
    "行政區",
    "地址",
    "總車位數",
    "剩餘車位數",
    "收費標準",
    "經度",
    "緯度",
    "資料時間",
]


def card_parking_lots_csv() -> bytes:
    """Public parking lots with their free spaces (the card module's "nearby" data)."""
    from civicstack.card.nearby import parking_lots

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for lot in parking_lots().select_related("district"):
        writer.writerow([
            lot.source_id, lot.name, lot.district.name_zh if lot.district else "", lot.address, lot.total_spaces,
            "" if lot.available_spaces is None else lot.available_spaces, lot.fee, lot.longitude, lot.latitude,
            lot.updated_at.isoformat(),
        ])  # fmt: skip
    return out.getvalue().encode("utf-8")


def register() -> None:
    from django.utils.translation import gettext_lazy as _

    from .services import register_internal_source

    if apps.is_installed("civicstack.card"):
        register_internal_source(
            "card.parking_lots", _("Public parking lots, live free spaces"), card_parking_lots_csv
        )
