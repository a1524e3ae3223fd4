"""Staff forms of the catalog pages: an item's details, a blank-form upload, and the form builder's
questions (one Django form a question, in a formset that can reorder and delete them)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from civicstack.core.models import Agency

from . import form_builder, form_schema
from .models import ServiceItem
from .services import ItemInput


class ItemForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    category = forms.CharField(label=_("Category"), max_length=40)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    eligibility = forms.CharField(
        label=_("Who may apply"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    required_documents = forms.CharField(
        label=_("Required documents (one a line)"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    fee = forms.IntegerField(label=_("Fee (NT$)"), min_value=0, max_value=1_000_000)
    time_limit_days = forms.IntegerField(
        label=_("Legal time limit (working days)"), min_value=1, max_value=365
    )
    office_kind = forms.ChoiceField(
        label=_("Handled by offices of kind"),
        choices=[("", _("The item's own agency"))] + list(Agency.Kind.choices),
        required=False,
    )
    cross_district = forms.ChoiceField(
        label=_("Cross-district filing"), choices=ServiceItem.CrossDistrict.choices
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=ServiceItem.Channel.choices)
    is_active = forms.BooleanField(label=_("Shown in the catalog"), required=False)

    @classmethod
    def initial_of(cls, item: ServiceItem) -> dict:
        return {name: getattr(item, name) for name in cls.base_fields}

    def item_input(self, item: ServiceItem) -> ItemInput:
        data = {name: value for name, value in self.cleaned_data.items() if name != "is_active"}
        return ItemInput(agency=item.agency, code=item.code, **data)


class BlankFormUpload(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=120, required=False)
    file = forms.FileField(label=_("File (PDF, ODT or DOCX, at most 10 MB)"))


ACCEPT_CHOICES = [("pdf", "PDF"), ("jpeg", "JPEG"), ("png", "PNG")]


class QuestionForm(forms.Form):
    name = forms.SlugField(
        label=_("Name (for the data)"), max_length=60,
        help_text=_("Lower-case letters, digits and _; it does not change once applications use it."),
    )  # fmt: skip
    label = forms.CharField(label=_("Question"), max_length=200)
    # An empty first choice: a blank row left untouched is not a question (the formset skips it).
    kind = forms.ChoiceField(label=_("Kind of answer"), choices=[("", "—"), *form_builder.KINDS.items()])
    section = forms.CharField(label=_("Section"), max_length=80)
    required = forms.BooleanField(label=_("An answer is required"), required=False)
    help = forms.CharField(label=_("Help text"), max_length=300, required=False)
    options = forms.CharField(
        label=_("Options (one a line)"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    min_length = forms.IntegerField(label=_("Minimum length"), min_value=0, required=False)
    max_length = forms.IntegerField(label=_("Maximum length"), min_value=1, max_value=10_000, required=False)
    pattern = forms.CharField(label=_("Pattern (regular expression)"), max_length=200, required=False)
    error_message = forms.CharField(label=_("Message when the pattern fails"), max_length=200, required=False)
    minimum = forms.DecimalField(label=_("Smallest number"), required=False)
    maximum = forms.DecimalField(label=_("Largest number"), required=False)
    default = forms.CharField(label=_("Default answer"), max_length=200, required=False)
    accept = forms.MultipleChoiceField(
        label=_("File types"), choices=ACCEPT_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )
    max_kb = forms.IntegerField(
        label=_("Largest file (KB)"), min_value=1,
        max_value=form_schema.ATTACHMENT_MAX_BYTES_LIMIT // 1024, required=False,
    )  # fmt: skip
    show_if = forms.CharField(label=_("Ask only when question (name)"), max_length=60, required=False)
    show_if_value = forms.CharField(label=_("has the answer"), max_length=200, required=False)
    prefill = forms.ChoiceField(
        label=_("Prefill from the people registry"),
        choices=[("", "—")] + [(source, source) for source in form_schema.PREFILL_SOURCES],
        required=False,
    )

    MAIN_FIELDS = ("label", "name", "kind", "section", "required", "options")

    def more_fields(self) -> list:
        """The fields shown folded: help, checks, conditions and prefill (not the formset's own)."""
        return [self[name] for name in self.fields if name not in (*self.MAIN_FIELDS, "ORDER", "DELETE")]

    def question(self) -> form_builder.Question:
        data = self.cleaned_data
        kind = data["kind"]
        return form_builder.Question(
            name=data["name"], label=data["label"].strip(), kind=kind, section=data["section"].strip(),
            required=data["required"], help=data["help"].strip(),
            options=[line.strip() for line in data["options"].splitlines() if line.strip()],
            min_length=data["min_length"], max_length=data["max_length"], pattern=data["pattern"].strip(),
            error_message=data["error_message"].strip(),
            minimum=_number(data["minimum"], kind), maximum=_number(data["maximum"], kind),
            default=_default(data["default"].strip(), kind), accept=list(data["accept"]),
            max_bytes=data["max_kb"] * 1024 if data["max_kb"] else None,
            show_if=data["show_if"].strip(), show_if_value=data["show_if_value"].strip(), prefill=data["prefill"],
        )  # fmt: skip

    @staticmethod
    def initial_of(question: form_builder.Question) -> dict:
        initial = question.as_dict()
        initial["options"] = "\n".join(question.options)
        initial["default"] = "" if question.default is None else str(question.default)
        initial["max_kb"] = question.max_bytes // 1024 if question.max_bytes else None
        return initial


def _number(value, kind: str):
    if value is None:
        return None
    return int(value) if kind == "integer" or value == int(value) else float(value)


def _default(value: str, kind: str):
    """A default typed as the answer is stored; a value that does not fit stays text so that the
    schema check reports it."""
    if not value:
        return None
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
    except ValueError:
        return value
    if kind == "yes_no":
        return value.lower() in ("true", "yes", "1", "是")
    return value


class BaseQuestionFormSet(forms.BaseFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        # Our own labels: the site's catalog gives Django's bare "Order" the payments meaning.
        form.fields["ORDER"].label = _("Position")
        form.fields["DELETE"].label = _("Remove this question")


QuestionFormSet = forms.formset_factory(
    QuestionForm, formset=BaseQuestionFormSet, extra=2, can_delete=True, can_order=True, max_num=200
)


def questions_of(formset) -> list[form_builder.Question]:
    """The questions of a valid formset in the order staff gave them (ordered_forms leaves out deleted
    rows and blank extra rows)."""
    return [form.question() for form in formset.ordered_forms]


class CounterLookupForm(forms.Form):
    """Step one of counter intake: which item, at which office, for whom (from the ID card shown)."""

    item_code = forms.CharField(label=_("Item code"), max_length=24)
    receiving_office = forms.ModelChoiceField(label=_("Receiving office"), queryset=Agency.objects.none())
    identifier = forms.CharField(label=_("National ID number (from the ID card)"), max_length=10)
    birth_date = forms.DateField(label=_("Birth date"), widget=forms.DateInput(attrs={"type": "date"}))
    prefill_consent = forms.BooleanField(
        label=_("The applicant agrees to fill in name, phone and address from the people registry"),
        required=False,
    )

    def __init__(self, *args, offices=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["receiving_office"].queryset = offices if offices is not None else Agency.objects.none()
