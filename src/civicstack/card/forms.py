"""Forms of the card pages. They parse and check shapes only; eligibility, photos and state
rules are the services' (their messages are put next to the field they name)."""

import json
import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from civicstack.core import identity
from civicstack.core.models import Agency, District

from . import selectors
from .models import BenefitRule, Card, CardApplication, CardPartner, ExperienceEvent, Merchant, Reader
from .models.kinds import CardKind, Channel

# One line each: who may hold the card (the rules themselves are in eligibility.py).
KIND_EXPLANATIONS = {
    CardKind.GENERAL: _("For residents registered in the city."),
    CardKind.STUDENT: _("For pupils and students enrolled at a school in the city."),
    CardKind.SENIOR: _("For residents aged 65 and over."),
    CardKind.DISABILITY: _("For residents with a valid disability certificate."),
    CardKind.COMPANION: _(
        "For the companion of a disability-card holder whose certificate notes that a companion is needed."
    ),
    CardKind.MOBILE: _(
        "The card on your phone's SIM: for residents and for students of colleges in the city."
    ),
    CardKind.COBRANDED: _("A credit card with the card's functions: for residents aged 18 and over."),
}
PHOTO_ACCEPT = "image/jpeg,image/png,.jpg,.jpeg,.png"


class ApplicationForm(forms.Form):
    kind = forms.ChoiceField(label=_("Card type"), choices=CardKind.choices, widget=forms.RadioSelect)
    photo = forms.FileField(
        label=_("Photo (JPEG or PNG)"), required=False,
        help_text=_("A recent upright photo of your face, at least 300 × 400 pixels, at most 5 MB. "
                    "Not needed for mobile and co-branded cards."),
        widget=forms.FileInput(attrs={"accept": PHOTO_ACCEPT}),
    )  # fmt: skip
    companion_identifier = forms.CharField(
        label=_("ID number of the person you accompany"), max_length=12, required=False,
        help_text=_("Only for a companion card."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}),
    )  # fmt: skip
    telecom = forms.ModelChoiceField(
        label=_("Telecom"), queryset=CardPartner.objects.none(), required=False,
        empty_label=_("Choose a telecom"), help_text=_("Only for a mobile citizen card."),
    )  # fmt: skip
    mobile_number = forms.CharField(
        label=_("Mobile number of the SIM"), max_length=10, required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "tel", "placeholder": "09xxxxxxxx"}),
    )  # fmt: skip
    bank = forms.ModelChoiceField(
        label=_("Bank"), queryset=CardPartner.objects.none(), required=False,
        empty_label=_("Choose a bank"), help_text=_("Only for a co-branded credit card."),
    )  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["telecom"].queryset = selectors.partners(CardPartner.Kind.TELECOM)
        self.fields["bank"].queryset = selectors.partners(CardPartner.Kind.BANK)

    def kind_options(self) -> list[dict]:
        """The radio buttons with their explanation, ids ``id_kind_<kind>``."""
        chosen = self["kind"].value()
        return [
            {"value": value, "label": label, "explanation": KIND_EXPLANATIONS.get(value, ""),
             "id": f"id_kind_{value}", "checked": chosen == value}
            for value, label in CardKind.choices
        ]  # fmt: skip

    def clean_companion_identifier(self) -> str:
        value = self.cleaned_data["companion_identifier"].strip()
        if value:
            try:
                value, _kind = identity.validate(value)
            except identity.InvalidIdentifier as exc:
                raise forms.ValidationError(_("Not a valid number: %(reason)s") % {"reason": exc}) from exc
        return value

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if (
            kind == CardKind.COMPANION
            and not data.get("companion_identifier")
            and "companion_identifier" not in self.errors
        ):
            self.add_error(
                "companion_identifier", _("Give the ID number of the disability-card holder you accompany.")
            )
        if kind == CardKind.MOBILE and not data.get("telecom"):
            self.add_error("telecom", _("Choose one of the partner telecoms."))
        if kind == CardKind.COBRANDED and not data.get("bank"):
            self.add_error("bank", _("Choose one of the partner banks."))
        return data

    def partner(self) -> CardPartner | None:
        kind = self.cleaned_data.get("kind")
        if kind == CardKind.MOBILE:
            return self.cleaned_data.get("telecom")
        if kind == CardKind.COBRANDED:
            return self.cleaned_data.get("bank")
        return None


