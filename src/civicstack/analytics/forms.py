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


PARAMETER_CHOICES = [
    ("date_from", _("Start date (:date_from)")),
    ("date_to", _("End date (:date_to)")),
    ("district", _("District (:district)")),
]


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


class ChartForm(forms.Form):
    """A chart as the module defines it: SQL with named parameters, and a spec (type, x, y,
    series, label). Only the shape is checked here; services.chart_save validates the rest."""

    dashboard = forms.ModelChoiceField(label=_("Dashboard"), queryset=None, to_field_name="slug")
    title = forms.CharField(label=_("Chart title"), max_length=160)
    slug = forms.SlugField(
        label=_("Slug"), max_length=60, help_text=_("Letters, digits and hyphens; unique on the dashboard.")
    )
    sql = forms.CharField(
        label=_("SQL"), widget=forms.Textarea(attrs={"rows": 10, "class": "mono", "spellcheck": "false"}),
        help_text=_("One SELECT over warehouse tables. Filters arrive as :date_from, :date_to and :district ('' for all)."),
    )  # fmt: skip
    parameters = forms.MultipleChoiceField(
        label=_("Parameters"), choices=PARAMETER_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )
    type = forms.ChoiceField(label=_("Chart type"))
    x = forms.CharField(
        label=_("X column"),
        max_length=60,
        help_text=_("Categories or time; for a map, the district code column."),
    )
    y = forms.CharField(
        label=_("Value columns"), max_length=300, help_text=_("One or more, separated by commas.")
    )
    series = forms.CharField(label=_("Series column"), max_length=60, required=False,
                             help_text=_("Optional: one line or bar per value of this column."))  # fmt: skip
    label = forms.CharField(label=_("Label column"), max_length=60, required=False,
                            help_text=_("Optional: names shown for a map's areas."))  # fmt: skip
    headings = forms.CharField(
        label=_("Column headings"), required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text=_("Optional, one per line: column = heading. Other columns use the glossary's heading or their name."),
    )  # fmt: skip
    is_public = forms.BooleanField(label=_("Public figure (shown without login)"), required=False)
    position = forms.IntegerField(
        label=_("Position on the dashboard"), min_value=0, max_value=10_000, initial=100
    )

    def __init__(self, *args, dashboards, chart_types, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dashboard"].queryset = dashboards
        self.fields["type"].choices = chart_types

    def clean_headings(self) -> dict[str, str]:
        headings = {}
        for number, line in enumerate(self.cleaned_data["headings"].splitlines(), start=1):
            if not line.strip():
                continue
            column, equals, heading = line.partition("=")
            if not equals or not column.strip() or not heading.strip():
                raise forms.ValidationError(
                    _("Line %(number)s: write column = heading."), params={"number": number}
                )
            headings[column.strip()] = heading.strip()
        return headings

    def spec(self) -> dict:
        data = self.cleaned_data
        spec = {"type": data["type"], "x": data["x"].strip(), "y": _names(data["y"])}
        for name in ("series", "label"):
            if data.get(name, "").strip():
                spec[name] = data[name].strip()
        if data.get("headings"):
            spec["labels"] = data["headings"]
        return spec

    @staticmethod
    def initial_of(chart) -> dict:
        spec = chart.spec
        return {"dashboard": chart.dashboard.slug, "title": chart.title, "slug": chart.slug, "sql": chart.sql,
                "parameters": chart.parameters, "type": spec.get("type"), "x": spec.get("x", ""),
                "y": ", ".join(spec.get("y", [])), "series": spec.get("series", ""), "label": spec.get("label", ""),
                "headings": "\n".join(f"{column} = {heading}" for column, heading in spec.get("labels", {}).items()),
                "is_public": chart.is_public, "position": chart.position}  # fmt: skip


class DashboardForm(forms.Form):
    title = forms.CharField(label=_("Dashboard title"), max_length=120)
    slug = forms.SlugField(
        label=_("Slug"), max_length=60, help_text=_("Part of the address; cannot change later.")
    )
    topic = forms.CharField(label=_("Topic"), max_length=60)
    agency = forms.ModelChoiceField(label=_("Owner agency"), queryset=None)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    method = forms.CharField(label=_("Method"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
                             help_text=_("How the figures are computed, shown on the page."))  # fmt: skip
    is_public = forms.BooleanField(label=_("Public dashboard"), required=False)
    position = forms.IntegerField(label=_("Position in the list"), min_value=0, max_value=10_000, initial=100)

    def __init__(self, *args, agencies, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = agencies
        if editing:
            self.fields["slug"].disabled = True
