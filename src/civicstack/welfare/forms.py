"""Staff forms of the welfare pages: a benefit's details (the rule has its own editor: rules are
dated versions, details are not)."""

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from civicstack.core.errors import NotFound
from civicstack.core.models import Agency

from .models import Benefit
from .services import BENEFIT_EDITABLE


class BenefitForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    agency = forms.ModelChoiceField(label=_("Agency"), queryset=Agency.objects.none())
    category = forms.ChoiceField(label=_("Category"), choices=Benefit.Category.choices)
    summary = forms.CharField(label=_("What it is"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    amount = forms.IntegerField(
        label=_("Amount (NT$)"), min_value=0, max_value=100_000_000, required=False,
        help_text=_("Only when the benefit is a sum of money; leave empty otherwise."),
    )  # fmt: skip
    amount_text = forms.CharField(label=_("What is given"), max_length=200, required=False)
    how_to_apply = forms.CharField(
        label=_("How to apply"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    eservices_item_code = forms.CharField(
        label=_("Online application item code"), max_length=40, required=False,
        help_text=_("The code of the online application item citizens are sent to; empty when there is none."),
    )  # fmt: skip
    legal_basis = forms.CharField(label=_("Legal basis"), max_length=200, required=False)
    is_active = forms.BooleanField(label=_("Shown to citizens and evaluated"), required=False)

    def __init__(self, *args, agencies: QuerySet[Agency], read_only: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = agencies.order_by("code")
        if read_only:
            for field in self.fields.values():
                field.disabled = True

    @classmethod
    def initial_of(cls, benefit: Benefit) -> dict:
        return {name: getattr(benefit, name) for name in cls.base_fields}

    def clean_eservices_item_code(self) -> str:
        code = self.cleaned_data["eservices_item_code"].strip()
        if code and code != self.initial.get("eservices_item_code"):  # a new link must lead somewhere
            from civicstack.eservices.selectors import item_by_code

            try:
                item_by_code(code)
            except NotFound as exc:
                raise forms.ValidationError(
                    _("There is no active online application item with this code.")
                ) from exc
        return code

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("amount") is None and not cleaned.get("amount_text", "").strip():
            self.add_error("amount_text", _("Say what is given: an amount, a description, or both."))
        return cleaned

    def changes(self) -> dict:
        """The cleaned values under the names ``services.benefit_update`` takes."""
        return {name: self.cleaned_data[name] for name in BENEFIT_EDITABLE}
