"""Readers upload taps in batches: pricing by the rules, purses on the ledger, replays, refusals,
welfare points granted monthly and lapsing, and (on PostgreSQL) concurrent batches for one card."""

import datetime
import multiprocessing
import time
import zoneinfo

import pytest
from django.db import connection, connections
from django.db.models import Sum
from django.utils import timezone

from civicstack.card import services
from civicstack.card.models import Card, CardFunction, CardPartner, Tap
from civicstack.card.settlement import TapIn
from civicstack.core import services as core_services
from civicstack.core.errors import InvalidInput
from civicstack.core.models import Agency, District
from civicstack.payments.ledger import verify_ledger
from civicstack.payments.models import Account

TPE = zoneinfo.ZoneInfo("Asia/Taipei")
ISSUED = datetime.datetime(2026, 1, 2, 9, 0, tzinfo=TPE)


def balance(card, unit="TWD"):
    account = Account.objects.filter(code=services.purse_code(card.number, unit)).first()
    return account.balance if account else 0


@pytest.fixture
def bus_company(db):
    return services.partner_create(
        actor=None, code="demo-bus", name="示範客運", kind=CardPartner.Kind.TRANSIT
    )


@pytest.fixture
def upload_key(bus_company):
    _raw, key = core_services.api_key_create(
        actor=None, name="validators", partner=bus_company.name, agency=Agency.objects.get(code="TYC-L1-07"),
        scopes=["card.taps:upload"], expires_at=timezone.now() + datetime.timedelta(days=365),
    )  # fmt: skip
    return key


@pytest.fixture
def bus_reader(upload_key, bus_company):
    return services.reader_register(
        actor=None, code="bus-5001-a", kind="bus", api_key=upload_key, functions=["bus_bogo", "love_taxi"],
        operator_partner=bus_company, location="5001 桃園—中壢",
    )  # fmt: skip


@pytest.fixture
def rules(db):
    def function(code):
        return CardFunction.objects.get(code=code)

    start = datetime.date(2015, 1, 1)
    services.rule_save(actor=None, code="bus-bogo", name="市內客運買一送一", kind="nth_use_free",
                       function=function("bus_bogo"), params={"every": 2}, effective_from=start)  # fmt: skip
    services.rule_save(actor=None, code="welfare-bus", name="敬老愛心點數搭公車", kind="pay_with_points",
                       function=function("bus_bogo"), card_kinds=["senior", "disability"], params={},
                       effective_from=start)  # fmt: skip
    services.rule_save(actor=None, code="welfare-month", name="敬老愛心點數每月", kind="monthly_points",
                       function=function("welfare_points"), card_kinds=["senior", "disability"],
                       params={"points": 800, "district_points": {"68000130": 1000}}, effective_from=start)  # fmt: skip


@pytest.fixture
def funded(issue_card, make_person):
    def make(amount=100, kind="general", **person):
        card = issue_card(make_person(**person), kind)
        Card.objects.filter(pk=card.pk).update(issued_at=ISSUED)  # issued before the rides below
        card.refresh_from_db()
        if amount:
            services.wallet_top_up(actor=None, card=card, amount=amount, channel="counter",
                                   idempotency_key=f"t-{card.number}")  # fmt: skip
        return card

    return make


def tap(card, tap_id, when, fare=18, function="bus_bogo", reader="bus-5001-a"):
    return TapIn(
        reader=reader, tap_id=tap_id, card_number=card.number, tapped_at=when, fare=fare, function=function
    )


def settle(upload_key, *taps):
    return services.taps_settle(api_key=upload_key, taps=list(taps))


MORNING = datetime.datetime(2026, 11, 20, 8, 0, tzinfo=TPE)


