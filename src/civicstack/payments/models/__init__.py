from .ledger import Account, Transfer
from .orders import PaymentOrder, PaymentOrderItem

__all__ = ["Account", "PaymentOrder", "PaymentOrderItem", "Transfer"]
