from .cards import Card, CardApplication
from .events import EventSignUp, EventVisitTally, ExperienceEvent
from .functions import CardFunction, CardPartner, FunctionEnrolment
from .merchants import Merchant, MerchantOffer, MerchantPayment
from .nearby import ChargingStation, HospitalAppointment, HospitalClinic, NearbyLoad, ParkingLot, Period
from .points import PointsEntry, PointsSeal
from .usage import BenefitRule, Reader, Tap

__all__ = [
    "BenefitRule", "Card", "CardApplication", "CardFunction", "CardPartner", "ChargingStation", "EventSignUp",
    "EventVisitTally", "ExperienceEvent", "FunctionEnrolment", "HospitalAppointment", "HospitalClinic", "Merchant",
    "MerchantOffer", "MerchantPayment", "NearbyLoad", "ParkingLot", "Period", "PointsEntry", "PointsSeal", "Reader",
    "Tap",
]  # fmt: skip
