"""Forms of the card pages. They parse and check shapes only; eligibility, photos and state
rules are the services' (their messages are put next to the field they name)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from civicstack.core import identity

from . import selectors
from .models import Card, CardApplication, CardPartner, ExperienceEvent
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
