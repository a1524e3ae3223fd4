"""The catalog in the national portal's (data.gov.tw) CSV export shape: export, and import
(create or update by 資料集識別碼, idempotent, all rows or none).

Multi-valued cells (檔案格式, 資料下載網址, 編碼格式) are joined with ";" as the portal does.
The file is written UTF-8 with a BOM, as the portal's own export is, so Excel opens it.
"""

import csv
import datetime
import io

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.text import slugify
from django.utils.translation import gettext as _

from civicstack.core.errors import InvalidInput
from civicstack.core.models import Agency, User

from . import parsing, quality, services
from .models import CATEGORIES, Dataset, License, Resource, UpdateFrequency

COLUMNS = [
    "資料集識別碼", "資料集名稱", "資料提供屬性", "服務分類", "品質檢測", "檔案格式", "資料下載網址", "編碼格式",
    "資料資源更新時間", "資料集描述", "主要欄位說明", "提供機關", "提供機關聯絡人姓名", "提供機關聯絡人電話",
    "更新頻率", "授權方式", "相關網址", "計費方式", "上架日期", "詮釋資料更新時間", "備註", "資料量",
]  # fmt: skip
QUALITY_LABELS = {5: "金標章", 4: "金標章", 3: "銀標章", 2: "銅標章"}


def _download_url(base: str, resource: Resource) -> str:
    return f"{base}/opendata/resource/{resource.id}/download" if resource.file else resource.url


def export_catalog(datasets, base: str) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for dataset in datasets.select_related("agency").prefetch_related("resources").order_by("name"):
        resources = list(dataset.resources.all())
        newest = max((r.last_modified for r in resources), default=dataset.metadata_modified)
        writer.writerow([
            dataset.name, dataset.title, "原始資料", dataset.category, QUALITY_LABELS.get(dataset.stars, "無標章"),
            ";".join(r.format for r in resources), ";".join(_download_url(base, r) for r in resources),
            ";".join((r.encoding or dataset.encoding) for r in resources),
            timezone.localtime(newest).strftime("%Y-%m-%d %H:%M:%S"), dataset.notes, dataset.field_description,
            dataset.agency.name_zh, dataset.contact_name, dataset.contact_phone,
            UpdateFrequency(dataset.update_frequency).label, License(dataset.license).label, dataset.related_url,
            Dataset.Fee(dataset.fee).label, dataset.published_on.isoformat() if dataset.published_on else "",
            timezone.localtime(dataset.metadata_modified).strftime("%Y-%m-%d %H:%M:%S"), dataset.remarks,
            str(sum(r.datastore_row_count for r in resources)),
        ])  # fmt: skip
    return out.getvalue()


def _by_label(choices, label: str, field: str, default: str) -> str:
    if not label:
        return default
    for value, text in choices:
        if label in (text, value):
            return value
    raise InvalidInput(_("Unknown %(field)s: %(value)s") % {"field": field, "value": label})


def import_catalog(*, actor: User | None, content: bytes, state: str = Dataset.State.PUBLIC) -> dict:
    """Create or update datasets from a national-portal CSV; download URLs become linked
    resources (not fetched). Any bad row stops the import and nothing is written."""
    text, _encoding = parsing.decode_text(content)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in ("資料集識別碼", "資料集名稱", "提供機關") if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(_("The CSV lacks the columns: %(columns)s") % {"columns": ", ".join(missing)})
    agencies = {agency.name_zh: agency for agency in Agency.objects.all()}
    created = updated = 0
    with transaction.atomic():
        for line, row in enumerate(reader, start=2):
            try:
                outcome = _import_row(actor=actor, row=row, agencies=agencies, state=state)
            except InvalidInput as exc:
                raise InvalidInput(
                    _("Line %(line)s: %(message)s") % {"line": line, "message": exc.message},
                    details={"line": line, **({"fields": exc.details} if exc.details else {})},
                ) from exc
            created += outcome == "created"
            updated += outcome == "updated"
    return {"created": created, "updated": updated}


def _import_row(*, actor, row: dict, agencies: dict, state: str) -> str:
    identifier = (row.get("資料集識別碼") or "").strip()
    name = slugify(identifier)
    if not name:
        raise InvalidInput(_("資料集識別碼 is empty or not usable as a URL name."))
    agency = agencies.get((row.get("提供機關") or "").strip())
    if agency is None:
        raise InvalidInput(_("Unknown agency %(name)s.") % {"name": row.get("提供機關")})
    category = (row.get("服務分類") or "公共資訊").strip()
    if category not in CATEGORIES:
        raise InvalidInput(_("Unknown 服務分類 %(value)s.") % {"value": category})
    published = (row.get("上架日期") or "").strip()
    published_on = parse_date(published[:10]) if published else None
    data = services.DatasetInput(
        title=(row.get("資料集名稱") or "").strip(), agency=agency, name=name, category=category,
        notes=row.get("資料集描述") or "", field_description=row.get("主要欄位說明") or "",
        update_frequency=_by_label(UpdateFrequency.choices, (row.get("更新頻率") or "").strip(), "更新頻率", "irregular"),
        license=_by_label(License.choices, (row.get("授權方式") or "").strip(), "授權方式", License.GOV_TW_OPEN_1),
        fee=_by_label(Dataset.Fee.choices, (row.get("計費方式") or "").strip(), "計費方式", "free"),
        contact_name=row.get("提供機關聯絡人姓名") or "", contact_phone=row.get("提供機關聯絡人電話") or "",
        published_on=published_on, encoding=((row.get("編碼格式") or "UTF-8").split(";")[0].strip() or "UTF-8")[:30],
        related_url=(row.get("相關網址") or "").strip(), remarks=row.get("備註") or "",
    )  # fmt: skip
    existing = Dataset.objects.filter(name=name).first()
    if existing is None:
        dataset = services.dataset_create(actor=actor, data=data, state=state)
        outcome = "created"
    else:
        dataset = services.dataset_update(actor=actor, dataset=existing, data=data)
        outcome = "updated"
    modified = parse_datetime((row.get("詮釋資料更新時間") or "").strip())
    if modified is not None:
        if timezone.is_naive(modified):
            modified = timezone.make_aware(modified)
        Dataset.objects.filter(pk=dataset.pk).update(metadata_modified=modified)
    urls = [u.strip() for u in (row.get("資料下載網址") or "").split(";") if u.strip()]
    formats = [f.strip() for f in (row.get("檔案格式") or "").split(";")]
    known = set(Resource.objects.filter(dataset=dataset).values_list("url", flat=True))
    for index, url in enumerate(urls):
        if url in known:
            continue
        declared = formats[index] if index < len(formats) else ""
        format = next((c.value for c in Resource.Format if c.value.lower() == declared.lower()), "")
        format = format or parsing.detect_format(url, b"")
        Resource.objects.create(
            dataset=dataset, position=index, name=f"{data.title} ({format})", format=format, url=url,
            mimetype=parsing.MIMETYPES.get(format, ""), last_modified=modified or timezone.now(),
            stars=quality.resource_stars(format=format, license=dataset.license),
        )  # fmt: skip
    services._refresh_stars(dataset)
    return outcome


def today() -> datetime.date:
    return timezone.localdate()
