"""Demo data of the welfare module: the 276 benefits of 20 agencies (data/catalog.json, the same at
every scale), a later rule version of two benefits (dated rules in action), consent to proactive
matching from the demo citizen and a share of the residents, and one matching run so inboxes
show benefit notices.

``small`` asks consent of 300 residents; ``seed`` of 20,000 (the matching run evaluates each
against the whole catalog, about a millisecond per person)."""

import datetime
import random

from django.db import transaction

from civicstack.core.models import Person, User
from civicstack.core.services import audit_record

from . import services
from .models import Benefit, BenefitRule, Consent

CONSENTING = {"small": 300, "seed": 20_000}

# Rule changes that took effect after the catalog's start, as a city council would vote them.
LATER_VERSIONS = [
    ("SW-SENIOR-NHI70", datetime.date(2019, 7, 1), "自108年7月起放寬為設籍滿半年即可申請",
     {"all": [{"fact": "age", "op": ">=", "value": 70}, {"fact": "residence_years", "op": ">=", "value": 0}]}),
    ("SW-BIRTH", datetime.date(2019, 1, 1), "自108年起父或母設籍滿一年改為設籍即可",
     {"all": [{"fact": "recent_birth", "op": "==", "value": True}, {"fact": "residence_years", "op": ">=", "value": 0}]}),
]  # fmt: skip


def generate(*, scale: str, seed: int, progress_factory=None) -> dict:
    rng = random.Random(seed + 7)
    added = services.catalog_load_shipped()
    for code, day, note, condition in LATER_VERSIONS:
        benefit = Benefit.objects.filter(code=code).first()
        if (
            benefit is not None
            and not BenefitRule.objects.filter(benefit=benefit, effective_from=day).exists()
        ):
            services.rule_version_create(
                actor=None, benefit=benefit, condition=condition, effective_from=day, note=note
            )
    if not Consent.objects.exists():
        _consents(rng, CONSENTING.get(scale, 300))
    report = services.proactive_match()
    return {"benefits": Benefit.objects.count(), "added": added, "notices": report.notices}


@transaction.atomic
def _consents(rng: random.Random, count: int) -> None:
    people = list(
        Person.objects.filter(user__isnull=True).order_by("id").values_list("id", flat=True)[: count * 3]
    )
    chosen = sorted(rng.sample(people, min(count, len(people))))
    # Notices go to an inbox, so each consenting resident gets a login (no password: demo only).
    users = User.objects.bulk_create([User(username=f"welfare-demo-{pk}", is_active=True) for pk in chosen])
    for user in users:
        user.set_unusable_password()
    User.objects.bulk_update(users, ["password"])
    by_name = {u.username: u.pk for u in User.objects.filter(username__in=[u.username for u in users])}
    for pk in chosen:
        Person.objects.filter(pk=pk).update(user_id=by_name[f"welfare-demo-{pk}"])
    Consent.objects.bulk_create([Consent(person_id=pk, use_registry=True, proactive=True) for pk in chosen])
    citizen = Person.objects.filter(user__username="citizen").first()
    if citizen is not None:
        Consent.objects.get_or_create(person=citizen, defaults={"use_registry": True, "proactive": True})
    audit_record(
        actor=None,
        action="welfare.demo_consents",
        object_type="welfare.consent",
        data={"people": len(chosen)},
    )
