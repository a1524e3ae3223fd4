"""Pages of the citizen portal: home, login (with the optional TOTP step), my data, the agency
directory, and two-factor enrolment for staff. Thin: they parse, call selectors/services, render."""

import base64

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import selectors, services
from .errors import NotFound
from .forms import DirectoryFilterForm, LoginForm, OtpForm
from .health import health_report
from .models import Agency, AgencyContact, District, User
from .portal import portal_tiles

PENDING_OTP_USER = "civicstack_pending_otp_user"
PENDING_OTP_NEXT = "civicstack_pending_otp_next"


def home(request: HttpRequest) -> HttpResponse:
    context = {"tiles": portal_tiles()}
    if request.user.is_authenticated:
        context["is_staff_member"] = selectors.staff_scope(request.user).is_staff
        context["unread"] = selectors.notifications_for(request.user).filter(read_at__isnull=True).count()
    return render(request, "core/home.html", context)


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("core:home")


def _confirmed_device(user: User):
    return next(iter(devices_for_user(user, confirmed=True)), None)


def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = authenticate(
            request, username=form.cleaned_data["username"], password=form.cleaned_data["password"]
        )
        if user is not None:
            if _confirmed_device(user) is not None:
                # Password accepted; the session is not logged in until the one-time code is.
                request.session.cycle_key()
                request.session[PENDING_OTP_USER] = user.pk
                request.session[PENDING_OTP_NEXT] = _safe_next(request)
                return redirect("core:login_otp")
            login(request, user)
            return redirect(_safe_next(request))
        form.add_error(None, _("Wrong username or password."))
    return render(request, "core/login.html", {"form": form, "next": _safe_next(request)}, status=200)


def login_otp_view(request: HttpRequest) -> HttpResponse:
    user = User.objects.filter(pk=request.session.get(PENDING_OTP_USER), is_active=True).first()
    if user is None:
        return redirect("core:login")
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = _confirmed_device(user)
        if device is not None and device.verify_token(form.cleaned_data["token"]):
            next_url = request.session.get(PENDING_OTP_NEXT) or reverse("core:home")
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            otp_login(request, device)
            return redirect(next_url)
        form.add_error("token", _("That code is not valid. Check your app's clock and try again."))
    return render(request, "core/login_otp.html", {"form": form})


def login_locked_out(request: HttpRequest, credentials=None, *args, **kwargs) -> HttpResponse:
    """django-axes calls this when a username and address have failed too often."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = _("Too many failed logins. Wait %(minutes)d minutes and try again, or call 1999 for help.") % {
        "minutes": minutes
    }
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": {"code": "locked_out", "message": message, "details": None}}, status=403
        )
    return render(request, "core/locked_out.html", {"message": message}, status=403)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, _("You have logged out."))
    return redirect("core:home")


@login_required
def my_data(request: HttpRequest) -> HttpResponse:
    person = selectors.person_of_user(request.user)
    members = selectors.household_members(person).exclude(pk=person.pk) if person else []
    notifications = selectors.notifications_for(request.user)[:20]
    return render(
        request, "core/my_data.html", {"person": person, "members": members, "notifications": notifications}
    )


@login_required
@require_POST
def notification_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    try:
        notification = selectors.access_notification_by_id(request.user, notification_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    services.notification_mark_read(notification=notification)
    return redirect(notification.url or reverse("core:my_data"))


def directory(request: HttpRequest) -> HttpResponse:
    form = DirectoryFilterForm(request.GET or None)
    agencies = (
        Agency.objects.filter(is_active=True).select_related("district", "parent").order_by("kind", "code")
    )
    if form.is_valid():
        if form.cleaned_data["q"]:
            q = form.cleaned_data["q"]
            agencies = agencies.filter(Q(name_zh__icontains=q) | Q(name_en__icontains=q))
        if form.cleaned_data["district"]:
            agencies = agencies.filter(district__code=form.cleaned_data["district"])
        if form.cleaned_data["kind"]:
            agencies = agencies.filter(kind=form.cleaned_data["kind"])
    groups: dict[str, list[Agency]] = {}
    labels = dict(Agency.Kind.choices)
    for agency in agencies:
        groups.setdefault(str(labels.get(agency.kind, agency.kind)), []).append(agency)
    return render(
        request, "core/directory.html",
        {"form": form, "groups": groups, "districts": District.objects.all(), "kinds": Agency.Kind.choices},
    )  # fmt: skip


def agency_detail(request: HttpRequest, code: str) -> HttpResponse:
    agency = get_object_or_404(
        Agency.objects.select_related("parent", "district").prefetch_related(
            Prefetch("contacts", queryset=AgencyContact.objects.order_by("sort_order")),
            Prefetch("children", queryset=Agency.objects.filter(is_active=True).order_by("code")),
        ),
        code=code, is_active=True,
    )  # fmt: skip
    return render(request, "core/agency_detail.html", {"agency": agency})


@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """Staff enrol an authenticator app: scan the QR code, confirm with a code."""
    if not selectors.staff_scope(request.user).is_staff:
        return redirect("core:my_data")
    confirmed = _confirmed_device(request.user)
    if confirmed is not None:
        return render(request, "core/two_factor.html", {"enrolled": True})
    device, _created = TOTPDevice.objects.get_or_create(
        user=request.user, confirmed=False, defaults={"name": "authenticator"}
    )
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            services.audit_record(actor=request.user, action="user.totp_enrolled", obj=request.user)
            messages.success(
                request, _("Two-factor login is on. You will be asked for a code at each login.")
            )
            return redirect("core:two_factor")
        form.add_error("token", _("That code is not valid. Check your app's clock and try again."))
    qr = segno.make(device.config_url, error="m")
    svg = base64.b64encode(qr.svg_inline(scale=5).encode()).decode()
    secret = base64.b32encode(device.bin_key).decode()
    return render(
        request, "core/two_factor.html",
        {"enrolled": False, "form": form, "qr_data_uri": f"data:image/svg+xml;base64,{svg}", "secret": secret},
    )  # fmt: skip


def healthz(request: HttpRequest) -> JsonResponse:
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": {"code": "not_found", "message": "no such endpoint", "details": None}}, status=404
        )
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": {"code": "internal_error", "message": "an unexpected error occurred", "details": None}},
            status=500,
        )
    return render(request, "500.html", status=500)