class CounterApplicationForm(ApplicationForm):
    """A clerk enters an application at a counter or an experience event."""

    identifier = forms.CharField(
        label=_("Applicant's national ID or resident certificate number"), max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}),
    )  # fmt: skip
    channel = forms.ChoiceField(
        label=_("Received at"), choices=[(Channel.COUNTER, Channel.COUNTER.label), (Channel.EVENT, Channel.EVENT.label)],
        initial=Channel.COUNTER,
    )  # fmt: skip
    event = forms.ModelChoiceField(
        label=_("Experience event"), queryset=ExperienceEvent.objects.none(), required=False,
        empty_label=_("Not at an event"), help_text=_("When received at an experience event."),
    )  # fmt: skip

    field_order = ["identifier", "kind", "photo", "channel", "event"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["event"].queryset = ExperienceEvent.objects.select_related("district").order_by(
            "-starts_on"
        )
        self.fields["photo"].help_text = _(
            "The applicant's photo: JPEG or PNG, upright, at least 300 × 400 pixels."
        )

    def clean_identifier(self) -> str:
        try:
            number, _kind = identity.validate(self.cleaned_data["identifier"])
        except identity.InvalidIdentifier as exc:
            raise forms.ValidationError(_("Not a valid number: %(reason)s") % {"reason": exc}) from exc
        return number

    def clean(self):
        data = super().clean()
        if data.get("channel") == Channel.EVENT and not data.get("event"):
            self.add_error("event", _("Choose the experience event."))
        if data.get("channel") == Channel.COUNTER:
            data["event"] = None
        return data


class CarrierForm(forms.Form):
    barcode = forms.CharField(
        label=_("E-invoice mobile barcode"), max_length=8,
        help_text=_("/ followed by 7 characters, as shown in the Ministry of Finance's e-invoice app."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters",
                                      "placeholder": "/ABC1234"}),
    )  # fmt: skip


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), min_length=2, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ApproveForm(forms.Form):
    note = forms.CharField(label=_("Note (optional)"), max_length=1000, required=False)


class CancelForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason for cancelling"), choices=Card.CancelReason.choices)
    note = forms.CharField(
        label=_("Details"), max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class QueueFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("All states")), *CardApplication.State.choices]
    )
    kind = forms.ChoiceField(
        label=_("Card type"), required=False, choices=[("", _("All types")), *CardKind.choices]
    )
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("All channels")), *Channel.choices]
    )


class CardSearchForm(forms.Form):
    card = forms.CharField(
        label=_("Card number"), max_length=24,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"}),
    )  # fmt: skip


class WalkInForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    checked_in = forms.BooleanField(label=_("Taking part now"), required=False, initial=True)


class VisitsForm(forms.Form):
    visits = forms.IntegerField(label=_("Visits counted"), min_value=1, max_value=100_000)
    # A new token each time the form is shown: submitting it twice records the count once.
    key = forms.CharField(widget=forms.HiddenInput, max_length=80, required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"key": uuid.uuid4().hex})
        super().__init__(*args, **kwargs)


# --- money and use: top-ups, readers, benefit rules, merchants ----------------------------------


class TopUpForm(forms.Form):
    """A counter top-up. ``key`` is made when the form is drawn, so a second click on the same
    form (or a resubmitted page) is the same top-up and the ledger posts it once."""

    amount = forms.IntegerField(
        label=_("Amount (NT$)"), min_value=1, max_value=10_000,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )  # fmt: skip
    channel = forms.ChoiceField(label=_("Received"), choices=[("counter", _("Cash or card at the counter"))])
    key = forms.CharField(max_length=80, widget=forms.HiddenInput)


