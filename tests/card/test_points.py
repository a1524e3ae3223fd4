"""Bonus points: earning by rules, redeeming, expiry oldest-first, and the sealed log whose
receipts verify, and stop verifying when anything is altered."""

import datetime
import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from civicstack.card import services
from civicstack.card.models import CardFunction, PointsEntry, PointsSeal
from civicstack.core.errors import InvalidInput
from civicstack.payments.ledger import verify_ledger
from civicstack.payments.models import Account


def points_of(card):
    account = Account.objects.filter(code=services.purse_code(card.number, "POINT")).first()
    return account.balance if account else 0


def backdate(entry, day):
    at = timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))
    PointsEntry.objects.filter(pk=entry.pk).update(day=day, created_at=at)
    entry.refresh_from_db()
    from civicstack.card import merkle, points

    PointsEntry.objects.filter(pk=entry.pk).update(leaf=merkle.leaf_hash(points.leaf_data(entry)).hex())


@pytest.fixture
def card(make_person, issue_card):
    return issue_card(make_person())


def test_earn_and_redeem_with_idempotent_keys(card):
    services.points_earn(card=card, points=120, reason="運動中心 10 次", key="k-earn")
    services.points_earn(card=card, points=120, reason="運動中心 10 次", key="k-earn")  # a retry
    assert points_of(card) == 120
    services.points_redeem(card=card, points=100, reason="市民卡週年贈品", key="k-gift")
    services.points_redeem(card=card, points=100, reason="市民卡週年贈品", key="k-gift")
    assert points_of(card) == 20
    with pytest.raises(InvalidInput, match="Not enough"):
        services.points_redeem(card=card, points=21, reason="gift", key="k-gift-2")
    assert list(card.points_entries.values_list("delta", flat=True)) == [120, -100]
    assert verify_ledger().ok


def test_points_expire_oldest_first(card):
    today = datetime.date(2026, 11, 27)
    old = services.points_earn(card=card, points=300, reason="2024", key="e1")
    backdate(old, datetime.date(2024, 6, 1))
    services.points_earn(card=card, points=50, reason="2026", key="e2")
    services.points_redeem(card=card, points=200, reason="gift", key="r1")
    # 300 earned before 2025-01-01, 200 spent since: 100 of them expire; the 2026 points stay.
    assert services.points_expire(today=today) == {"cards": 1, "points": 100}
    assert points_of(card) == 50
    assert services.points_expire(today=today) == {"cards": 0, "points": 0}


def test_daily_earning_from_card_uses(card, db):
    services.rule_save(actor=None, code="sports-visits", name="運動中心回饋", kind="earn_points",
                       function=CardFunction.objects.get(code="bonus_points"),
                       params={"functions": ["sports_card"], "every": 1, "points": 2},
                       effective_from=datetime.date(2019, 1, 1))  # fmt: skip
    from civicstack.card.models import Reader, Tap
    from civicstack.core.models import Agency
    from civicstack.core.services import api_key_create

    _raw, key = api_key_create(actor=None, name="gym", partner="gym", agency=Agency.objects.get(code="TYC-L1-20"),
                               scopes=["card.taps:upload"], expires_at=timezone.now() + datetime.timedelta(days=9))  # fmt: skip
    reader = Reader.objects.create(code="gym-1", kind="sports_centre", api_key=key, functions=["sports_card"],
                                   operator_agency=key.agency)  # fmt: skip
    day = timezone.localdate()
    for i in range(3):
        Tap.objects.create(reader=reader, tap_id=str(i), card=card, card_number=card.number, function="sports_card",
                           tapped_at=timezone.now(), fare=0, status="accepted", batch="b", received_at=timezone.now())  # fmt: skip
    assert services.points_earn_for_day(day=day) == {"entries": 1, "points": 6}
    assert services.points_earn_for_day(day=day) == {"entries": 0, "points": 0}
    assert points_of(card) == 6


