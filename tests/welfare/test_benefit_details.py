"""The staff page of a benefit's details: supervisors of the agency change them (validated, audited,
seen at once by evaluation), clerks read them, other agencies do not see them; moving a benefit to
another agency needs the right there too."""

import pytest

from civicstack.core.errors import PermissionDenied
from civicstack.core.models import Agency, AuditEvent
from civicstack.eservices import services as eservices_services
from civicstack.welfare import selectors, services
from civicstack.welfare.models import Benefit

pytestmark = pytest.mark.django_db

URL = "/welfare/staff/benefits/T-SENIOR/details/"


def form_of(benefit: Benefit, **changes) -> dict:
    data = {
        "name": benefit.name, "agency": benefit.agency_id, "category": benefit.category, "summary": benefit.summary,
        "amount": "" if benefit.amount is None else benefit.amount, "amount_text": benefit.amount_text,
        "how_to_apply": benefit.how_to_apply, "eservices_item_code": benefit.eservices_item_code,
        "legal_basis": benefit.legal_basis, "is_active": "on" if benefit.is_active else "",
    }  # fmt: skip
    data.update(changes)
    return {name: value for name, value in data.items() if value != "" or name != "is_active"}


def test_supervisor_changes_the_details(client_for, catalog, bureau_staff, bureau):
    eservices_services.item_create(actor=None, data=eservices_services.ItemInput(
        agency=bureau, code="T-ELDER", name="敬老申請", category="welfare", time_limit_days=10))  # fmt: skip
    client = client_for(bureau_staff["welfare_supervisor"])
    page = client.get(URL).content.decode()
    assert 'name="name"' in page and "Save details" in page and 'value="重陽敬老禮金"' in page
    response = client.post(URL, form_of(catalog["senior"], name="重陽敬老禮金(新)", amount="1500",
                                        amount_text="每人1,500元", how_to_apply="向區公所申請",
                                        eservices_item_code="T-ELDER", legal_basis="桃園市重陽敬老禮金發放辦法",
                                        category="family"))  # fmt: skip
    assert response.status_code == 302 and response.url == URL
    benefit = Benefit.objects.get(code="T-SENIOR")
    assert (
        benefit.name,
        benefit.amount,
        benefit.amount_text,
        benefit.eservices_item_code,
        benefit.category,
    ) == ("重陽敬老禮金(新)", 1500, "每人1,500元", "T-ELDER", "family")
    event = AuditEvent.objects.get(action="welfare.benefit_updated")
    assert event.object_id == str(benefit.pk) and event.actor_username == "welfare_supervisor"
    assert event.data["fields"] == ["amount", "amount_text", "category", "eservices_item_code", "how_to_apply",
                                    "legal_basis", "name"]  # fmt: skip
    # evaluation reads the change at once (the cached catalog is dropped on save)
    assert selectors.catalog_on().benefits[benefit.pk].name == "重陽敬老禮金(新)"


def test_unchanged_form_writes_nothing(client_for, catalog, bureau_staff):
    client = client_for(bureau_staff["welfare_supervisor"])
    assert client.post(URL, form_of(catalog["senior"])).status_code == 302
    assert not AuditEvent.objects.filter(action="welfare.benefit_updated").exists()


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"name": ""}, "name", "This field is required."),
    ({"amount": "-5"}, "amount", "Ensure this value is greater than or equal to 0."),
    ({"amount": "", "amount_text": ""}, "amount_text", "Say what is given: an amount, a description, or both."),
    ({"eservices_item_code": "NO-SUCH"}, "eservices_item_code",
     "There is no active online application item with this code."),
    ({"category": "pets"}, "category", "Select a valid choice. pets is not one of the available choices."),
])  # fmt: skip
def test_validation_errors_are_shown_on_the_form(client_for, catalog, bureau_staff, changes, field, message):
    client = client_for(bureau_staff["welfare_supervisor"])
    response = client.post(URL, form_of(catalog["senior"], **changes))
    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    assert message.replace("'", "&#x27;") in response.content.decode()
    assert Benefit.objects.get(code="T-SENIOR").name == "重陽敬老禮金"


def test_hiding_a_benefit_takes_it_out_of_evaluation_but_not_out_of_the_staff_list(
    client_for, catalog, bureau_staff
):
    client = client_for(bureau_staff["welfare_supervisor"])
    assert client.post(URL, form_of(catalog["senior"], is_active="")).status_code == 302
    assert catalog["senior"].pk not in selectors.catalog_on().benefits
    assert "T-SENIOR" in client.get("/welfare/staff/").content.decode()
    assert client.get("/welfare/benefits/T-SENIOR/").status_code == 404
    assert client.post(URL, form_of(catalog["senior"], is_active="on")).status_code == 302
    assert catalog["senior"].pk in selectors.catalog_on().benefits


def test_clerks_read_and_may_not_save(client_for, catalog, bureau_staff):
    client = client_for(bureau_staff["welfare_clerk"])
    page = client.get(URL).content.decode()
    assert "Save details" not in page and "disabled" in page
    assert client.post(URL, form_of(catalog["senior"], name="x")).status_code == 403
    assert Benefit.objects.get(code="T-SENIOR").name == "重陽敬老禮金"


def test_other_agencies_and_citizens_do_not_see_it(client_for, catalog, bureau_staff, citizen):
    assert client_for(bureau_staff["supervisor_a"]).get(URL).status_code == 404
    assert client_for(bureau_staff["supervisor_a"]).post(URL, form_of(catalog["senior"])).status_code == 404
    assert client_for(citizen[0]).get(URL).status_code == 403


def test_moving_to_another_agency(client_for, catalog, bureau_staff, districts):
    office = Agency.objects.get(kind=Agency.Kind.DISTRICT_OFFICE, district=districts[0])
    # the bureau's supervisor may not choose an agency she does not act for
    response = client_for(bureau_staff["welfare_supervisor"]).post(
        URL, form_of(catalog["senior"], agency=office.pk)
    )
    assert response.status_code == 400 and "agency" in response.context["form"].errors
    with pytest.raises(PermissionDenied):
        services.benefit_update(
            actor=bureau_staff["welfare_supervisor"], benefit=catalog["senior"], agency=office
        )
    # a city administrator may
    response = client_for(bureau_staff["city_admin"]).post(URL, form_of(catalog["senior"], agency=office.pk))
    assert response.status_code == 302
    assert Benefit.objects.get(code="T-SENIOR").agency == office
    assert AuditEvent.objects.get(action="welfare.benefit_updated").data["from_agency"] == "TYC-L1-08"
    # and now the district office's supervisor edits it, the bureau's staff no longer see it
    assert client_for(bureau_staff["supervisor_a"]).get(URL).status_code == 200
    assert client_for(bureau_staff["welfare_supervisor"]).get(URL).status_code == 404
