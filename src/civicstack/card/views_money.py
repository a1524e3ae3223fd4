"""Card money pages: the holder's wallet (balances, stored-value statement, uses with the rules
that priced them, bonus points with downloadable receipts), the public partner merchants list and
points roots, and for the card desk the top-up form and ledger on the card page, the reader
registry, the benefit rule editor with its price preview, and flagged uses of lost cards. Thin:
they parse, call selectors/services, render; api_money.py is the same features as JSON."""

import json
import math
import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Max, Min
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from civicstack.core.errors import NotFound, ServiceError
from civicstack.core.models import Agency, ApiKey

from . import selectors, services, settlement, views
from .forms import MerchantFilterForm, PricePreviewForm, ReaderForm, RuleForm, TopUpForm
from .models import BenefitRule, Card, CardFunction, CardPartner, Merchant, MerchantOffer, PointsEntry, Tap
from .views import _function_name, _my_card_or_404, _staff_card_or_404, card_desk_required

STATEMENT_LIMIT = 50
USES_LIMIT = 50
POINTS_LIMIT = 100
LEDGER_LIMIT = 100
PAGE_SIZE = 50
MAP_WIDTH = 640
MAP_PADDING = 0.06  # of the span, so no dot sits on the frame

# Why a reader's tap was refused, for the holder and the desk (codes from card/settlement.py).
REFUSALS = {
    "blocked_card": gettext_lazy("The card was blocked (reported lost) at that time."),
    "insufficient_funds": gettext_lazy("Not enough stored value."),
    "duplicate": gettext_lazy("Sent twice by the reader; counted once."),
    "unknown_card": gettext_lazy("The card was not valid at that time."),
    "card_expired": gettext_lazy("The card had expired."),
    "not_entitled": gettext_lazy("This card does not include this function."),
    "unknown_function": gettext_lazy("The reader does not offer this function."),
    "unknown_reader": gettext_lazy("Unknown reader."),
}
TOP_UPS = {
    "counter": gettext_lazy("Counter top-up"),
    "convenience_store": gettext_lazy("Convenience store top-up"),
    "card_gateway": gettext_lazy("Online card top-up"),
    "virtual_account": gettext_lazy("Bank transfer top-up"),
}
UNITS = (
    ("TWD", gettext_lazy("Stored value (NT$)")),
    ("WELFARE", gettext_lazy("Welfare points")),
    ("POINT", gettext_lazy("Bonus points")),
)


# --- labels ---------------------------------------------------------------------------------------


def _partner_names(codes: set[str]) -> dict[str, str]:
    return dict(CardPartner.objects.filter(code__in=codes).values_list("code", "name")) if codes else {}


def _agency_names(codes: set[str]) -> dict[str, str]:
    return dict(Agency.objects.filter(code__in=codes).values_list("code", "name_zh")) if codes else {}


def _merchant_names(codes: set[str]) -> dict[str, str]:
    return dict(Merchant.objects.filter(code__in=codes).values_list("code", "name")) if codes else {}


def counterparty_label(code: str, amount: int, names: dict[str, dict[str, str]]) -> tuple[str, str]:
    """(what the movement was, a detail such as the merchant's name) for the other account of a
    purse movement: ``clearing:counter`` is a counter top-up, ``operator:…`` the card uses a batch
    charged, ``merchant:…`` a purchase (or its refund), ``card:<number>:…`` a carry-over."""
    parts = code.split(":")
    head = parts[0]
    if head == "clearing":
        channel = parts[1] if len(parts) > 1 else ""
        return str(TOP_UPS.get(channel, _("Top-up"))), ""
    if head == "operator":
        kind, operator = (parts[1], parts[2]) if len(parts) > 3 else ("", "")
        detail = (
            names["partner"].get(operator, "") if kind == "partner" else names["agency"].get(operator, "")
        )
        label = _("Rides and uses") if amount < 0 else _("Rides and uses, given back")
        return label, detail
    if head == "merchant":
        name = names["merchant"].get(parts[1], parts[1]) if len(parts) > 1 else ""
        return (_("Partner merchant purchase") if amount < 0 else _("Partner merchant refund")), name
    if head == "card" and len(parts) == 3 and parts[1] in ("welfare", "points"):
        labels = {
            ("welfare", "issued"): _("Monthly welfare points"),
            ("welfare", "lapsed"): _("Unused welfare points lapsed"),
            ("points", "issued"): _("Bonus points earned") if amount > 0 else _("Bonus points moved"),
            ("points", "redeemed"): _("Bonus points redeemed"),
            ("points", "expired"): _("Bonus points expired"),
        }
        return labels.get((parts[1], parts[2]), code), ""
    if head == "card" and len(parts) >= 2:
        other = " ".join(parts[1][i : i + 4] for i in range(0, len(parts[1]), 4))  # as Card.formatted_number
        if amount > 0:
            return _("Carried over from the old card"), other
        return _("Moved to the replacement card"), other
    return code, ""


