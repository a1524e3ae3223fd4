"""Citizen card pages: the holder's cards (report lost, replacement, type change, e-invoice
carrier, open applications) and the application form; for the card desk the review queue, the
application and card pages, counter entry, statistics and experience events. Thin: they parse,
call selectors/services, render."""

import datetime
import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civicstack.core import services as core_services
from civicstack.core.errors import NotFound, ServiceError
from civicstack.core.models import Person
from civicstack.core.selectors import (
    access_person_by_identifier,
    acting_agency,
    object_history,
    person_digest,
    person_of_user,
)

from . import card_number, eligibility, photos, selectors, services
from .errors import InvalidPhoto, NotEligible
from .forms import (
    ApplicationForm,
    ApproveForm,
    CancelForm,
    CardSearchForm,
    CarrierForm,
    CounterApplicationForm,
    QueueFilterForm,
    ReasonForm,
    VisitsForm,
    WalkInForm,
)  # fmt: skip
from .models import Card, CardApplication, CardFunction, EventSignUp, ExperienceEvent
from .models.kinds import PRIMARY_KINDS, CardKind, Channel

STAFF_PAGE_SIZE = 25
STATE_BADGES = {
    Card.State.ACTIVE: "ok", Card.State.DAMAGED: "warn", Card.State.LOST: "stop", Card.State.REPLACED: "off",
    Card.State.EXPIRED: "off", Card.State.CANCELLED: "off",
}  # fmt: skip
APPLICATION_BADGES = {
    CardApplication.State.AWAITING_PAYMENT: "warn", CardApplication.State.SUBMITTED: "info",
    CardApplication.State.APPROVED: "ok", CardApplication.State.REJECTED: "stop", CardApplication.State.WITHDRAWN: "off",
}  # fmt: skip
REPLACEABLE_STATES = (Card.State.LOST, Card.State.DAMAGED, Card.State.EXPIRED)
PARTNER_KINDS = (CardKind.MOBILE, CardKind.COBRANDED)


def payment_page_url(order_number: str) -> str:
    return f"/payments/orders/{order_number}/"


def _field_of(exc: ServiceError) -> str | None:
    return exc.details.get("field") if isinstance(exc.details, dict) else None


def _findings(exc: NotEligible) -> list[dict]:
    return exc.details.get("findings", []) if isinstance(exc.details, dict) else []


def _read_photo(upload) -> bytes | None:
    """The uploaded bytes; an oversized file is refused before it is read into memory."""
    if upload is None:
        return None
    if upload.size > photos.MAX_BYTES:
        raise InvalidPhoto(
            _("The photo is %(size)s MB; the limit is 5 MB.") % {"size": round(upload.size / 1048576, 1)},
            details={"field": "photo"},
        )  # fmt: skip
    return upload.read()


def _function_name(function: CardFunction) -> str:
    return function.name_en if (translation.get_language() or "").startswith("en") else function.name_zh


# --- the holder's pages -------------------------------------------------------------------------


def _card_row(card: Card, functions: list[CardFunction], open_applications: list[CardApplication],
              carrier_form: CarrierForm | None) -> dict:  # fmt: skip
    by_code = {function.code: function for function in functions}
    groups: dict[str, list[dict]] = {}
    for entitlement in selectors.entitlements(card, only=functions):
        if entitlement["entitled"]:
            function = by_code[entitlement["function"]]
            groups.setdefault(function.category, []).append(
                {
                    "name": _function_name(function),
                    "enrolments": [e for e in entitlement["enrolments"] if e["valid"]],
                }
            )
    categories = [(label, groups[value]) for value, label in CardFunction.Category.choices if value in groups]
    pending = [a for a in open_applications if a.replaces_id == card.pk]
    return {
        "card": card,
        "badge": STATE_BADGES.get(card.state, "off"),
        "categories": categories,
        "pending": pending,
        "can_report": card.state in (Card.State.ACTIVE, Card.State.DAMAGED),
        "can_report_damaged": card.state == Card.State.ACTIVE and card.kind not in PARTNER_KINDS,
        "can_replace": card.state in REPLACEABLE_STATES and card.kind not in PARTNER_KINDS and not pending,
        "replacement_fee": services.REPLACEMENT_FEE if card.state == Card.State.LOST else 0,
        "can_carry": card.state == Card.State.ACTIVE,
        "carrier_form": carrier_form or CarrierForm(auto_id=f"id_%s_{card.number}"),
    }


