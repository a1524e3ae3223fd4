from .cards import Card, CardApplication
from .events import EventSignUp, EventVisitTally, ExperienceEvent
from .functions import CardFunction, CardPartner, FunctionEnrolment

__all__ = [
    "Card", "CardApplication", "CardFunction", "CardPartner", "EventSignUp", "EventVisitTally",
    "ExperienceEvent", "FunctionEnrolment",
]  # fmt: skip
