"""Fines demo data: a catalog with real statutes and ~200 cases made through the services."""

import pytest

from civicstack.core import demo as core_demo
from civicstack.core.audit_chain import verify_chain
from civicstack.fines import demo, selectors
from civicstack.fines.models import BusinessItem, FineCase
from civicstack.payments.models import PaymentOrder


@pytest.fixture
def small_demo(db):
    core_demo.generate_people(count=500, seed=7)
    core_demo.ensure_demo_logins()
    return demo.generate(scale="small", seed=7)


def test_small_demo_makes_a_catalog_and_about_two_hundred_cases(small_demo):
    assert small_demo["cases_created"] == FineCase.objects.count() == demo.SCALES["small"]
    statutes = set(BusinessItem.objects.values_list("statute", flat=True))
    assert {"廢棄物清理法", "土地法", "食品安全衛生管理法", "戶籍法", "道路交通管理處罰條例"} <= statutes
    litter = BusinessItem.objects.get(code="EPA-LITTER")
    assert (litter.min_amount, litter.max_amount, litter.kind) == (1200, 6000, "fine")
    # every case has its order, every state appears, and the amounts lie within the item's range
    assert not FineCase.objects.filter(payment_order__isnull=True).exists()
    assert {"paid", "notified", "overdue", "cancelled"} <= set(
        FineCase.objects.values_list("state", flat=True)
    )
    for case in FineCase.objects.select_related("item", "payment_order"):
        assert case.item.min_amount <= case.amount <= case.item.max_amount
        if case.state == "paid":
            assert case.payment_order.state == PaymentOrder.State.PAID
    # issued over the last 14 months, so monthly statistics have something to show
    assert FineCase.objects.dates("created_at", "month").count() >= 10
    assert verify_chain().ok


def test_the_demo_citizen_has_a_case_to_pay_and_a_paid_one_and_no_extra_messages(small_demo):
    from civicstack.core.models import Notification

    cases = FineCase.objects.filter(payer_person__user__username="citizen")
    assert Notification.objects.filter(recipient__username="citizen").count() == 1  # the welcome
    assert sorted(cases.values_list("state", flat=True)) == ["issued", "paid"]


def test_the_demo_clerk_sees_their_offices_cases_only(small_demo):
    from civicstack.core.models import User

    clerk = User.objects.get(username="clerk")
    visible = selectors.cases_visible_to_staff(clerk)
    assert visible.exists()
    assert set(visible.values_list("agency_id", flat=True)) == {clerk.staff_roles.get().agency_id}


def test_generating_again_adds_nothing(small_demo):
    again = demo.generate(scale="small", seed=7)
    assert again["cases_created"] == 0 and again["items"] == small_demo["items"]


def test_seed_scale_catalog_has_52_agencies_and_332_items(db):
    items = demo.ensure_catalog(scale="seed")
    assert len(items) == 332
    assert len({item.agency_id for item in items}) == 52


def test_seed_bulk_cases_are_consistent(db):
    core_demo.generate_people(count=300, seed=3)
    items = demo.ensure_catalog(scale="seed")
    made = demo._generate_seed(count=1200, seed=3, items=items)
    assert made == FineCase.objects.count() == PaymentOrder.objects.count() == 1200
    for case in FineCase.objects.select_related("payment_order")[:300]:
        assert case.payment_order.source_id == str(case.pk) and case.payment_order.reference == case.number
        assert case.payment_order.state == demo.ORDER_STATE[case.state]
    # the sequence moved past the explicit ids: a case issued afterwards gets a fresh id
    from civicstack.fines import services

    new = services.case_issue(actor=None, data=services.CaseInput(
        item=items[0], payer_identifier="A123456789", payer_name="張三豐"))  # fmt: skip
    assert FineCase.objects.count() == 1201 and new.pk not in set(range(1, 1201))
