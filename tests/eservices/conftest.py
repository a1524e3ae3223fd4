"""Fixtures of the eservices tests: a district-office item that may be filed across districts
(transferred to the applicant's home office), a bureau item with a fee, and helpers for files."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import Image

from civicstack.core.models import Agency, StaffRole
from civicstack.core.services import staff_role_grant
from civicstack.eservices import demo, services
from civicstack.eservices.models import ServiceItem


def office_of(district, kind=Agency.Kind.DISTRICT_OFFICE) -> Agency:
    return Agency.objects.get(kind=kind, district=district)


def pdf_file(name="proof.pdf", size=None) -> SimpleUploadedFile:
    content = demo.blank_form_pdf("證明")
    if size is not None:
        content = content + b"0" * (size - len(content))
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def png_file(name="photo.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


GOOD_ANSWERS = {"applicant_name": "陳美玲", "phone": "0912345678", "purpose": "就學", "delivery": "臨櫃領取"}


def make_item(code, *, agency, office_kind="", cross=ServiceItem.CrossDistrict.NOT_ALLOWED, fee=0, days=5,
              attachment=True, name="育兒津貼申請"):  # fmt: skip
    item = services.item_create(actor=None, data=services.ItemInput(
        agency=agency, code=code, name=name, category="兒童及少年福利", time_limit_days=days, fee=fee,
        office_kind=office_kind, cross_district=cross, description=f"{name}之說明。"))  # fmt: skip
    schema, layout = demo.form_for(item, with_attachment=attachment)
    services.form_definition_create(actor=None, item=item, schema=schema, layout=layout)
    return item


@pytest.fixture(autouse=True)
def english(settings):
    """The assertions below read English messages; pages and the API default to zh-Hant."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def bureau():
    return Agency.objects.filter(kind=Agency.Kind.FIRST_LEVEL).order_by("code")[7]


@pytest.fixture
def transfer_item(db, bureau):
    return make_item("T-CHILD", agency=bureau, office_kind=Agency.Kind.DISTRICT_OFFICE,
                     cross=ServiceItem.CrossDistrict.RECEIVE_AND_TRANSFER)  # fmt: skip


@pytest.fixture
def fee_item(db, bureau):
    return make_item("T-FEE", agency=bureau, fee=100, attachment=False, name="道路挖掘許可申請")


@pytest.fixture
def bureau_clerk(make_user, bureau):
    user = make_user("fee_clerk")
    staff_role_grant(actor=None, user=user, agency=bureau, role=StaffRole.Role.CLERK)
    return user


@pytest.fixture
def submitted(citizen, transfer_item, districts):
    """The citizen (of district A) files the transfer item at district B's office."""
    user, _person = citizen

    def make(receiving=None, answers=None):
        application = services.application_draft_save(
            actor=user, item=transfer_item, answers=answers or GOOD_ANSWERS,
            files={"supporting_document": pdf_file()}, receiving_office=receiving or office_of(districts[1]),
        )  # fmt: skip
        return services.application_submit(actor=user, application=application)

    return make
