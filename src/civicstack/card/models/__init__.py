from .cards import Card, CardApplication
from .events import EventSignUp, EventVisitTally, ExperienceEvent
from .functions import CardFunction, CardPartner, FunctionEnrolment
from .usage import BenefitRule, Reader, Tap

__all__ = [
    "BenefitRule", "Card", "CardApplication", "CardFunction", "CardPartner", "EventSignUp", "EventVisitTally",
    "ExperienceEvent", "FunctionEnrolment", "Reader", "Tap",
]  # fmt: skip
