from django import forms
from django.utils.translation import gettext_lazy as _


class SettlementUploadForm(forms.Form):
    format = forms.ChoiceField(
        label=_("File format"),
        choices=[("store-fixed", _("Convenience-store collection file (fixed width)")), ("csv", _("CSV"))],
    )
    file = forms.FileField(label=_("Settlement file"))
