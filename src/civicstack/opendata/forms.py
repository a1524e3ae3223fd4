from django import forms
from django.utils.translation import gettext_lazy as _

from civicstack.core.models import Agency

from .models import Dataset, Group, Resource


class DatasetForm(forms.ModelForm):
    tags = forms.CharField(label=_("Tags"), required=False, help_text=_("Separate tags with commas."))
    related_url = forms.URLField(label=_("related URL (相關網址)"), required=False, assume_scheme="https")
    groups = forms.ModelMultipleChoiceField(
        label=_("Groups"), queryset=Group.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Dataset
        fields = [
            "title", "title_en", "agency", "category", "notes", "field_description", "update_frequency",
            "license", "fee", "contact_name", "contact_phone", "contact_email", "published_on", "encoding",
            "related_url", "remarks",
        ]  # fmt: skip
        widgets = {
            "notes": forms.Textarea(attrs={"rows": 4}),
            "field_description": forms.Textarea(attrs={"rows": 3}),
            "remarks": forms.Textarea(attrs={"rows": 2}),
            "published_on": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, agencies=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = agencies if agencies is not None else Agency.objects.none()
        if self.instance and self.instance.pk:
            self.initial["tags"] = ", ".join(t.name for t in self.instance.tags.all())
            self.initial["groups"] = list(self.instance.groups.all())


class ResourceForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=300, required=False)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    file = forms.FileField(label=_("Upload a file"), required=False)
    url = forms.URLField(label=_("or link to a URL"), required=False, max_length=1000, assume_scheme="https")
    format = forms.ChoiceField(
        label=_("Format"), required=False,
        choices=[("", _("Detect from the file"))] + list(Resource.Format.choices),
    )  # fmt: skip
    refresh_every_hours = forms.IntegerField(
        label=_("Refresh from the link every (hours)"), required=False, min_value=1, max_value=24 * 366
    )

    internal_source = forms.ChoiceField(label=_("or publish a platform module's live data"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from .services import internal_sources

        self.fields["internal_source"].choices = [("", "—")] + [(s.key, s.title) for s in internal_sources()]

    def clean(self):
        cleaned = super().clean()
        given = [bool(cleaned.get("file")), bool(cleaned.get("url")), bool(cleaned.get("internal_source"))]
        if sum(given) != 1:
            raise forms.ValidationError(
                _("Upload a file, give a link, or choose a module's data (one of them).")
            )
        return cleaned


class CatalogImportForm(forms.Form):
    file = forms.FileField(label=_("National portal CSV"))


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search datasets"), required=False, max_length=200)
    sort = forms.ChoiceField(
        label=_("Sort by"), required=False,
        choices=[
            ("metadata_modified desc", _("Last modified")), ("title_string asc", _("Title")),
            ("metadata_created desc", _("Newest")),
        ],
    )  # fmt: skip