def statement_rows(lines: list[dict]) -> list[dict]:
    """Statement lines (selectors.card_statement) with what each was, in words."""
    partners, agencies, merchants = set(), set(), set()
    for line in lines:
        parts = line["counterparty"].split(":")
        if parts[0] == "operator" and len(parts) > 3:
            (partners if parts[1] == "partner" else agencies).add(parts[2])
        elif parts[0] == "merchant" and len(parts) > 1:
            merchants.add(parts[1])
    names = {"partner": _partner_names(partners), "agency": _agency_names(agencies),
             "merchant": _merchant_names(merchants)}  # fmt: skip
    rows = []
    for line in lines:
        label, detail = counterparty_label(line["counterparty"], line["amount"], names)
        rows.append(
            dict(
                line,
                label=label,
                detail=detail,
                kind=line["counterparty"].split(":")[0],
                magnitude=abs(line["amount"]),
            )
        )
    return rows


def _rule_names(taps) -> dict[str, str]:
    codes = {applied.get("rule") for tap in taps for applied in (tap.rules or [])}
    codes.discard(None)
    return dict(selectors.benefit_rules().filter(code__in=codes).values_list("code", "name")) if codes else {}


def rules_applied(applied: list[dict], names: dict[str, str]) -> list[str]:
    """["買一送一: 18 → 0", "敬老點數: 12 points"]: what each rule did to the price."""
    out = []
    for item in applied or []:
        name = names.get(item.get("rule"), item.get("rule", ""))
        if "before" in item:
            out.append(_("%(rule)s: %(before)s → %(after)s") % {"rule": name, "before": item["before"],
                                                                 "after": item["after"]})  # fmt: skip
        elif "points" in item:
            out.append(_("%(rule)s: %(points)s points") % {"rule": name, "points": item["points"]})
        else:
            out.append(name)
    return out


def use_rows(taps: list[Tap]) -> list[dict]:
    functions = {
        f.code: _function_name(f) for f in CardFunction.objects.filter(code__in={t.function for t in taps})
    }
    names = _rule_names(taps)
    return [
        {
            "tap": tap, "function_name": functions.get(tap.function, tap.function),
            "rules": rules_applied(tap.rules, names), "refusal": str(REFUSALS.get(tap.reason, tap.reason)),
        }
        for tap in taps
    ]  # fmt: skip


def offer_text(offer: MerchantOffer) -> str:
    p = offer.params
    if offer.kind == MerchantOffer.Kind.SPECIAL_PRICE:
        return _("%(item)s NT$%(price)s (usually NT$%(list_price)s)") % p
    if offer.kind == MerchantOffer.Kind.SPEND_AND_SAVE:
        return _("Spend NT$%(threshold)s, save NT$%(off)s") % p
    if offer.kind == MerchantOffer.Kind.PERCENT_OFF:
        if p.get("max_off"):
            return _("%(percent)s%% off, at most NT$%(max_off)s") % p
        return _("%(percent)s%% off") % p
    if offer.kind == MerchantOffer.Kind.POINTS_MULTIPLIER:
        return _("Bonus points × %(multiplier)s") % p
    return ""


# --- the holder's pages -----------------------------------------------------------------------


@login_required
def wallet(request: HttpRequest, number: str) -> HttpResponse:
    card = _my_card_or_404(request, number)
    taps = list(selectors.card_uses(card)[:USES_LIMIT])
    entries = list(selectors.points_entries(card)[:POINTS_LIMIT])
    sealed_days = set(
        selectors.points_seals().filter(day__in={e.day for e in entries}).values_list("day", flat=True)
    )
    return render(request, "card/wallet.html", {
        "card": card, "balances": selectors.card_balances(card), "max_stored_value": services.MAX_STORED_VALUE,
        "statement": statement_rows(selectors.card_statement(card, limit=STATEMENT_LIMIT)),
        "uses": use_rows(taps), "entries": [{"entry": e, "sealed": e.day in sealed_days} for e in entries],
    })  # fmt: skip


@login_required
def points_receipt(request: HttpRequest, entry_id: int) -> HttpResponse:
    """The receipt of one of the holder's own bonus points entries, as a JSON file to keep."""
    entry = (
        PointsEntry.objects.filter(pk=entry_id, card__in=selectors.my_cards(request.user).values("pk"))
        .select_related("card")
        .first()
    )
    if entry is None:
        raise Http404(_("No such entry."))
    response = JsonResponse(
        services.points_receipt(entry), json_dumps_params={"ensure_ascii": False, "indent": 2}
    )
    response["Content-Disposition"] = f'attachment; filename="points-receipt-{entry.pk}.json"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- public pages ---------------------------------------------------------------------------------


