"""The ledger's promises: atomic linked batches, idempotent replays, pending transfers that post,
void or expire, reversals instead of edits, no overdraft, and totals that always equal the sum
of transfers (`civicstack payments verify`)."""

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civicstack.payments import ledger, services
from civicstack.payments.errors import TransferError
from civicstack.payments.ledger import TransferRequest
from civicstack.payments.models import Account, Transfer


@pytest.fixture
def accounts(db):
    """A funding source, two purses that must not go below zero, and a revenue account."""
    make = services.account_get_or_create
    return {
        "bank": make(code="bank", name="bank"),
        "alice": make(code="alice", name="Alice", debits_must_not_exceed_credits=True),
        "bob": make(code="bob", name="Bob", debits_must_not_exceed_credits=True),
        "city": make(code="city", name="City revenue"),
        "points": make(code="points", name="points pool", unit=Account.Unit.POINT),
    }


def post(key, debit, credit, amount, **extra):
    return services.transfer_create(
        request=TransferRequest(
            idempotency_key=key, debit_account=debit, credit_account=credit, amount=amount, **extra
        )
    )


def balances(*codes):
    return [Account.objects.get(code=code).balance for code in codes]


def test_a_transfer_moves_money_and_keeps_totals_equal_to_transfers(accounts):
    result = post("t1", "bank", "alice", 500)
    assert (result.status, result.error) == ("created", "")
    assert balances("bank", "alice") == [-500, 500]
    assert ledger.verify_ledger().ok


def test_a_replay_returns_the_first_result_and_moves_nothing(accounts):
    first = post("t1", "bank", "alice", 500)
    again = post("t1", "bank", "alice", 500)
    assert (again.status, again.transfer_id) == ("exists", first.transfer_id)
    assert balances("alice") == [500]
    assert Transfer.objects.count() == 1


def test_a_key_reused_for_another_request_is_refused(accounts):
    post("t1", "bank", "alice", 500)
    reused = post("t1", "bank", "alice", 499)
    assert (reused.status, reused.error) == ("failed", TransferError.IDEMPOTENCY_KEY_REUSED)
    assert balances("alice") == [500]


def test_a_purse_cannot_be_overdrawn(accounts):
    post("fund", "bank", "alice", 100)
    refused = post("spend", "alice", "city", 101)
    assert (refused.status, refused.error) == ("failed", TransferError.EXCEEDS_CREDITS)
    assert balances("alice", "city") == [100, 0]
    assert not Transfer.objects.filter(idempotency_key="spend").exists()


def test_the_database_refuses_an_overdraft_even_if_code_skips_the_checks(accounts):
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(code="alice").update(debits_posted=1)


def test_linked_transfers_succeed_or_fail_together(accounts):
    post("fund", "bank", "alice", 100)
    results = services.transfers_create(
        requests=[
            TransferRequest("pay", debit_account="alice", credit_account="city", amount=80, linked=True),
            TransferRequest("fee", debit_account="alice", credit_account="city", amount=30),
        ]
    )
    assert [(r.status, r.error) for r in results] == [
        ("failed", TransferError.LINKED_TRANSFER_FAILED),
        ("failed", TransferError.EXCEEDS_CREDITS),
    ]
    assert balances("alice", "city") == [100, 0]


def test_unlinked_transfers_in_a_batch_succeed_or_fail_alone(accounts):
    post("fund", "bank", "alice", 100)
    results = services.transfers_create(
        requests=[
            TransferRequest("a", debit_account="alice", credit_account="city", amount=80),
            TransferRequest("b", debit_account="alice", credit_account="city", amount=30),
            TransferRequest("c", debit_account="alice", credit_account="city", amount=20),
        ]
    )
    assert [r.status for r in results] == ["created", "failed", "created"]
    assert balances("alice", "city") == [0, 100]


def test_units_never_mix(accounts):
    refused = post("x", "points", "alice", 5)
    assert refused.error == TransferError.ACCOUNTS_MUST_HAVE_SAME_UNIT


@pytest.mark.parametrize("amount", [0, -5, 1.5, True])
def test_amounts_are_positive_whole_numbers(accounts, amount):
    assert post("x", "bank", "alice", amount).error == TransferError.AMOUNT_MUST_BE_POSITIVE


def test_a_pending_transfer_reserves_then_posts_part_and_releases_the_rest(accounts):
    post("fund", "bank", "alice", 100)
    assert post("hold", "alice", "city", 70, kind=Transfer.Kind.PENDING).status == "created"
    alice = Account.objects.get(code="alice")
    assert (alice.balance, alice.available) == (100, 30)
    # the reservation blocks spending beyond what is left
    assert post("other", "alice", "bob", 31).error == TransferError.EXCEEDS_CREDITS
    posted = services.transfer_create(
        request=TransferRequest("capture", kind=Transfer.Kind.POST_PENDING, pending_key="hold", amount=50)
    )
    assert posted.status == "created"
    alice = Account.objects.get(code="alice")
    assert (alice.balance, alice.available, alice.debits_pending) == (50, 50, 0)
    assert Transfer.objects.get(idempotency_key="hold").state == Transfer.State.POSTED
    # a pending transfer resolves once
    again = services.transfer_create(
        request=TransferRequest("void", kind=Transfer.Kind.VOID_PENDING, pending_key="hold")
    )
    assert again.error == TransferError.PENDING_ALREADY_RESOLVED
    assert ledger.verify_ledger().ok


