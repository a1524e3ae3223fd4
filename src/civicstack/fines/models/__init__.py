from .cases import CaseDocument, FineCase
from .catalog import BusinessItem

__all__ = ["BusinessItem", "CaseDocument", "FineCase"]
