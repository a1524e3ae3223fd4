"""Why a transfer or a payment was refused: stable codes clients can act on."""

from civicstack.core.errors import Conflict, InvalidInput


class TransferError:
    ACCOUNT_NOT_FOUND = "account_not_found"
    ACCOUNTS_MUST_BE_DIFFERENT = "accounts_must_be_different"
    ACCOUNTS_MUST_HAVE_SAME_UNIT = "accounts_must_have_same_unit"
    AMOUNT_MUST_BE_POSITIVE = "amount_must_be_positive"
    EXCEEDS_CREDITS = "exceeds_credits"  # the debit account would be overdrawn
    EXCEEDS_DEBITS = "exceeds_debits"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused_with_different_request"
    LINKED_TRANSFER_FAILED = "linked_transfer_failed"
    PENDING_NOT_FOUND = "pending_transfer_not_found"
    PENDING_ALREADY_RESOLVED = "pending_transfer_already_resolved"
    PENDING_EXPIRED = "pending_transfer_expired"
    AMOUNT_EXCEEDS_PENDING = "amount_exceeds_pending_amount"
    AMOUNT_EXCEEDS_REVERSIBLE = "amount_exceeds_reversible_amount"
    TRANSFER_NOT_FOUND = "transfer_not_found"
    INVALID_REQUEST = "invalid_request"


class PaymentRefused(InvalidInput):
    code = "payment_refused"


class OrderStateConflict(Conflict):
    code = "order_state_conflict"
