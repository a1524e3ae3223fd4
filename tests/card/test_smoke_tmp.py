import datetime

from civicstack.card import services
from civicstack.card.models import Card, CardFunction


def test_smoke(make_person, issue_card, card_clerk, photo):
    assert CardFunction.objects.count() == 31
    assert CardFunction.objects.filter(provider_agency__isnull=False).count() > 10
    p = make_person(birth_date=datetime.date(1950, 1, 1))
    card = issue_card(p, "senior")
    assert card.state == Card.State.ACTIVE
    lost = services.card_report_lost(actor=None, card=card)
    app = services.replacement_request(actor=card_clerk, card=lost, channel="counter")
    assert app.fee_order.amount == 100