@pytest.mark.usefixtures("bus_reader", "rules")
class TestBatch:
    def test_rides_are_charged_by_the_rules_and_recorded(self, funded, upload_key):
        card = funded(100)
        results = settle(
            upload_key, tap(card, "1", MORNING), tap(card, "2", MORNING + datetime.timedelta(hours=9))
        )
        assert [(r.status, r.from_value) for r in results] == [("accepted", 18), ("accepted", 0)]
        assert results[1].rules[0]["rule"] == "bus-bogo"
        assert balance(card) == 82
        stored = Tap.objects.get(tap_id="2")
        assert stored.rules[0]["kind"] == "nth_use_free" and stored.card == card
        assert verify_ledger().ok

    def test_a_batch_posts_one_short_keyed_transfer_a_purse_with_the_batch_as_reference(
        self, funded, upload_key
    ):
        from civicstack.payments.models import Transfer

        one, two = funded(100), funded(100)
        settle(
            upload_key,
            tap(one, "1", MORNING),
            tap(two, "2", MORNING),
            tap(one, "3", MORNING + datetime.timedelta(hours=1)),
        )
        batch = Tap.objects.get(tap_id="1").batch
        posted = Transfer.objects.filter(reference=batch).select_related("debit_account", "credit_account")
        assert sorted((t.debit_account.code, t.amount) for t in posted) == sorted(
            [(services.purse_code(one.number, "TWD"), 18), (services.purse_code(two.number, "TWD"), 18)]
        )
        assert all(
            t.memo == "card uses" and t.credit_account.code.startswith("operator:partner:demo-bus:TWD:")
            for t in posted
        )
        keys = [t.idempotency_key for t in posted]
        assert len(set(keys)) == 2 and all(k.startswith(f"taps:{batch}:") and len(k) == 54 for k in keys)
        # The operator accounts exist after the first batch: the next one finds them and posts.
        settle(upload_key, tap(two, "4", MORNING + datetime.timedelta(hours=2)))
        assert balance(two) == 100 - 18 and verify_ledger().ok  # the second ride of the day is free

    def test_replaying_a_batch_changes_nothing(self, funded, upload_key):
        card = funded(100)
        batch = [tap(card, str(i), MORNING + datetime.timedelta(hours=i)) for i in range(3)]
        first = settle(upload_key, *batch)
        again = settle(upload_key, *batch)
        assert [r.from_value for r in first] == [r.from_value for r in again] == [18, 0, 18]
        assert all(r.duplicate for r in again) and not any(r.duplicate for r in first)
        assert balance(card) == 64 and Tap.objects.count() == 3

    def test_a_replay_answers_exactly_what_the_first_upload_did(self, funded, upload_key):
        card, lost = funded(100), funded(100)
        services.card_report_lost(actor=None, card=lost, lost_at=MORNING)
        batch = [tap(card, "r1", MORNING), tap(card, "r2", MORNING + datetime.timedelta(hours=1)),
                 tap(lost, "r3", MORNING + datetime.timedelta(hours=1)),
                 tap(card, "r4", MORNING + datetime.timedelta(hours=2), fare=500)]  # fmt: skip
        first = settle(upload_key, *batch)
        again = settle(upload_key, *batch)
        fields = (
            "reader",
            "tap_id",
            "status",
            "reason",
            "from_value",
            "from_points",
            "rules",
            "flagged",
            "autoloaded",
        )
        assert [[getattr(r, f) for f in fields] for r in again] == [
            [getattr(r, f) for f in fields] for r in first
        ]
        assert [r.reason for r in first] == ["", "", "blocked_card", "insufficient_funds"]
        assert again[1].rules == [{"rule": "bus-bogo", "kind": "nth_use_free", "before": 18, "after": 0}]
        assert again[2].flagged and all(r.duplicate for r in again)

    def test_tap_ids_and_numbers_as_readers_send_them_are_stored_as_sent(self, funded, upload_key):
        card = funded(100)
        odd = ["tab\there", "back\\slash\\N", "new\nline\r", "unit\x1fsep", "引號\"'"]
        batch = [tap(card, tap_id, MORNING + datetime.timedelta(days=i)) for i, tap_id in enumerate(odd)]
        batch.append(TapIn("bus-5001-a", "bad-number", "6800\t1\\x", MORNING, 18, "bus_bogo"))
        first = settle(upload_key, *batch)
        assert [r.status for r in first] == ["accepted"] * 5 + ["rejected"]
        assert first[-1].reason == "unknown_card"
        assert sorted(Tap.objects.values_list("tap_id", flat=True)) == sorted([*odd, "bad-number"])
        assert Tap.objects.get(tap_id="bad-number").card_number == "68001\\x"  # blanks dropped, nothing else
        again = settle(upload_key, *batch)
        assert all(r.duplicate for r in again) and Tap.objects.count() == 6
        assert balance(card) == 100 - 5 * 18

    def test_a_number_that_fails_the_check_digit_is_an_unknown_card(self, funded, upload_key):
        card = funded(100)
        wrong = card.number[:-1] + str((int(card.number[-1]) + 1) % 10)
        result = settle(upload_key, TapIn("bus-5001-a", "w", wrong, MORNING, 18, "bus_bogo"))[0]
        assert (result.status, result.reason) == ("rejected", "unknown_card")
        assert balance(card) == 100

    def test_a_duplicate_inside_a_batch_is_refused(self, funded, upload_key):
        card = funded(100)
        results = settle(upload_key, tap(card, "x", MORNING), tap(card, "x", MORNING))
        assert [r.reason for r in results] == ["", "duplicate"]
        assert balance(card) == 82

    def test_refusals(self, funded, upload_key, issue_card, make_person):
        poor = funded(10)
        student_fare = tap(funded(100), "nf", MORNING, function="student_fare")
        unknown = TapIn("bus-5001-a", "uk", "6800100000000000", MORNING, 18, "bus_bogo")
        results = settle(upload_key, tap(poor, "p", MORNING), student_fare, unknown)
        assert [r.reason for r in results] == ["insufficient_funds", "unknown_function", "unknown_card"]
        assert balance(poor) == 10

    def test_a_function_the_card_kind_may_not_hold(self, funded, upload_key):
        card = funded(100)  # a general card
        result = settle(upload_key, tap(card, "t", MORNING, fare=100, function="love_taxi"))[0]
        assert result.reason == "not_entitled"

    def test_a_lost_card_is_refused_and_flagged_after_the_loss_but_not_before(self, funded, upload_key):
        card = funded(100)
        services.card_report_lost(actor=None, card=card, lost_at=MORNING + datetime.timedelta(hours=1))
        before, after = settle(
            upload_key, tap(card, "b", MORNING), tap(card, "a", MORNING + datetime.timedelta(hours=2))
        )
        assert (before.status, after.status, after.reason, after.flagged) == (
            "accepted",
            "rejected",
            "blocked_card",
            True,
        )
        assert Tap.objects.filter(flagged=True).count() == 1

    def test_an_unknown_or_foreign_reader_is_refused(self, funded, upload_key, bus_company):
        card = funded(100)
        _raw, other_key = core_services.api_key_create(
            actor=None, name="other", partner="x", agency=Agency.objects.get(code="TYC-L1-07"),
            scopes=["card.taps:upload"], expires_at=timezone.now() + datetime.timedelta(days=1),
        )  # fmt: skip
        assert settle(other_key, tap(card, "1", MORNING))[0].reason == "unknown_reader"
        assert settle(upload_key, tap(card, "1", MORNING, reader="nope"))[0].reason == "unknown_reader"
        assert balance(card) == 100

    def test_batches_are_limited(self, funded, upload_key):
        card = funded(0)
        with pytest.raises(InvalidInput):
            settle(upload_key, *[tap(card, str(i), MORNING) for i in range(5001)])