def _my_cards_context(request: HttpRequest, carrier_forms: dict | None = None) -> dict:
    person = person_of_user(request.user)
    if person is None:
        return {"person": None}
    cards = list(selectors.my_cards(request.user))
    open_applications = list(
        selectors.applications_visible_to(request.user)
        .filter(person=person, state__in=CardApplication.OPEN_STATES)
        .order_by("created_at")
    )
    functions = list(selectors.functions())
    rows = [
        _card_row(card, functions, open_applications, (carrier_forms or {}).get(card.number))
        for card in cards
    ]
    senior_offer = None
    today = timezone.localdate()
    for card in cards:
        if card.kind == CardKind.GENERAL and card.state == Card.State.ACTIVE:
            if any(a.replaces_id == card.pk for a in open_applications):
                continue
            if eligibility.check(person, CardKind.SENIOR, day=today, replacing=card).eligible:
                senior_offer = card
    recent_decisions = (
        selectors.applications_visible_to(request.user)
        .filter(person=person, state=CardApplication.State.REJECTED, reviewed_at__gte=timezone.now() - datetime.timedelta(days=90))
        .order_by("-reviewed_at")
    )  # fmt: skip
    return {
        "person": person,
        "rows": rows,
        "open_applications": [
            {
                "application": a,
                "badge": APPLICATION_BADGES.get(a.state, "off"),
                "payment_url": payment_page_url(a.fee_order.number) if a.fee_order_id else "",
            }
            for a in open_applications
        ],  # fmt: skip
        "recent_decisions": recent_decisions,
        "senior_offer": senior_offer,
        "card_wallets": [
            {"card": card, "stored_value": selectors.card_balances(card)["stored_value"]}
            for card in cards
            if card.state == Card.State.ACTIVE
        ],
    }


@login_required
def my_cards(request: HttpRequest) -> HttpResponse:
    return render(request, "card/my_cards.html", _my_cards_context(request))


def _my_card_or_404(request: HttpRequest, number: str) -> Card:
    try:
        return selectors.access_own_card(request.user, number)
    except NotFound as exc:
        raise Http404(_("No such card.")) from exc


@login_required
@require_POST
def card_action(request: HttpRequest, number: str, action: str) -> HttpResponse:
    """The holder's one-click actions on his own card; anyone else's card is not found."""
    card = _my_card_or_404(request, number)
    user = request.user
    try:
        if action == "report-lost":
            services.card_report_lost(actor=user, card=card)
            messages.success(request, _("Card %(number)s is blocked. Nobody can use it any more.")
                             % {"number": card.formatted_number})  # fmt: skip
        elif action == "report-damaged":
            services.card_report_damaged(actor=user, card=card)
            messages.success(request, _("Card %(number)s is reported damaged. It works until its replacement is issued.")
                             % {"number": card.formatted_number})  # fmt: skip
        elif action == "replace":
            application = services.replacement_request(actor=user, card=card)
            if application.fee_order_id:
                messages.success(request, _("Replacement application %(number)s is filed. Pay the fee of NT$%(fee)s "
                                            "and it goes to review.") % {"number": application.number,
                                                                         "fee": application.fee_order.amount})  # fmt: skip
                return redirect(payment_page_url(application.fee_order.number))
            messages.success(
                request, _("Replacement application %(number)s is filed.") % {"number": application.number}
            )
        elif action == "type-change":
            kind = request.POST.get("kind", "")
            if kind not in PRIMARY_KINDS:
                raise Http404(_("No such card type."))
            application = services.type_change_request(actor=user, card=card, kind=kind)
            messages.success(request, _("Application %(number)s to change to a %(kind)s is filed.")
                             % {"number": application.number, "kind": application.get_kind_display()})  # fmt: skip
        elif action == "carrier":
            form = CarrierForm(request.POST, auto_id=f"id_%s_{card.number}")
            if form.is_valid():
                try:
                    services.einvoice_carrier_bind(
                        actor=user, card=card, barcode=form.cleaned_data["barcode"]
                    )
                except ServiceError as exc:
                    form.add_error("barcode" if _field_of(exc) == "barcode" else None, exc.message)
            if not form.is_valid():
                context = _my_cards_context(request, carrier_forms={card.number: form})
                return render(request, "card/my_cards.html", context, status=400)
            messages.success(request, _("The card is now your e-invoice carrier."))
        elif action == "carrier-remove":
            services.einvoice_carrier_unbind(actor=user, card=card)
            messages.success(request, _("The card is no longer your e-invoice carrier."))
        else:
            raise Http404(_("No such action."))
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect(f"{reverse('card:my_cards')}#card-{card.number}")


