from .ledger import Account, Transfer
from .orders import PaymentOrder, PaymentOrderItem
from .settlements import SettlementImport

__all__ = ["Account", "PaymentOrder", "PaymentOrderItem", "SettlementImport", "Transfer"]