def points_roots(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.points_seals(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "card/points_roots.html", {"page": page})


def _merchant_map(merchants: list[Merchant]) -> dict | None:
    """An inline SVG scatter of the listed merchants, framed by the box around every active
    merchant (so the frame stays put while filtering); None when none has coordinates. No map
    tiles: the server may have no internet."""
    placed = [m for m in merchants if m.latitude is not None and m.longitude is not None]
    if not placed:
        return None
    box = Merchant.objects.filter(is_active=True, latitude__isnull=False, longitude__isnull=False).aggregate(
        south=Min("latitude"), north=Max("latitude"), west=Min("longitude"), east=Max("longitude")
    )
    south, north = float(box["south"]), float(box["north"])
    west, east = float(box["west"]), float(box["east"])
    lat_span, lng_span = max(north - south, 0.01), max(east - west, 0.01)
    south, north = south - lat_span * MAP_PADDING, north + lat_span * MAP_PADDING
    west, east = west - lng_span * MAP_PADDING, east + lng_span * MAP_PADDING
    # A degree of longitude is shorter than one of latitude by cos(latitude).
    x_scale = math.cos(math.radians((south + north) / 2))
    height = max(160, round(MAP_WIDTH * (north - south) / ((east - west) * x_scale)))
    height = min(height, 900)
    dots = [
        {
            "merchant": m,
            "x": round((float(m.longitude) - west) / (east - west) * MAP_WIDTH, 1),
            "y": round((north - float(m.latitude)) / (north - south) * height, 1),
        }
        for m in placed
    ]
    return {"width": MAP_WIDTH, "height": height, "dots": dots}


def merchants(request: HttpRequest) -> HttpResponse:
    form = MerchantFilterForm(request.GET or None)
    filters = {"category": "", "district_code": "", "q": ""}
    if form.is_valid():
        district = form.cleaned_data["district"]
        filters = {"category": form.cleaned_data["category"], "district_code": district.code if district else "",
                   "q": form.cleaned_data["q"].strip()}  # fmt: skip
    found = selectors.merchants(**filters).order_by("district__sort_order", "name", "code")
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    rows = [
        {"merchant": m, "offers": [(o, offer_text(o)) for o in m.offers.all() if o.is_valid_on(today)]}
        for m in page.object_list
    ]
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "card/merchants.html", {
        "form": form, "page": page, "rows": rows, "map": _merchant_map([r["merchant"] for r in rows]),
        "query": query.urlencode(),
    })  # fmt: skip


# --- card desk --------------------------------------------------------------------------------------


def _new_top_up_form() -> TopUpForm:
    return TopUpForm(initial={"channel": "counter", "key": secrets.token_urlsafe(18)}, auto_id="id_topup_%s")


def staff_money(card: Card, top_up_form: TopUpForm | None = None) -> dict:
    """The wallet half of the desk's card page: balances, a top-up form, the three ledgers."""
    top_up_form = top_up_form or _new_top_up_form()
    return {
        "balances": selectors.card_balances(card), "max_stored_value": services.MAX_STORED_VALUE,
        "top_up_form": top_up_form, "can_top_up": card.is_usable_at(timezone.now()),
        "ledgers": [
            {"unit": unit, "label": label, "lines": statement_rows(selectors.card_statement(card, unit=unit,
                                                                                          limit=LEDGER_LIMIT))}
            for unit, label in UNITS
        ],
    }  # fmt: skip


@card_desk_required
@require_POST
def staff_card_top_up(request: HttpRequest, number: str) -> HttpResponse:
    card = _staff_card_or_404(request, number)
    form = TopUpForm(request.POST, auto_id="id_topup_%s")
    if form.is_valid():
        before = selectors.card_balances(card)["stored_value"]
        try:
            balance = services.wallet_top_up(
                actor=request.user, card=card, amount=form.cleaned_data["amount"],
                channel=form.cleaned_data["channel"], idempotency_key=form.cleaned_data["key"],
            )  # fmt: skip
        except ServiceError as exc:
            form.add_error("amount" if not isinstance(exc.details, dict) or "balance" in exc.details else None,
                           exc.message)  # fmt: skip
        else:
            if balance == before:  # the same form sent again: the ledger kept the first
                messages.info(request, _("This top-up was already recorded. The balance is NT$%(balance)s.")
                              % {"balance": balance})  # fmt: skip
            else:
                messages.success(request, _("NT$%(amount)s added. The balance is NT$%(balance)s.")
                                 % {"amount": form.cleaned_data["amount"], "balance": balance})  # fmt: skip
            return redirect(f"{reverse('card:staff_card', args=[card.number])}#wallet")
    response = views.staff_card(request, number, top_up_form=form)
    response.status_code = 400
    return response