def test_a_voided_pending_transfer_releases_everything(accounts):
    post("fund", "bank", "alice", 100)
    post("hold", "alice", "city", 70, kind=Transfer.Kind.PENDING)
    voided = services.transfer_create(
        request=TransferRequest("void", kind=Transfer.Kind.VOID_PENDING, pending_key="hold")
    )
    assert voided.status == "created"
    assert Account.objects.get(code="alice").available == 100
    assert balances("city") == [0]


def test_pending_transfers_expire_and_cannot_be_posted_after(accounts):
    post("fund", "bank", "alice", 100)
    post("hold", "alice", "city", 70, kind=Transfer.Kind.PENDING, timeout_seconds=60)
    later = timezone.now() + datetime.timedelta(minutes=2)
    assert ledger.expire_pending(now=later) == 1
    assert Transfer.objects.get(idempotency_key="hold").state == Transfer.State.EXPIRED
    assert Account.objects.get(code="alice").available == 100
    late = services.transfer_create(
        request=TransferRequest("late", kind=Transfer.Kind.POST_PENDING, pending_key="hold")
    )
    assert late.error == TransferError.PENDING_ALREADY_RESOLVED
    assert ledger.verify_ledger().ok


def test_a_reversal_is_a_new_transfer_and_never_exceeds_the_original(accounts):
    post("fund", "bank", "alice", 100)
    post("pay", "alice", "city", 60)
    partly = post("refund-1", "city", "alice", 40, reverses_key="pay")
    assert partly.status == "created"
    too_much = post("refund-2", "city", "alice", 21, reverses_key="pay")
    assert too_much.error == TransferError.AMOUNT_EXCEEDS_REVERSIBLE
    assert post("refund-3", "city", "alice", 20, reverses_key="pay").status == "created"
    assert balances("alice", "city") == [100, 0]
    assert Transfer.objects.get(idempotency_key="pay").amount == 60  # the original is untouched


def test_verify_reports_totals_that_do_not_match_the_transfers(accounts):
    post("fund", "bank", "alice", 100)
    Account.objects.filter(code="bank").update(debits_posted=99)  # a bad write behind the service's back
    report = ledger.verify_ledger()
    assert report.problems == ["bank: debits_posted is 99 but its transfers sum to 100"]
    with pytest.raises(CommandError, match="ledger NOT balanced"):
        call_command("payments", "verify", stdout=StringIO(), stderr=StringIO())


def test_verify_command_passes_on_a_balanced_ledger(accounts):
    post("fund", "bank", "alice", 100)
    out = StringIO()
    call_command("payments", "verify", stdout=out)
    assert out.getvalue().startswith("ledger balanced: 5 accounts, 1 transfers")


# --- property-based: random sequences of operations keep every invariant -----------------------

CODES = ["bank", "alice", "bob", "city"]
operation = st.one_of(
    st.tuples(
        st.just("post"), st.sampled_from(CODES), st.sampled_from(CODES), st.integers(-5, 300), st.booleans()
    ),
    st.tuples(
        st.just("pending"), st.sampled_from(CODES), st.sampled_from(CODES), st.integers(1, 300), st.booleans()
    ),
    st.tuples(
        st.just("resolve"),
        st.integers(0, 40),
        st.sampled_from(["post", "void"]),
        st.integers(0, 300),
        st.booleans(),
    ),
    st.tuples(st.just("replay"), st.integers(0, 40), st.just(""), st.just(0), st.booleans()),
    st.tuples(st.just("expire"), st.just(""), st.just(""), st.just(0), st.booleans()),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, min_size=1, max_size=30))
def test_random_sequences_keep_the_ledger_balanced_and_no_purse_overdrawn(accounts, ops):
    with transaction.atomic():
        sent: list[TransferRequest] = []
        pendings: list[str] = []
        counter = 0
        for op, a, b, amount, linked in ops:
            counter += 1
            key = f"k{counter}"
            if op == "post":
                request = TransferRequest(
                    key, debit_account=a, credit_account=b, amount=amount, linked=linked
                )
            elif op == "pending":
                request = TransferRequest(key, debit_account=a, credit_account=b, amount=amount,
                                          kind=Transfer.Kind.PENDING, timeout_seconds=1)  # fmt: skip
                pendings.append(key)
            elif op == "resolve":
                if not pendings:
                    continue
                kind = Transfer.Kind.POST_PENDING if b == "post" else Transfer.Kind.VOID_PENDING
                request = TransferRequest(
                    key, kind=kind, pending_key=pendings[a % len(pendings)], amount=amount
                )
            elif op == "replay":
                if not sent:
                    continue
                request = sent[a % len(sent)]
            else:
                ledger.expire_pending(now=timezone.now() + datetime.timedelta(seconds=5))
                continue
            before = Transfer.objects.count()
            result = services.transfer_create(request=request)
            sent.append(request)
            # a replay never adds a transfer
            if result.status == "exists":
                assert Transfer.objects.count() == before
            # every invariant holds after every step
            report = ledger.verify_ledger()
            assert report.ok, report.problems
            for purse in Account.objects.filter(debits_must_not_exceed_credits=True):
                assert purse.available >= 0
        # money is neither created nor destroyed: posted debits equal posted credits overall
        totals = Account.objects.values_list("debits_posted", "credits_posted")
        assert sum(d for d, _ in totals) == sum(c for _, c in totals)
        transaction.set_rollback(True)
