"""Payment pages: my payments, an order's payment page (notice PDF, store barcodes, virtual
account, card, e-wallet), the sandbox card checkout, and the staff reconciliation screen."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civicstack.core.city_profile import city_name
from civicstack.core.errors import ServiceError
from civicstack.core.identity import mask_name
from civicstack.core.selectors import person_of_user

from . import channels_config, selectors, services
from .forms import SettlementUploadForm
from .models import PaymentOrder, SettlementImport


@login_required
def my_payments(request: HttpRequest) -> HttpResponse:
    orders = selectors.orders_of_user(request.user)
    return render(request, "payments/my_payments.html", {"orders": orders})


def _order(number: str) -> PaymentOrder:
    # The 16-digit number printed on the notice is what lets its holder pay, as on paper bills.
    order = selectors.order_by_number(number)
    if order is None:
        raise Http404("no such payment order")
    return order


def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    order = _order(number)
    person = person_of_user(request.user) if request.user.is_authenticated else None
    context = {
        "order": order,
        "payer_name": mask_name(order.payer_name),
        "barcodes": channels_config.store_barcodes(order) if order.is_payable else None,
        # Only read: viewing a bill must not open a ledger account.
        "wallet": selectors.wallet_of(person) if person is not None and order.is_payable else None,
    }
    return render(request, "payments/order_detail.html", context)


def order_notice_pdf(request: HttpRequest, number: str) -> HttpResponse:
    order = _order(number)
    pdf = services.payment_notice_pdf(order=order, city_name=city_name("zh"))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="notice-{order.number}.pdf"'
    return response


@require_POST
def order_checkout(request: HttpRequest, number: str) -> HttpResponse:
    order = _order(number)
    try:
        checkout = services.payment_order_start_checkout(actor=None, order=order)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("payments:order_detail", number=number)
    separator = "&" if "?" in checkout.redirect_url else "?"
    return redirect(f"{checkout.redirect_url}{separator}order={order.number}")


@login_required
@require_POST
def order_pay_wallet(request: HttpRequest, number: str) -> HttpResponse:
    order = _order(number)
    person = person_of_user(request.user)
    if person is None:
        messages.error(request, _("Your login is not linked to a resident record, so it has no e-wallet."))
        return redirect("payments:order_detail", number=number)
    try:
        services.payment_order_pay_from_wallet(actor=request.user, order_number=order.number, person=person)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Paid from your e-wallet. Thank you."))
    return redirect("payments:order_detail", number=number)


def sandbox_checkout(request: HttpRequest, reference: str) -> HttpResponse:
    """The sandbox card gateway's page (no real money): pay or decline."""
    if settings.PAYMENTS_GATEWAY != "sandbox":
        raise Http404("the sandbox gateway is not enabled")
    order = _order(request.GET.get("order", "") or request.POST.get("order", ""))
    if request.method == "POST":
        paid = request.POST.get("decision") == "pay"
        body, headers = channels_config.card_gateway().make_notification(
            gateway_reference=reference, order_number=order.number, amount=order.amount,
            status="paid" if paid else "failed", paid_at=timezone.now() if paid else None,
        )  # fmt: skip
        try:
            services.gateway_notification_receive(body=body, headers=headers)
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Card payment accepted.") if paid else _("Card payment declined."))
        return redirect("payments:order_detail", number=order.number)
    return render(request, "payments/sandbox_checkout.html", {"order": order, "reference": reference})


def _require_reconciler(request: HttpRequest) -> None:
    if not selectors.can_reconcile(request.user):
        raise DjangoPermissionDenied


@login_required
def settlement_list(request: HttpRequest) -> HttpResponse:
    _require_reconciler(request)
    form = SettlementUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            record = services.settlement_import(
                actor=request.user,
                data=upload.read(),
                format=form.cleaned_data["format"],
                filename=upload.name,
            )
        except ServiceError as exc:
            form.add_error("file", exc.message)
        else:
            return redirect("payments:settlement_detail", pk=record.pk)
    imports = SettlementImport.objects.select_related("imported_by")[:50]
    return render(request, "payments/settlement_list.html", {"form": form, "imports": imports})


@login_required
def settlement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_reconciler(request)
    record = get_object_or_404(SettlementImport, pk=pk)
    return render(request, "payments/settlement_detail.html", {"record": record})
