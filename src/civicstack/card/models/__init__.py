from .cards import Card, CardApplication
from .events import EventSignUp, EventVisitTally, ExperienceEvent
from .functions import CardFunction, CardPartner, FunctionEnrolment
from .merchants import Merchant, MerchantOffer, MerchantPayment
from .points import PointsEntry, PointsSeal
from .usage import BenefitRule, Reader, Tap

__all__ = [
    "BenefitRule", "Card", "CardApplication", "CardFunction", "CardPartner", "EventSignUp", "EventVisitTally",
    "ExperienceEvent", "FunctionEnrolment", "Merchant", "MerchantOffer", "MerchantPayment", "PointsEntry", "PointsSeal", "Reader", "Tap",
]  # fmt: skip
