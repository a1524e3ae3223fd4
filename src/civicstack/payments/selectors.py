"""Reads of the payments module and who may see which order."""

from django.db.models import Q, QuerySet

from civicstack.core.errors import NotFound
from civicstack.core.selectors import person_of_user, scope_by_agency, staff_scope

from .models import Account, PaymentOrder, SettlementImport, Transfer


def orders_of_user(user) -> QuerySet[PaymentOrder]:
    person = person_of_user(user)
    if person is None:
        return PaymentOrder.objects.none()
    return (
        PaymentOrder.objects.filter(payer_person=person)
        .select_related("payee_agency")
        .prefetch_related("items")
    )


def orders_visible_to_staff(user) -> QuerySet[PaymentOrder]:
    if not staff_scope(user).is_staff:
        return PaymentOrder.objects.none()
    return scope_by_agency(PaymentOrder.objects.select_related("payee_agency"), user, field="payee_agency")


def access_order_by_number(user, number: str) -> PaymentOrder:
    """The payer's own order, or an order of an agency the staff member acts for."""
    order = (orders_of_user(user).filter(number=number).first()) or (
        orders_visible_to_staff(user).filter(number=number).first()
    )
    if order is None:
        raise NotFound("payment order not found")
    return order


def account_by_code(code: str) -> Account | None:
    return Account.objects.filter(code=code).first()


def account_statement(code: str, *, limit: int = 100) -> list[dict]:
    """The latest posted movements of one account, newest first, each signed from the account's
    side (+ money in, − money out) with the other account and the reason recorded on the transfer."""
    account = account_by_code(code)
    if account is None:
        return []
    posted = [Transfer.Kind.POSTED, Transfer.Kind.POST_PENDING]
    transfers = (
        Transfer.objects.filter(Q(debit_account=account) | Q(credit_account=account), kind__in=posted)
        .select_related("debit_account", "credit_account")
        .order_by("-id")[:limit]
    )
    return [
        {
            "at": t.created_at, "amount": t.amount if t.credit_account_id == account.pk else -t.amount,
            "counterparty": (t.debit_account if t.credit_account_id == account.pk else t.credit_account).code,
            "reference": t.reference, "memo": t.memo, "reversal": t.reverses_id is not None,
        }
        for t in transfers
    ]  # fmt: skip


def order_by_number(number: str) -> PaymentOrder | None:
    return (
        PaymentOrder.objects.select_related("payee_agency")
        .prefetch_related("items")
        .filter(number=number)
        .first()
    )


def can_reconcile(user) -> bool:
    """City administrators, and staff given the permission to import settlement files."""
    if not getattr(user, "is_authenticated", False):
        return False
    scope = staff_scope(user)
    return scope.has_role("city_admin") or (scope.is_staff and user.has_perm("payments.add_settlementimport"))


def settlement_by_id(settlement_id: int) -> SettlementImport | None:
    return SettlementImport.objects.filter(pk=settlement_id).first()


def access_account_by_code(user, code: str) -> Account:
    account = Account.objects.select_related("person").filter(code=code).first()
    person = person_of_user(user)
    allowed = account is not None and (
        staff_scope(user).has_role("city_admin") or (person is not None and account.person_id == person.pk)
    )
    if not allowed:
        raise NotFound("account not found")
    return account


def wallet_code(person_pk: int, unit: str = Account.Unit.TWD) -> str:
    return f"person:{person_pk}:{'wallet' if unit == Account.Unit.TWD else 'points'}"


def wallet_of(person) -> Account | None:
    """The person's e-wallet if one has been opened; reading never creates one."""
    return Account.objects.filter(code=wallet_code(person.pk)).first()
