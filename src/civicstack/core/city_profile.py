"""City profiles: the districts, villages and agency tree of a city, as one JSON file.

``CIVICSTACK_CITY`` names a profile shipped in ``civicstack/profiles/`` (``taoyuan``) or gives
the path of another city's file. Loading is idempotent: it adds and updates, never deletes.
"""

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db import transaction

from .errors import InvalidInput
from .models import Agency, AgencyContact, District, Village
from .services import audit_record

PROFILES_DIR = Path(__file__).resolve().parent.parent / "profiles"
AGENCY_KINDS = set(Agency.Kind.values)


def profile_path(name_or_path: str | None = None) -> Path:
    name_or_path = name_or_path or settings.CIVICSTACK_CITY
    candidate = Path(name_or_path)
    if candidate.suffix == ".json":
        return candidate
    return PROFILES_DIR / f"{name_or_path}.json"


def read_profile(path: Path) -> dict:
    try:
        profile = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InvalidInput(f"city profile {path} not found") from exc
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"city profile {path}: invalid JSON at line {exc.lineno}: {exc.msg}") from exc
    validate_profile(profile)
    return profile


def validate_profile(profile: dict) -> None:
    """Every error at once, each naming the entry, so a city can fix its file in one pass."""
    errors: list[str] = []
    for key in ("code", "name_zh", "districts", "agencies"):
        if key not in profile:
            errors.append(f"missing top-level key {key!r}")
    if errors:
        raise InvalidInput("invalid city profile", details=errors)
    for key in ("districts", "agencies"):
        if not isinstance(profile[key], list):
            errors.append(f"{key} must be a list")
        else:
            errors.extend(
                f"{key}[{index}]: must be an object, not {type(entry).__name__}"
                for index, entry in enumerate(profile[key])
                if not isinstance(entry, dict)
            )
    for index, district in enumerate(profile["districts"] if isinstance(profile["districts"], list) else []):
        villages = district.get("villages", []) if isinstance(district, dict) else []
        if not isinstance(villages, list) or any(not isinstance(v, dict) for v in villages):
            errors.append(f"districts[{index}].villages must be a list of objects")
    if errors:
        raise InvalidInput("invalid city profile", details=errors)
    district_codes: set[str] = set()
    village_codes: set[str] = set()
    for index, district in enumerate(profile["districts"]):
        where = f"districts[{index}]"
        for key in ("code", "name_zh"):
            if not district.get(key):
                errors.append(f"{where}: missing {key}")
        if district.get("code") in district_codes:
            errors.append(f"{where}: duplicate district code {district.get('code')}")
        district_codes.add(district.get("code"))
        for v_index, village in enumerate(district.get("villages", [])):
            if not village.get("code") or not village.get("name_zh"):
                errors.append(f"{where}.villages[{v_index}]: missing code or name_zh")
            elif village["code"] in village_codes:
                errors.append(f"{where}.villages[{v_index}]: duplicate village code {village['code']}")
            village_codes.add(village.get("code"))
    agency_codes = [agency.get("code") for agency in profile["agencies"]]
    seen: set[str] = set()
    for index, agency in enumerate(profile["agencies"]):
        where = f"agencies[{index}] ({agency.get('code')})"
        for key in ("code", "name_zh", "kind"):
            if not agency.get(key):
                errors.append(f"{where}: missing {key}")
        if agency.get("code") in seen:
            errors.append(f"{where}: duplicate agency code")
        seen.add(agency.get("code"))
        if agency.get("kind") and agency["kind"] not in AGENCY_KINDS:
            errors.append(f"{where}: unknown kind {agency['kind']!r}")
        if agency.get("parent") and agency["parent"] not in agency_codes:
            errors.append(f"{where}: parent {agency['parent']} is not in the profile")
        if agency.get("district") and agency["district"] not in district_codes:
            errors.append(f"{where}: district {agency['district']} is not in the profile")
    if errors:
        raise InvalidInput("invalid city profile", details=errors)


_loaded_hooks: list = []


def register_profile_loaded_hook(hook) -> None:
    """A module whose reference data names agencies (e.g. which agency provides a card function)
    links it when the profile is loaded, in the same transaction. Called from AppConfig.ready()."""
    if hook not in _loaded_hooks:
        _loaded_hooks.append(hook)


@dataclass
class LoadSummary:
    districts: int
    villages: int
    agencies: int
    contacts: int


@transaction.atomic
def city_profile_load(*, path: Path | None = None) -> LoadSummary:
    profile = read_profile(path or profile_path())
    districts: dict[str, District] = {}
    village_count = 0
    for order, row in enumerate(profile["districts"]):
        district, _ = District.objects.update_or_create(
            code=row["code"],
            defaults={
                "name_zh": row["name_zh"], "name_en": row.get("name_en", ""),
                "postal_code": row.get("postal_code", ""),
                "indigenous_mountain": bool(row.get("indigenous_mountain")), "sort_order": order,
            },
        )  # fmt: skip
        districts[district.code] = district
        existing = dict(Village.objects.filter(district=district).values_list("code", "name_zh"))
        new = [
            Village(district=district, code=v["code"], name_zh=v["name_zh"])
            for v in row.get("villages", [])
            if v["code"] not in existing
        ]
        Village.objects.bulk_create(new)
        for village in row.get("villages", []):
            if village["code"] in existing and existing[village["code"]] != village["name_zh"]:
                Village.objects.filter(code=village["code"]).update(name_zh=village["name_zh"])
        village_count += len(row.get("villages", []))

    agencies: dict[str, Agency] = {}
    pending = list(profile["agencies"])
    contact_count = 0
    while pending:  # parents before children, whatever the file's order
        ready = [row for row in pending if not row.get("parent") or row["parent"] in agencies]
        if not ready:
            raise InvalidInput("agency tree has a cycle", details=[row["code"] for row in pending])
        for row in ready:
            agency, _ = Agency.objects.update_or_create(
                code=row["code"],
                defaults={
                    "name_zh": row["name_zh"], "name_en": row.get("name_en", ""), "kind": row["kind"],
                    "parent": agencies.get(row.get("parent")),
                    "district": districts.get(row.get("district")),
                    "phone": row.get("phone", ""), "address": row.get("address", ""),
                },
            )  # fmt: skip
            agencies[agency.code] = agency
            if "contacts" in row:
                AgencyContact.objects.filter(agency=agency).delete()
                AgencyContact.objects.bulk_create(
                    AgencyContact(
                        agency=agency,
                        unit=c.get("unit", ""),
                        title=c.get("title", ""),
                        name=c.get("name", ""),
                        phone=c.get("phone", ""),
                        fax=c.get("fax", ""),
                        sort_order=i,
                    )  # fmt: skip
                    for i, c in enumerate(row["contacts"])
                )
                contact_count += len(row["contacts"])
        pending = [row for row in pending if row["code"] not in agencies]
    summary = LoadSummary(len(districts), village_count, len(agencies), contact_count)
    for hook in _loaded_hooks:
        hook()
    audit_record(
        actor=None, action="city_profile.loaded", object_type="core.cityprofile", object_id=profile["code"],
        data=summary.__dict__,
    )  # fmt: skip
    return summary


def city_name(language: str = "zh") -> str:
    header = _profile_header(str(profile_path()))
    return header["name_en" if language == "en" else "name_zh"]


@lru_cache(maxsize=4)
def _profile_header(path: str) -> dict:
    # Read once per process: every page shows the city's name.
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        data = {}
    return {key: data.get(key, "") for key in ("code", "name_zh", "name_en")}