class TestSealedLog:
    @pytest.fixture
    def sealed(self, card, make_person, issue_card):
        other = issue_card(make_person())
        yesterday = timezone.localdate() - datetime.timedelta(days=1)
        entries = [
            services.points_earn(card=card if i % 2 else other, points=10 + i, reason=f"use {i}", key=f"s{i}")
            for i in range(7)
        ]
        for entry in entries:
            backdate(entry, yesterday)
        services.points_earn(card=card, points=1, reason="today", key="today")  # today's stays open
        seals = services.points_seal_days()
        assert [s.day for s in seals] == [yesterday] and seals[0].size == 7
        return entries

    def test_every_receipt_verifies_against_the_published_root(self, sealed):
        root = PointsSeal.objects.get().root
        for entry in sealed:
            receipt = services.points_receipt(entry)
            ok, message = services.points_verify_receipt(receipt, published_root=root)
            assert ok, message
        assert services.points_verify_seals() == []
        assert services.points_seal_days() == []  # nothing new to seal; today is not finished

    def test_an_altered_receipt_fails(self, sealed):
        receipt = services.points_receipt(sealed[3])
        receipt["entry"]["delta"] = 10_000
        assert services.points_verify_receipt(receipt)[0] is False
        forged_root = dict(services.points_receipt(sealed[3]), root="00" * 32)
        assert services.points_verify_receipt(forged_root)[0] is False
        assert (
            services.points_verify_receipt(services.points_receipt(sealed[3]), published_root="ab" * 32)[0]
            is False
        )

    def test_an_entry_altered_in_the_database_is_detected(self, sealed):
        PointsEntry.objects.filter(pk=sealed[2].pk).update(delta=999)
        problems = services.points_verify_seals()
        assert any(f"entry {sealed[2].pk}" in p for p in problems)

    def test_an_entry_removed_after_sealing_is_detected(self, sealed):
        PointsEntry.objects.filter(pk=sealed[5].pk).delete()
        assert any("no longer give the sealed root" in p for p in services.points_verify_seals())

    def test_the_command_checks_a_receipt_file(self, sealed, tmp_path, capsys):
        path = tmp_path / "receipt.json"
        path.write_text(json.dumps(services.points_receipt(sealed[0])), encoding="utf-8")
        call_command("card", "points-verify", "--receipt", str(path))
        assert "is in the sealed root" in capsys.readouterr().out
        receipt = json.loads(path.read_text())
        receipt["entry"]["reason"] = "altered"
        path.write_text(json.dumps(receipt), encoding="utf-8")
        with pytest.raises(SystemExit):
            call_command("card", "points-verify", "--receipt", str(path))


def test_a_replacement_carries_points_in_the_log(card):
    services.points_earn(card=card, points=40, reason="earned", key="c1")
    new = services.application_approve(
        actor=None, application=services.replacement_request(actor=None, card=card)
    )
    assert points_of(new) == 40 and points_of(card) == 0
    kinds = list(PointsEntry.objects.order_by("id").values_list("kind", "delta"))
    assert kinds == [("earn", 40), ("carry_out", -40), ("carry_in", 40)]


def test_an_entry_recorded_earlier_is_sealed_under_its_day_but_never_under_a_sealed_one(card):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    at = timezone.make_aware(datetime.datetime.combine(yesterday, datetime.time(2)))
    entry = services.points_earn(card=card, points=5, reason="補登", key="k-backfill", recorded_at=at)
    assert entry.day == yesterday
    (seal,) = services.points_seal_days()
    assert seal.day == yesterday and seal.size == 1
    with pytest.raises(InvalidInput, match="sealed"):
        services.points_earn(card=card, points=5, reason="補登", key="k-late", recorded_at=at)
    with pytest.raises(InvalidInput, match="future"):
        services.points_earn(card=card, points=5, reason="預登", key="k-future",
                             recorded_at=timezone.now() + datetime.timedelta(hours=1))  # fmt: skip
    assert points_of(card) == 5