@pytest.mark.usefixtures("bus_reader", "rules")
class TestWelfarePoints:
    def test_points_pay_first_and_the_rest_comes_from_stored_value(self, funded, upload_key):
        senior = funded(50, "senior", birth_date=datetime.date(1950, 1, 1))
        services.welfare_points_month(month=datetime.date(2026, 11, 1))
        assert balance(senior, "WELFARE") == 800
        rides = [
            tap(senior, "s1", MORNING, fare=790),  # 790 points
            tap(
                senior, "s2", MORNING + datetime.timedelta(hours=1), fare=790
            ),  # second ride of the day: free
            tap(senior, "s3", MORNING + datetime.timedelta(hours=2), fare=30),  # 10 points left, 20 NT$
        ]
        results = settle(upload_key, *rides)
        assert [(r.from_points, r.from_value) for r in results] == [(790, 0), (0, 0), (10, 20)]
        assert (balance(senior, "WELFARE"), balance(senior)) == (0, 30)
        assert [a["kind"] for a in results[2].rules] == ["pay_with_points"]
        assert verify_ledger().ok

    def test_month_end_lapse_and_the_mountain_district_allowance(self, funded, upload_key):
        plain = funded(0, "senior", birth_date=datetime.date(1950, 1, 1))
        mountain = funded(0, "senior", birth_date=datetime.date(1950, 1, 1),
                          district=District.objects.get(code="68000130"))  # fmt: skip
        first = services.welfare_points_month(month=datetime.date(2026, 10, 1))
        assert (balance(plain, "WELFARE"), balance(mountain, "WELFARE")) == (800, 1000)
        settle(upload_key, tap(plain, "r1", datetime.datetime(2026, 10, 5, 9, tzinfo=TPE), fare=300))
        second = services.welfare_points_month(month=datetime.date(2026, 11, 1))
        assert (balance(plain, "WELFARE"), balance(mountain, "WELFARE")) == (800, 1000)  # unused lapsed
        assert second["points_lapsed"] == 500 + 1000 and first["granted"] == 2
        assert services.welfare_points_month(month=datetime.date(2026, 11, 1))["granted"] == 0  # once a month
        assert verify_ledger().ok


