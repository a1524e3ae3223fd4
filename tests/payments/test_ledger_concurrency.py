"""The ledger under real concurrency on PostgreSQL: separate processes debiting the same purse
never overdraw it, and a worker killed in the middle of a transfer leaves nothing half-written."""

import multiprocessing
import os
import signal

import pytest
from django.db import connection, connections, transaction

from civicstack.payments import ledger, services
from civicstack.payments.ledger import TransferRequest
from civicstack.payments.models import Account, Transfer

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="multi-process row locking is a PostgreSQL property; SQLite serialises whole-database writes",
)

FORK = multiprocessing.get_context("fork")


def _start(processes) -> None:
    # The parent closes its connection before forking so no child inherits (and closes) its socket.
    connections.close_all()
    for process in processes:
        process.start()


def _debit_worker(worker: int, attempts: int, amount: int, queue) -> None:
    accepted = 0
    try:
        for i in range(attempts):
            result = services.transfer_create(
                request=TransferRequest(
                    f"w{worker}-{i}", debit_account="purse", credit_account="shop", amount=amount
                )
            )
            accepted += result.status == "created"
        queue.put(("ok", accepted))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        queue.put(("error", repr(exc)))
    finally:
        connections.close_all()


def _worker_killed_mid_transfer(ready, queue) -> None:
    with transaction.atomic():
        ledger.apply_batch(
            [
                TransferRequest(f"doomed-{i}", debit_account="purse", credit_account="shop", amount=1)
                for i in range(500)
            ]
        )
        ready.set()
        signal.pause()  # killed here: the batch is written but never committed


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("city_profile_restored_after_flush")
class TestConcurrentLedger:
    @pytest.fixture
    def purse(self):
        services.account_get_or_create(code="bank", name="bank")
        services.account_get_or_create(code="shop", name="shop")
        services.account_get_or_create(code="purse", name="purse", debits_must_not_exceed_credits=True)
        services.transfer_create(
            request=TransferRequest("fund", debit_account="bank", credit_account="purse", amount=1000)
        )

    def test_concurrent_debits_never_overdraw(self, purse):
        # given 6 processes each trying 40 debits of NT$7 from a purse holding NT$1,000 (1,680 wanted)
        queue = FORK.Queue()
        workers = [FORK.Process(target=_debit_worker, args=(w, 40, 7, queue)) for w in range(6)]
        _start(workers)
        outcomes = [queue.get(timeout=120) for _ in workers]
        for process in workers:
            process.join(timeout=60)
        # then every worker finished, and exactly as many debits were accepted as the money allowed
        assert [kind for kind, _ in outcomes] == ["ok"] * 6, outcomes
        accepted = sum(count for _, count in outcomes)
        assert accepted == 1000 // 7
        purse = Account.objects.get(code="purse")
        assert (purse.balance, purse.available) == (1000 - accepted * 7, 1000 - accepted * 7)
        assert Transfer.objects.filter(debit_account=purse).count() == accepted
        report = ledger.verify_ledger()
        assert report.ok, report.problems

    def test_a_worker_killed_mid_transfer_leaves_no_partial_transfer(self, purse):
        # given a worker that has written a 500-transfer batch inside its transaction
        ready, queue = FORK.Event(), FORK.Queue()
        process = FORK.Process(target=_worker_killed_mid_transfer, args=(ready, queue))
        _start([process])
        assert ready.wait(timeout=60)
        # when it is killed before committing
        os.kill(process.pid, signal.SIGKILL)
        process.join(timeout=30)
        assert process.exitcode == -signal.SIGKILL
        # then none of its transfers exist, balances are untouched, and its locks are released
        assert not Transfer.objects.filter(idempotency_key__startswith="doomed-").exists()
        assert Account.objects.get(code="purse").balance == 1000
        after = services.transfer_create(
            request=TransferRequest("after", debit_account="purse", credit_account="shop", amount=10)
        )
        assert after.status == "created"
        assert ledger.verify_ledger().ok
