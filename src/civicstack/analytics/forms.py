import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

MAX_RANGE_DAYS = 3 * 366


class DashboardFilters(forms.Form):
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    district = forms.ChoiceField(label=_("District"), required=False)
    source = forms.ChoiceField(label=_("Data source"), required=False)

    def __init__(self, *args, districts: list[tuple[str, str]], sources: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["district"].choices = [("", _("All districts"))] + districts
        self.fields["source"].choices = [("", _("All sources"))] + sources

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date is after the end date."))
        if start and end and (end - start) > datetime.timedelta(days=MAX_RANGE_DAYS):
            raise forms.ValidationError(_("Choose at most three years at a time."))
        return cleaned
