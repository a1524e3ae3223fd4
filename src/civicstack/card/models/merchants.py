from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Merchant(models.Model):
    """A partner merchant (特約商店), a public-market stall included: where card holders pay with
    the card's stored value and get the merchant's offers."""

    class Category(models.TextChoices):
        FOOD = "food", _("Food and drink")
        RETAIL = "retail", _("Shops")
        MARKET = "market", _("Public market")
        LEISURE = "leisure", _("Leisure and tourism")
        HEALTH = "health", _("Health and beauty")
        SERVICES = "services", _("Services")
        TRANSPORT = "transport", _("Transport")

    code = models.SlugField(_("merchant code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=120)
    business_number = models.CharField(_("unified business number"), max_length=8)
    category = models.CharField(_("category"), max_length=10, choices=Category.choices)
    district = models.ForeignKey("core.District", verbose_name=_("district"), on_delete=models.PROTECT)
    address = models.CharField(_("address"), max_length=200)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    api_key = models.ForeignKey(
        "core.ApiKey", verbose_name=_("terminal key"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="card_merchants",
    )  # fmt: skip
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["district", "name"]
        verbose_name = _("partner merchant")
        verbose_name_plural = _("partner merchants")
        indexes = [models.Index(fields=["category", "district"], name="card_merchant_cat_district")]

    def __str__(self) -> str:
        return self.name


class MerchantOffer(models.Model):
    """An offer: a special price, spend-and-save, a percentage off, or bonus points multiplied."""

    class Kind(models.TextChoices):
        SPECIAL_PRICE = "special_price", _("Special price")
        SPEND_AND_SAVE = "spend_and_save", _("Spend and save")
        PERCENT_OFF = "percent_off", _("Percentage off")
        POINTS_MULTIPLIER = "points_multiplier", _("Bonus points multiplied")

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="offers")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=120)
    # special_price: {"item": "...", "price": 50, "list_price": 80} (shown, not applied to a payment);
    # spend_and_save: {"threshold": 500, "off": 50}; percent_off: {"percent": 10, "max_off": 200};
    # points_multiplier: {"multiplier": 2} (bonus points per NT$100 spent, times this)
    params = models.JSONField(_("parameters"), default=dict)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["merchant", "valid_from"]
        verbose_name = _("merchant offer")
        verbose_name_plural = _("merchant offers")

    def __str__(self) -> str:
        return self.title

    def is_valid_on(self, day) -> bool:
        return (
            self.is_active
            and self.valid_from <= day
            and (self.valid_until is None or day <= self.valid_until)
        )


class MerchantPayment(models.Model):
    """A card holder paying a merchant from the stored value: by scanning the merchant's QR code in
    the app, or the merchant scanning the card's short-lived QR. Refunds are new rows that point back."""

    class Method(models.TextChoices):
        MERCHANT_QR = "merchant_qr", _("Holder scanned the merchant's QR code")
        CARD_QR = "card_qr", _("Merchant scanned the card's QR code")
        REFUND = "refund", _("Refund")

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="payments")
    card = models.ForeignKey("card.Card", on_delete=models.PROTECT, related_name="merchant_payments")
    method = models.CharField(_("method"), max_length=12, choices=Method.choices)
    amount = models.PositiveIntegerField(_("price (NT$)"))
    discount = models.PositiveIntegerField(_("discount (NT$)"), default=0)
    paid = models.PositiveIntegerField(_("paid (NT$)"))
    offer = models.ForeignKey(
        MerchantOffer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    points_earned = models.PositiveIntegerField(_("bonus points earned"), default=0)
    key = models.CharField(max_length=120, unique=True, help_text="idempotency key")
    refund_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("merchant payment")
        verbose_name_plural = _("merchant payments")
        indexes = [models.Index(fields=["merchant", "created_at"], name="card_mpay_merchant_time")]

    def __str__(self) -> str:
        return f"{self.merchant_id} {self.paid}"
