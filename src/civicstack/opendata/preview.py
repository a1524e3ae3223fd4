"""Server-rendered previews of a datastore table: a bar chart and, for geodata, a map, as SVG
coordinates computed here (no script, no tiles fetched from anywhere; the strict CSP holds)."""

import math

from .models import Resource

WIDTH, HEIGHT = 640, 360
CHART_BARS = 20
GEO_FIELDS = {"lon", "lat", "lng", "longitude", "latitude", "經度", "緯度", "x", "y"}


def chart(resource: Resource, rows: list[dict]) -> dict | None:
    """Bars of the first numeric field against the first text field, for the first rows."""
    fields = resource.datastore_fields
    label = next((f["id"] for f in fields if f["type"] == "text"), None)
    value = next(
        (f["id"] for f in fields if f["type"] in ("int", "numeric") and f["id"].lower() not in GEO_FIELDS),
        None,
    )
    if value is None:
        return None
    points = [
        (str(row.get(label, row.get("_id"))) if label else str(row["_id"]), row.get(value)) for row in rows
    ]
    points = [(name, number) for name, number in points if isinstance(number, (int, float))][:CHART_BARS]
    if not points:
        return None
    top = max(max(number for _, number in points), 0) or 1
    bottom = min(min(number for _, number in points), 0)
    span = (top - bottom) or 1
    slot = (WIDTH - 40) / len(points)
    zero_y = 20 + (HEIGHT - 80) * top / span
    bars = []
    for index, (name, number) in enumerate(points):
        height = (HEIGHT - 80) * abs(number) / span
        y = zero_y - height if number >= 0 else zero_y
        bars.append({
            "x": round(30 + index * slot + slot * 0.1, 1), "y": round(y, 1), "width": round(slot * 0.8, 1),
            "height": round(max(height, 0.5), 1), "label": name[:12], "value": number,
            "label_x": round(30 + index * slot + slot / 2, 1),
        })  # fmt: skip
    return {
        "label_field": label or "_id", "value_field": value, "bars": bars, "width": WIDTH, "height": HEIGHT,
        "zero_y": round(zero_y, 1), "label_y": HEIGHT - 40, "max": top,
    }  # fmt: skip


def _positions(geometry: dict):
    kind, coordinates = geometry.get("type"), geometry.get("coordinates") or []
    if kind == "Point":
        return "point", [coordinates[:2]]
    if kind in ("LineString", "MultiPoint"):
        return ("line" if kind == "LineString" else "points"), [c[:2] for c in coordinates]
    if kind == "Polygon" and coordinates:
        return "polygon", [c[:2] for c in coordinates[0]]
    if kind == "MultiPolygon" and coordinates and coordinates[0]:
        return "polygon", [c[:2] for c in coordinates[0][0]]
    return None, []


LON_FIELDS = ("lon", "lng", "longitude", "經度", "x")
LAT_FIELDS = ("lat", "latitude", "緯度", "y")
MAX_POINTS = 2_000


def _geometries(resource: Resource) -> list[dict]:
    """The resource's own geometries (GeoJSON, KML), else points from a pair of coordinate
    columns of its table (a CSV of places with 經度/緯度 gets a map too)."""
    if resource.geometry_preview:
        return resource.geometry_preview
    if not resource.datastore_active:
        return []
    numeric = {f["id"].lower(): f["id"] for f in resource.datastore_fields if f["type"] in ("int", "numeric")}
    lon = next((numeric[name] for name in LON_FIELDS if name in numeric), None)
    lat = next((numeric[name] for name in LAT_FIELDS if name in numeric), None)
    if lon is None or lat is None:
        return []
    from .models import DatastoreRow

    rows = DatastoreRow.objects.filter(resource=resource).order_by("row_id").values_list("data", flat=True)
    points = []
    for data in rows[:MAX_POINTS]:
        x, y = data.get(lon), data.get(lat)
        if (
            isinstance(x, (int, float))
            and isinstance(y, (int, float))
            and -180 <= x <= 180
            and -90 <= y <= 90
        ):
            points.append({"type": "Point", "coordinates": [x, y]})
    return points


def map_preview(resource: Resource) -> dict | None:
    """Geometries projected into an SVG box (equirectangular, scaled by cos(latitude))."""
    shapes = []
    for geometry in _geometries(resource):
        kind, positions = _positions(geometry)
        positions = [p for p in positions if len(p) == 2 and all(isinstance(c, (int, float)) for c in p)]
        if kind and positions:
            shapes.append((kind, positions))
    if not shapes:
        return None
    lons = [p[0] for _, ps in shapes for p in ps]
    lats = [p[1] for _, ps in shapes for p in ps]
    west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    x_scale = math.cos(math.radians((south + north) / 2))
    width = max((east - west) * x_scale, 1e-6)
    height = max(north - south, 1e-6)
    scale = min((WIDTH - 40) / width, (HEIGHT - 40) / height)

    def project(p):
        return round(20 + (p[0] - west) * x_scale * scale, 1), round(HEIGHT - 20 - (p[1] - south) * scale, 1)

    points, paths = [], []
    for kind, positions in shapes:
        projected = [project(p) for p in positions]
        if kind in ("point", "points"):
            points.extend({"x": x, "y": y} for x, y in projected)
        else:
            paths.append({"closed": kind == "polygon", "points": " ".join(f"{x},{y}" for x, y in projected)})
    return {
        "points": points, "paths": paths, "width": WIDTH, "height": HEIGHT,
        "bounds": [round(west, 4), round(south, 4), round(east, 4), round(north, 4)],
    }  # fmt: skip
