"""Money on zh-Hant pages reads as Taiwanese bills write it: NT$10,000, not Django's NT$10000."""

import datetime

from django import forms
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template import Context, Template
from django.utils import translation


def test_amounts_are_grouped_in_threes_with_commas_in_both_languages():
    for language in ("zh-hant", "en"):
        with translation.override(language):
            assert intcomma(10000) == "10,000"
            assert intcomma(1234567) == "1,234,567"


def test_other_zh_hant_formats_still_come_from_django():
    with translation.override("zh-hant"):
        rendered = Template("{% load l10n %}{{ day|date:'DATE_FORMAT' }}").render(
            Context({"day": datetime.date(2026, 11, 28)})
        )
    assert rendered == "2026年11月28日"


def test_a_date_input_gets_an_iso_value_in_zh_hant():
    class Form(forms.Form):
        day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    with translation.override("zh-hant"):
        html = str(Form(initial={"day": datetime.date(2026, 11, 28)})["day"])
        assert 'value="2026-11-28"' in html  # a browser shows 2026/11/28 in a date input as empty
        for typed in ("2026-11-28", "2026/11/28", "2026年11月28日"):
            form = Form({"day": typed})
            assert form.is_valid() and form.cleaned_data["day"] == datetime.date(2026, 11, 28)