@card_desk_required
def staff_readers(request: HttpRequest) -> HttpResponse:
    form = ReaderForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            key = ApiKey.objects.filter(prefix=data["api_key_prefix"].strip()).first()
            if key is None:
                form.add_error("api_key_prefix", _("No API key has that prefix."))
            else:
                try:
                    reader = services.reader_register(
                        actor=request.user, code=data["code"], kind=data["kind"], api_key=key,
                        functions=data["functions"], operator_partner=data["operator_partner"],
                        operator_agency=data["operator_agency"], district=data["district"], location=data["location"],
                    )  # fmt: skip
                except ServiceError as exc:
                    field = views._field_of(exc)
                    field = {"api_key": "api_key_prefix"}.get(field, field)
                    form.add_error(field if field in form.fields else None, exc.message)
                else:
                    messages.success(request, _("Reader %(code)s is registered.") % {"code": reader.code})
                    return redirect("card:staff_readers")
        status = 400
    page = Paginator(selectors.readers(), PAGE_SIZE).get_page(request.GET.get("page"))
    functions = {f.code: _function_name(f) for f in CardFunction.objects.all()}
    rows = [
        {"reader": r, "functions": [functions.get(code, code) for code in r.functions]}
        for r in page.object_list
    ]
    return render(
        request, "card/staff_readers.html", {"form": form, "page": page, "rows": rows}, status=status
    )


def _rule_initial(rule: BenefitRule) -> dict:
    return {"code": rule.code, "name": rule.name, "kind": rule.kind, "function": rule.function.code,
            "card_kinds": rule.card_kinds, "params": json.dumps(rule.params, ensure_ascii=False),
            "effective_from": rule.effective_from, "effective_until": rule.effective_until,
            "priority": rule.priority, "is_active": rule.is_active}  # fmt: skip


def _preview(request: HttpRequest, form: PricePreviewForm) -> dict | None:
    if not form.is_valid():
        return None
    try:
        card = selectors.access_card(request.user, form.cleaned_data["card"])
    except NotFound:
        form.add_error("card", _("No card with this number among the cards you can see."))
        return None
    function = form.cleaned_data["function"]
    charge = settlement.price_preview(card=card, function=function.code, fare=form.cleaned_data["fare"])
    return {
        "card": card, "function_name": _function_name(function), "charge": charge,
        "rules": rules_applied(charge.applied, dict(selectors.benefit_rules().values_list("code", "name"))),
        "refusal": str(REFUSALS.get(charge.refusal, charge.refusal)) if charge.refusal else "",
    }  # fmt: skip


@card_desk_required
def staff_rules(request: HttpRequest) -> HttpResponse:
    status = 200
    if request.method == "POST":
        form = RuleForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                rule = services.rule_save(
                    actor=request.user, code=data["code"], name=data["name"], kind=data["kind"],
                    function=data["function"], params=data["params"], effective_from=data["effective_from"],
                    effective_until=data["effective_until"], card_kinds=data["card_kinds"], priority=data["priority"],
                    is_active=data["is_active"],
                )  # fmt: skip
            except ServiceError as exc:
                field = views._field_of(exc)
                form.add_error(field if field in form.fields else None, exc.message)
            else:
                messages.success(request, _("Rule %(code)s is saved.") % {"code": rule.code})
                return redirect(f"{reverse('card:staff_rules')}#rule-{rule.code}")
        status = 400
    else:
        editing = selectors.benefit_rules().filter(code=request.GET.get("edit", "")).first()
        form = RuleForm(
            initial=_rule_initial(editing) if editing else {"effective_from": timezone.localdate()}
        )
    preview_form = PricePreviewForm(request.GET if "preview-card" in request.GET else None, prefix="preview")
    preview = _preview(request, preview_form)
    kinds = dict(Card._meta.get_field("kind").choices)
    rules = [
        {"rule": rule, "card_kinds": [kinds.get(k, k) for k in rule.card_kinds],
         "params": json.dumps(rule.params, ensure_ascii=False, sort_keys=True),
         "function_name": _function_name(rule.function)}
        for rule in selectors.benefit_rules()
    ]  # fmt: skip
    return render(request, "card/staff_rules.html", {
        "form": form, "rules": rules, "preview_form": preview_form, "preview": preview,
        "editing": request.GET.get("edit", "") if request.method == "GET" else "",
    }, status=status)  # fmt: skip


@card_desk_required
def staff_flagged_uses(request: HttpRequest) -> HttpResponse:
    uses = selectors.flagged_uses(request.user).order_by("-tapped_at", "-id")
    page = Paginator(uses, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "card/staff_flagged_uses.html", {"page": page, "rows": use_rows(list(page.object_list))}
    )