def test_a_top_up_is_idempotent_and_capped(funded):
    card = funded(0)
    for _ in range(2):
        services.wallet_top_up(actor=None, card=card, amount=500, channel="counter", idempotency_key="k1")
    assert balance(card) == 500
    with pytest.raises(InvalidInput):
        services.wallet_top_up(actor=None, card=card, amount=9600, channel="counter", idempotency_key="k2")


# --- concurrency ------------------------------------------------------------------------------

FORK = multiprocessing.get_context("fork")


def _upload(key_pk, card_number, worker, barrier, queue):
    from civicstack.core.models import ApiKey

    try:
        key = ApiKey.objects.get(pk=key_pk)
        taps = [
            TapIn(
                "bus-5001-a",
                f"w{worker}-{i}",
                card_number,
                MORNING + datetime.timedelta(minutes=worker * 100 + i),
                30,
                "bus_bogo",
            )  # fmt: skip
            for i in range(20)
        ]
        barrier.wait(timeout=30)
        results = services.taps_settle(api_key=key, taps=taps)
        queue.put(("ok", sum(r.from_value for r in results)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        queue.put(("error", repr(exc)))
    finally:
        connections.close_all()


def _hold_purse(card_number, locked, release, queue):
    """Another batch settling this card: its purse stays locked until ``release``."""
    from django.db import transaction

    from civicstack.payments import services as payments

    try:
        with transaction.atomic():
            payments.accounts_available_for_update([services.purse_code(card_number, "TWD")])
            locked.set()
            release.wait(timeout=60)
        queue.put(("held", None))
    finally:
        connections.close_all()


def _settle_two(key_pk, numbers, queue):
    from civicstack.core.models import ApiKey

    try:
        key = ApiKey.objects.get(pk=key_pk)
        taps = [TapIn(reader="bus-5001-a", tap_id=f"two-{n}", card_number=n, tapped_at=MORNING, fare=18,
                      function="bus_bogo") for n in numbers]  # fmt: skip
        queue.put(("settled", [r.status for r in services.taps_settle(api_key=key, taps=taps)]))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        queue.put(("error", repr(exc)))
    finally:
        connections.close_all()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="multi-process row locking needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("city_profile_restored_after_flush", "bus_reader", "rules")
class TestConcurrentBatches:
    def test_concurrent_batches_for_one_card_never_overdraw_it(self, funded, upload_key):
        card = funded(300)
        barrier, queue = FORK.Barrier(4), FORK.Queue()
        workers = [
            FORK.Process(target=_upload, args=(upload_key.pk, card.number, w, barrier, queue))
            for w in range(4)
        ]
        connections.close_all()
        for process in workers:
            process.start()
        outcomes = [queue.get(timeout=120) for _ in workers]
        for process in workers:
            process.join(timeout=30)
        assert {kind for kind, _ in outcomes} == {"ok"}, outcomes
        charged = sum(amount for _, amount in outcomes)
        assert charged <= 300 and balance(card) == 300 - charged >= 0
        assert Tap.objects.filter(status="accepted").aggregate(s=Sum("from_value"))["s"] == charged
        assert verify_ledger().ok


@pytest.mark.skipif(connection.vendor != "postgresql", reason="multi-process row locking needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("city_profile_restored_after_flush", "bus_reader", "rules")
class TestBusyCards:
    def test_a_batch_settles_its_free_cards_at_once_and_waits_only_for_a_busy_one(self, funded, upload_key):
        busy, free = funded(100), funded(100)
        locked, release, queue = FORK.Event(), FORK.Event(), FORK.Queue()
        connections.close_all()
        holder = FORK.Process(target=_hold_purse, args=(busy.number, locked, release, queue))
        holder.start()
        assert locked.wait(timeout=30)
        settler = FORK.Process(target=_settle_two, args=(upload_key.pk, [busy.number, free.number], queue))
        settler.start()
        try:
            for _ in range(200):  # the free card's tap is committed while the busy one still waits
                if Tap.objects.filter(card=free).exists():
                    break
                time.sleep(0.05)
            assert Tap.objects.filter(card=free).exists()
            assert not Tap.objects.filter(card=busy).exists()
        finally:
            release.set()
        outcomes = dict(queue.get(timeout=60) for _ in range(2))
        holder.join(timeout=30)
        settler.join(timeout=30)
        assert outcomes["settled"] == ["accepted", "accepted"], outcomes
        assert balance(busy) == balance(free) == 100 - 18
        assert verify_ledger().ok


@pytest.mark.usefixtures("bus_reader", "rules")
def test_a_cobranded_card_tops_itself_up_when_a_ride_needs_it(issue_card, make_person, bank, upload_key):
    card = issue_card(make_person(), "cobranded", partner=bank)
    Card.objects.filter(pk=card.pk).update(issued_at=ISSUED)
    card.refresh_from_db()
    assert card.autoload_amount == services.AUTOLOAD_AMOUNT
    services.wallet_top_up(actor=None, card=card, amount=10, channel="counter", idempotency_key="cb-1")
    ride = settle(upload_key, tap(card, "cb", MORNING, fare=18))[0]
    assert (ride.status, ride.autoloaded, ride.from_value) == ("accepted", 500, 18)
    assert balance(card) == 10 + 500 - 18
    services.autoload_set(actor=None, card=card, amount=0)
    card.refresh_from_db()
    big = settle(upload_key, tap(card, "cb2", MORNING + datetime.timedelta(days=1), fare=600))[0]
    assert (big.status, big.reason) == ("rejected", "insufficient_funds")
    assert verify_ledger().ok


def test_closing_a_card_sets_its_stored_value_aside_for_a_refund(funded, card_clerk):
    card = funded(260)
    services.card_cancel(actor=card_clerk, card=card, reason="holder_request")
    assert balance(card) == 0
    assert Account.objects.get(code=services.REFUNDS_PAYABLE).balance == 260
    assert card.person.user is None or card.person.user.notifications.exists()
    assert verify_ledger().ok


def test_copy_text_encodes_each_rule_list_once_and_escapes_reader_text():
    import json

    from civicstack.card.settlement import _copy_text

    when = datetime.datetime(2026, 11, 20, 0, 0, tzinfo=datetime.UTC)
    free = [{"rule": "bus-bogo", "kind": "nth_use_free", "before": 18, "after": 0}]
    odd = [
        {"rule": "x", "kind": "amount_off", "before": 18, "after": 12, "note": ["a\tb"]}
    ]  # unhashable value
    rows = [
        (1, "a\tb", 7, "1234", "bus_bogo", when, 18, "accepted", "", 0, 0, 0, list(free), False),
        (1, "c", None, "5678", "bus_bogo", when, 18, "accepted", "", 0, 0, 0, list(free), False),
        (1, "d", 7, "1234", "bus_bogo", when, 18, "rejected", "unknown_card", 0, 0, 0, [], True),
        (1, "e", 7, "1234", "bus_bogo", when, 18, "accepted", "", 6, 0, 0, odd, False),
    ]
    lines = _copy_text(rows, "b1", when).splitlines()
    fields = [line.split("\t") for line in lines]
    assert fields[0][1] == "a\\tb" and fields[1][2] == "\\N"
    assert fields[0][12] == fields[1][12] == json.dumps(free)
    assert fields[2][12] == "[]" and fields[2][13] == "t"
    assert fields[3][12] == json.dumps(odd).replace("\\", "\\\\")
    assert fields[0][14:] == ["b1", when.isoformat()]