@login_required
@require_POST
def application_withdraw(request: HttpRequest, number: str) -> HttpResponse:
    person = person_of_user(request.user)
    application = (
        selectors.applications_visible_to(request.user).filter(person=person, number=number).first()
        if person is not None else None
    )  # fmt: skip
    if application is None:
        raise Http404(_("No such application."))
    try:
        services.application_withdraw(actor=request.user, application=application)
        messages.success(request, _("Application %(number)s is withdrawn.") % {"number": application.number})
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("card:my_cards")


def _companion_holder(form: ApplicationForm) -> Person | None:
    """The disability-card holder named on a companion application, looked up in the registry by
    the number's keyed hash. A number that matches nobody is an error on its field."""
    if form.cleaned_data.get("kind") != CardKind.COMPANION:
        return None
    holder = Person.objects.filter(id_digest=person_digest(form.cleaned_data["companion_identifier"])).first()
    if holder is None:
        form.add_error(
            "companion_identifier", _("This number matches no disability-card holder in the city.")
        )
    return holder


def _submit(request: HttpRequest, form: ApplicationForm, person: Person, **extra) -> CardApplication | None:
    """Submit through the service; errors land on their field, refusals in ``form.findings``."""
    form.findings = []
    companion = _companion_holder(form)
    if form.errors:
        return None
    kind = form.cleaned_data["kind"]
    mobile_number = form.cleaned_data.get("mobile_number", "").strip()
    photo = None
    if kind in services.PRINTED_KINDS:
        try:
            photo = _read_photo(form.cleaned_data.get("photo"))
        except InvalidPhoto as exc:
            form.add_error("photo", exc.message)
            result = eligibility.check(
                person, kind, day=timezone.localdate(), companion_for=companion, partner=form.partner(),
                mobile_number=mobile_number,
            )  # fmt: skip
            form.findings = result.as_dict()["findings"] if not result.eligible else []
            return None
    try:
        return services.application_submit(
            actor=request.user, person=person, kind=kind, photo=photo, companion_for=companion,
            partner=form.partner(), mobile_number=mobile_number, **extra,
        )  # fmt: skip
    except NotEligible as exc:
        form.findings = _findings(exc)
        form.add_error(None, _("The card cannot be issued now; the reasons are listed below."))
        # Say what is wrong with the photo too, so the applicant fixes everything in one go.
        if kind in services.PRINTED_KINDS:
            try:
                photos.validated_photo(photo or b"")
            except InvalidPhoto as photo_exc:
                form.add_error("photo", photo_exc.message)
    except ServiceError as exc:
        field = _field_of(exc)
        form.add_error(field if field in form.fields else None, exc.message)
    return None


@login_required
def apply(request: HttpRequest) -> HttpResponse:
    person = person_of_user(request.user)
    form = ApplicationForm(request.POST or None, request.FILES or None)
    form.findings = []
    status = 200
    if request.method == "POST" and person is not None:
        if form.is_valid():
            application = _submit(request, form, person, channel=Channel.ONLINE)
            if application is not None:
                return redirect("card:application_done", number=application.number)
        status = 400
    return render(request, "card/apply.html", {"form": form, "person": person}, status=status)


@login_required
def application_done(request: HttpRequest, number: str) -> HttpResponse:
    person = person_of_user(request.user)
    application = (
        selectors.applications_visible_to(request.user).filter(person=person, number=number).first()
        if person is not None else None
    )  # fmt: skip
    if application is None:
        raise Http404(_("No such application."))
    return render(request, "card/application_done.html", {"application": application})


