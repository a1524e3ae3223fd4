from django import forms
from django.utils.translation import gettext_lazy as _

from .models import BusinessItem, FineCase


class LookupForm(forms.Form):
    case_number = forms.CharField(label=_("Case number"), max_length=20, required=False, widget=forms.TextInput(
        attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}))  # fmt: skip
    name = forms.CharField(label=_("Name of the person or company"), max_length=120, required=False,
                           widget=forms.TextInput(attrs={"autocomplete": "name"}))  # fmt: skip
    identifier = forms.CharField(
        label=_("National ID, resident certificate number or unified business number"), max_length=14,
        required=False, widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )  # fmt: skip

    def clean(self):
        data = super().clean()
        if data.get("case_number"):
            return data
        if data.get("name") and data.get("identifier"):
            return data
        if data.get("name") or data.get("identifier"):
            raise forms.ValidationError(
                _("Enter both the name and the ID or unified business number. A name alone is not enough.")
            )
        raise forms.ValidationError(
            _("Enter a case number, or a name together with an ID or unified business number.")
        )


class CaseFilterForm(forms.Form):
    number = forms.CharField(label=_("Case number"), max_length=20, required=False)
    state = forms.ChoiceField(label=_("State"), required=False,
                              choices=[("", _("All states")), *FineCase.State.choices])  # fmt: skip
    kind = forms.ChoiceField(label=_("Kind"), required=False,
                             choices=[("", _("Fees and fines")), *BusinessItem.Kind.choices])  # fmt: skip
    item = forms.CharField(label=_("Item code"), max_length=20, required=False)
    issued_from = forms.DateField(label=_("Issued from"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))  # fmt: skip
    issued_to = forms.DateField(label=_("Issued until"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))  # fmt: skip


class CaseIssueForm(forms.Form):
    item = forms.ModelChoiceField(label=_("Business item"), queryset=BusinessItem.objects.none())
    payer_identifier = forms.CharField(
        label=_("Payer's national ID, resident certificate number or unified business number"), max_length=14,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )  # fmt: skip
    payer_name = forms.CharField(label=_("Payer's name"), max_length=120)
    amount = forms.IntegerField(label=_("Amount (NT$)"), min_value=1, max_value=100_000_000, required=False,
                                help_text=_("Leave empty for the item's default amount."))  # fmt: skip
    due_date = forms.DateField(label=_("Due date"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                               help_text=_("Leave empty for 30 days from today."))  # fmt: skip
    facts = forms.CharField(label=_("Facts of the case"), max_length=4000, required=False,
                            widget=forms.Textarea(attrs={"rows": 4}))  # fmt: skip

    def __init__(self, *args, items=None, **kwargs):
        super().__init__(*args, **kwargs)
        if items is not None:
            self.fields["item"].queryset = items


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), min_length=2, max_length=1000,
                             widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip


class DocumentForm(forms.Form):
    file = forms.FileField(label=_("File (PDF, JPEG or PNG, at most 10 MB)"))
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