class ReaderForm(forms.Form):
    code = forms.RegexField(
        label=_("Reader code"), regex=r"^[a-z0-9-]{3,40}$", max_length=40,
        help_text=_("3 to 40 lower-case letters, digits and hyphens, e.g. bus-1234-a."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )  # fmt: skip
    kind = forms.ChoiceField(label=_("Kind"))
    operator_partner = forms.ModelChoiceField(
        label=_("Operator (partner)"), queryset=CardPartner.objects.none(), required=False,
        empty_label=_("Not a partner"), to_field_name="code",
    )  # fmt: skip
    operator_agency = forms.ModelChoiceField(
        label=_("Operator (agency)"), queryset=None, required=False, empty_label=_("Not an agency"),
        to_field_name="code",
    )  # fmt: skip
    api_key_prefix = forms.CharField(
        label=_("Upload key prefix"), max_length=12,
        help_text=_("The part after cs_ of the operator's key; the key needs the scope card.taps:upload."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )  # fmt: skip
    functions = forms.MultipleChoiceField(label=_("Functions it serves"), widget=forms.CheckboxSelectMultiple)
    district = forms.ModelChoiceField(
        label=_("District"),
        queryset=None,
        required=False,
        empty_label=_("Any district"),
        to_field_name="code",
    )
    location = forms.CharField(label=_("Location or route"), max_length=120, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = Reader.Kind.choices
        self.fields["operator_partner"].queryset = selectors.partners().order_by("name")
        self.fields["operator_agency"].queryset = Agency.objects.order_by("code")
        self.fields["district"].queryset = District.objects.all()
        self.fields["functions"].choices = [
            (f.code, f"{f.name_zh} ({f.code})") for f in selectors.functions()
        ]

    def clean(self):
        data = super().clean()
        if bool(data.get("operator_partner")) == bool(data.get("operator_agency")):
            self.add_error(
                None, _("A reader belongs to one operator: choose a partner or an agency, not both.")
            )
        return data


class RuleForm(forms.Form):
    code = forms.RegexField(
        label=_("Rule code"), regex=r"^[a-z0-9-]{3,40}$", max_length=40,
        help_text=_("Saving with an existing code changes that rule."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )  # fmt: skip
    name = forms.CharField(
        label=_("Rule name"), max_length=120, help_text=_("As holders see it on their statement.")
    )
    kind = forms.ChoiceField(label=_("Kind"))
    function = forms.ModelChoiceField(label=_("Function"), queryset=None, to_field_name="code")
    card_kinds = forms.MultipleChoiceField(
        label=_("Card types"), choices=CardKind.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every card type."),
    )  # fmt: skip
    params = forms.CharField(
        label=_("Parameters (JSON)"), required=False, initial="{}",
        help_text=_('For example {"every": 2} for every 2nd use free, {"percent": 20} for 20% off.'),
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "mono"}),
    )  # fmt: skip
    effective_from = forms.DateField(
        label=_("In force from"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    effective_until = forms.DateField(
        label=_("In force until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    priority = forms.IntegerField(label=_("Priority"), min_value=0, max_value=10_000, initial=100)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = BenefitRule.Kind.choices
        self.fields["function"].queryset = selectors.functions().order_by("sort_order", "code")

    def clean_params(self) -> dict:
        raw = (self.cleaned_data.get("params") or "").strip() or "{}"
        try:
            params = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                _("Not valid JSON (line %(line)s, column %(column)s): %(reason)s")
                % {"line": exc.lineno, "column": exc.colno, "reason": exc.msg}
            ) from exc
        if not isinstance(params, dict):
            raise forms.ValidationError(_('The parameters are a JSON object, e.g. {"percent": 20}.'))
        return params


class PricePreviewForm(forms.Form):
    card = forms.CharField(
        label=_("Card number"), max_length=24,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"}),
    )  # fmt: skip
    function = forms.ModelChoiceField(label=_("Function"), queryset=None, to_field_name="code")
    fare = forms.IntegerField(label=_("Fare or price (NT$)"), min_value=0, max_value=100_000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["function"].queryset = selectors.functions().order_by("sort_order", "code")


class MerchantFilterForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), required=False)
    district = forms.ModelChoiceField(
        label=_("District"),
        queryset=None,
        required=False,
        empty_label=_("All districts"),
        to_field_name="code",
    )
    q = forms.CharField(label=_("Name or address"), max_length=60, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("All categories")), *Merchant.Category.choices]
        self.fields["district"].queryset = District.objects.all()