# --- card desk ------------------------------------------------------------------------------------


def card_desk_required(view):
    """Logged-in card desk staff only; everyone else gets the 403 page."""

    @functools.wraps(view)
    @login_required
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not selectors.is_card_desk(request.user):
            return render(request, "card/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def _staff_application_or_404(request: HttpRequest, number: str) -> CardApplication:
    application = selectors.applications_visible_to(request.user).filter(number=number).first()
    if application is None:
        raise Http404(_("No such application."))
    return application


def _staff_card_or_404(request: HttpRequest, number: str) -> Card:
    try:
        return selectors.access_card(request.user, number)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@card_desk_required
def staff_queue(request: HttpRequest) -> HttpResponse:
    if request.GET.get("card"):
        search = CardSearchForm(request.GET)
        if search.is_valid():
            card = selectors.cards_visible_to(request.user).filter(
                number=card_number.normalize(search.cleaned_data["card"])
            ).first()  # fmt: skip
            if card is not None:
                return redirect("card:staff_card", number=card.number)
        messages.error(request, _("No card with this number among the cards you can see."))
    else:
        search = CardSearchForm()
    form = QueueFilterForm(request.GET or {"state": CardApplication.State.SUBMITTED})
    applications = selectors.applications_visible_to(request.user).order_by("created_at", "id")
    if form.is_valid():
        for name in ("state", "kind", "channel"):
            if form.cleaned_data[name]:
                applications = applications.filter(**{name: form.cleaned_data[name]})
    page = Paginator(applications, STAFF_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("card", None)
    return render(request, "card/staff_queue.html", {
        "form": form, "search": search, "page": page, "query": query.urlencode(),
        "badges": APPLICATION_BADGES,
    })  # fmt: skip


@card_desk_required
def staff_application(request: HttpRequest, number: str) -> HttpResponse:
    application = _staff_application_or_404(request, number)
    core_services.person_viewed(actor=request.user, person=application.person, channel="card desk")
    recheck = None
    if application.is_open:
        recheck = eligibility.check(
            application.person, application.kind, day=timezone.localdate(), companion_for=application.companion_for,
            partner=application.partner, mobile_number=application.mobile_number, replacing=application.replaces,
        )  # fmt: skip
    card = getattr(application, "card", None) if application.state == CardApplication.State.APPROVED else None
    return render(request, "card/staff_application.html", {
        "application": application, "recheck": recheck, "issued_card": card,
        "badge": APPLICATION_BADGES.get(application.state, "off"),
        "old_badge": STATE_BADGES.get(application.replaces.state, "off") if application.replaces_id else "",
        "approve_form": ApproveForm(), "reject_form": ReasonForm(auto_id="id_reject_%s"),
        "payment_url": payment_page_url(application.fee_order.number) if application.fee_order_id else "",
    })  # fmt: skip


@card_desk_required
@require_POST
def staff_application_action(request: HttpRequest, number: str, action: str) -> HttpResponse:
    application = _staff_application_or_404(request, number)
    try:
        if action == "approve":
            form = ApproveForm(request.POST)
            note = form.cleaned_data["note"] if form.is_valid() else ""
            card = services.application_approve(actor=request.user, application=application, note=note)
            messages.success(
                request, _("Approved: card %(number)s is issued.") % {"number": card.formatted_number}
            )
            return redirect("card:staff_card", number=card.number)
        if action == "reject":
            form = ReasonForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Give the applicant the reason for the rejection."))
            else:
                services.application_reject(actor=request.user, application=application,
                                            reason=form.cleaned_data["reason"])  # fmt: skip
                messages.success(
                    request, _("Application %(number)s is rejected.") % {"number": application.number}
                )
        else:
            raise Http404(_("No such action."))
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("card:staff_application", number=application.number)


@card_desk_required
def staff_application_photo(request: HttpRequest, number: str) -> HttpResponse:
    """The applicant's photo, streamed to card desk staff only (never from a public media URL)."""
    application = _staff_application_or_404(request, number)
    if not application.photo:
        raise Http404(_("No photo."))
    try:
        handle = application.photo.open("rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404(_("No photo.")) from exc
    response = FileResponse(handle, content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@card_desk_required
def staff_application_new(request: HttpRequest) -> HttpResponse:
    form = CounterApplicationForm(request.POST or None, request.FILES or None)
    form.findings = []
    status = 200
    if request.method == "POST":
        if form.is_valid():
            person = None
            try:
                person = access_person_by_identifier(request.user, form.cleaned_data["identifier"])
            except NotFound:
                form.add_error("identifier", _("No resident with this number in the districts you serve."))
            if person is not None:
                application = _submit(
                    request, form, person, channel=form.cleaned_data["channel"], event=form.cleaned_data.get("event"),
                    receiving_agency=acting_agency(request.user),
                )  # fmt: skip
                if application is not None:
                    messages.success(
                        request, _("Application %(number)s is entered.") % {"number": application.number}
                    )
                    return redirect("card:staff_application", number=application.number)
        status = 400
    return render(request, "card/staff_application_new.html", {"form": form}, status=status)


@card_desk_required
def staff_card(request: HttpRequest, number: str, top_up_form=None) -> HttpResponse:
    from .views_money import staff_money  # the wallet half of the page; imported here, it imports this module

    card = _staff_card_or_404(request, number)
    core_services.person_viewed(actor=request.user, person=card.person, channel="card desk")
    functions = list(selectors.functions())
    names = {function.code: _function_name(function) for function in functions}
    entitlements = [
        dict(row, name=names.get(row["function"], row["name"]))
        for row in selectors.entitlements(card, only=functions)
    ]
    history = object_history(card).order_by("-sequence")
    open_replacement = card.replacement_applications.filter(state__in=CardApplication.OPEN_STATES).first()
    return render(request, "card/staff_card.html", {
        "card_money": staff_money(card, top_up_form),
        "card": card, "badge": STATE_BADGES.get(card.state, "off"),
        "enrolments": card.enrolments.select_related("function", "issuer_agency", "issuer_partner").order_by("-created_at"),
        "entitled": [row for row in entitlements if row["entitled"]],
        "history": history, "open_replacement": open_replacement,
        "can_report": card.state in (Card.State.ACTIVE, Card.State.DAMAGED),
        "can_report_damaged": card.state == Card.State.ACTIVE and card.kind not in PARTNER_KINDS,
        "can_replace": card.state in (*REPLACEABLE_STATES, Card.State.ACTIVE) and card.kind not in PARTNER_KINDS
        and open_replacement is None,
        "replacement_fee": services.REPLACEMENT_FEE if card.state == Card.State.LOST else 0,
        "can_cancel": card.state not in (Card.State.REPLACED, Card.State.CANCELLED),
        "cancel_form": CancelForm(auto_id="id_cancel_%s"),
    })  # fmt: skip


@card_desk_required
@require_POST
def staff_card_action(request: HttpRequest, number: str, action: str) -> HttpResponse:
    card = _staff_card_or_404(request, number)
    user = request.user
    try:
        if action == "report-lost":
            services.card_report_lost(actor=user, card=card)
            messages.success(request, _("Card %(number)s is blocked.") % {"number": card.formatted_number})
        elif action == "report-damaged":
            services.card_report_damaged(actor=user, card=card)
            messages.success(
                request, _("Card %(number)s is reported damaged.") % {"number": card.formatted_number}
            )
        elif action == "replace":
            application = services.replacement_request(
                actor=user, card=card, channel=Channel.COUNTER, receiving_agency=acting_agency(user)
            )
            messages.success(
                request, _("Replacement application %(number)s is filed.") % {"number": application.number}
            )
            return redirect("card:staff_application", number=application.number)
        elif action == "cancel":
            form = CancelForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Choose the reason for cancelling."))
            else:
                services.card_cancel(actor=user, card=card, reason=form.cleaned_data["reason"],
                                     note=form.cleaned_data["note"])  # fmt: skip
                messages.success(
                    request, _("Card %(number)s is cancelled.") % {"number": card.formatted_number}
                )
        else:
            raise Http404(_("No such action."))
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("card:staff_card", number=card.number)


def _month_starts(today: datetime.date, count: int) -> list[datetime.date]:
    year, month = today.year, today.month
    starts = []
    for _i in range(count):
        starts.append(datetime.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(starts))


@card_desk_required
def staff_statistics(request: HttpRequest) -> HttpResponse:
    kinds = CardKind.values
    labels = dict(CardKind.choices)
    table = selectors.statistics_by_kind_and_district()
    districts = [
        {"district": row["district"], "counts": [row["counts"][k] for k in kinds], "total": row["total"]}
        for row in table["districts"]
    ]
    months_wanted = _month_starts(timezone.localdate(), 12)
    by_month = {row["month"]: row for row in selectors.statistics_by_month(since=months_wanted[0])}
    months = []
    for start in months_wanted:
        row = by_month.get(f"{start:%Y-%m}")
        counts = [row["counts"][k] for k in kinds] if row else [0] * len(kinds)
        months.append({"month": f"{start:%Y-%m}", "counts": counts, "total": sum(counts)})
    month_totals = [sum(m["counts"][i] for m in months) for i in range(len(kinds))]
    return render(request, "card/staff_statistics.html", {
        "kind_labels": [labels[k] for k in kinds], "districts": districts,
        "totals": [table["totals"][k] for k in kinds], "total": table["total"],
        "months": months, "month_totals": month_totals, "month_total": sum(month_totals),
    })  # fmt: skip


@card_desk_required
def staff_events(request: HttpRequest) -> HttpResponse:
    return render(request, "card/staff_events.html", {"report": selectors.events_report()})


def _event_or_404(event_id: int) -> ExperienceEvent:
    event = ExperienceEvent.objects.select_related("district", "organiser").filter(pk=event_id).first()
    if event is None:
        raise Http404(_("No such event."))
    return event


def _render_event(request: HttpRequest, event: ExperienceEvent, *, walk_in_form=None, visits_form=None,
                  status: int = 200) -> HttpResponse:  # fmt: skip
    report = selectors.events_report(ExperienceEvent.objects.filter(pk=event.pk))
    return render(request, "card/staff_event.html", {
        "event": event, "figures": report["events"][0] if report["events"] else None,
        "signups": event.signups.all(), "walk_in_form": walk_in_form or WalkInForm(auto_id="id_walkin_%s"),
        "visits_form": visits_form or VisitsForm(),
    }, status=status)  # fmt: skip


@card_desk_required
def staff_event(request: HttpRequest, event_id: int) -> HttpResponse:
    return _render_event(request, _event_or_404(event_id))


@card_desk_required
@require_POST
def staff_event_action(request: HttpRequest, event_id: int, action: str) -> HttpResponse:
    event = _event_or_404(event_id)
    try:
        if action == "walk-in":
            form = WalkInForm(request.POST, auto_id="id_walkin_%s")
            if not form.is_valid():
                return _render_event(request, event, walk_in_form=form, status=400)
            services.event_sign_up(
                actor=request.user, event=event, name=form.cleaned_data["name"], phone=form.cleaned_data["phone"],
                source=EventSignUp.Source.WALK_IN, checked_in=form.cleaned_data["checked_in"],
            )  # fmt: skip
            messages.success(request, _("%(name)s is added.") % {"name": form.cleaned_data["name"]})
        elif action == "visits":
            form = VisitsForm(request.POST)
            if not form.is_valid():
                return _render_event(request, event, visits_form=form, status=400)
            services.event_visits_record(
                actor=request.user,
                event=event,
                visits=form.cleaned_data["visits"],
                key=form.cleaned_data["key"],
            )
            messages.success(
                request, _("%(visits)s visits are recorded.") % {"visits": form.cleaned_data["visits"]}
            )
        elif action == "check-in":
            raw = request.POST.get("signup", "")
            signup = event.signups.filter(pk=int(raw)).first() if raw.isdigit() else None
            if signup is None:
                raise Http404(_("No such sign-up."))
            services.event_check_in(actor=request.user, signup=signup)
            messages.success(request, _("%(name)s took part.") % {"name": signup.name})
        else:
            raise Http404(_("No such action."))
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("card:staff_event", event_id=event.pk)


@card_desk_required
def staff_home(request: HttpRequest) -> HttpResponse:
    return redirect(f"{reverse('card:staff_queue')}?{urlencode({'state': CardApplication.State.SUBMITTED})}")
