"""The chatbot in the staff console: knowledge entries (edited through the services, so the index is
rebuilt and the change audited; staff change only their agencies' entries), venues and bases (read),
and the masked question log (read)."""

from django.contrib import admin

from civicstack.core.admin import ScopedAdmin, console
from civicstack.core.selectors import staff_scope

from . import services
from .models import Entry, KnowledgeBase, Turn, Venue


@admin.register(Entry, site=console)
class EntryAdmin(ScopedAdmin):
    list_display = [
        "external_id",
        "question",
        "category",
        "knowledge_base",
        "venue",
        "language",
        "agency",
        "is_active",
    ]
    list_filter = ["knowledge_base", "language", "venue", "is_active"]
    search_fields = ["external_id", "question", "phrasings"]
    list_select_related = ["knowledge_base", "venue", "agency"]
    fields = ["external_id", "knowledge_base", "question", "phrasings", "answer", "link", "category", "agency",
              "venue", "language", "translation_of", "review_on"]  # fmt: skip
    raw_id_fields = ["translation_of"]

    def can_change(self, request, obj) -> bool:
        if obj is None:
            return staff_scope(request.user).is_staff
        return services.may_edit_entry(request.user, obj.agency_id)

    def save_model(self, request, obj, form, change):
        data = services.EntryInput(
            external_id=obj.external_id, question=obj.question, answer=obj.answer, knowledge_base=obj.knowledge_base,
            category=obj.category, phrasings=obj.phrasing_list(), link=obj.link, agency=obj.agency, venue=obj.venue,
            language=obj.language, translation_of=obj.translation_of, review_on=obj.review_on,
        )  # fmt: skip
        current = Entry.objects.get(pk=obj.pk) if change else None
        saved = services.entry_save(actor=request.user, data=data, entry=current)
        obj.pk = saved.pk


@admin.register(Venue, site=console)
class VenueAdmin(ScopedAdmin):
    list_display = ["code", "name", "name_en", "agency", "counter"]


@admin.register(KnowledgeBase, site=console)
class KnowledgeBaseAdmin(ScopedAdmin):
    list_display = ["key", "name", "source"]


@admin.register(Turn, site=console)
class TurnAdmin(ScopedAdmin):
    list_display = ["created_at", "question", "outcome", "score", "feedback", "entry"]
    list_filter = ["outcome", "feedback"]
    search_fields = ["question"]
    list_select_related = ["entry"]
