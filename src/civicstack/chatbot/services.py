"""Writes of the chatbot module: knowledge entries (edit, import, catalog sync), questions asked and
their feedback, the review loop (new entries and phrasings from what citizens asked), venue keys.

Entry changes bump ``IndexVersion`` in the same transaction, so every process rebuilds its
in-memory index on its next question. Staff edits are audited; citizens' questions are not audit
events (they are not state changes of anyone's record) but are stored masked.
"""

import datetime
import time
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicstack.core.errors import NotFound, PermissionDenied
from civicstack.core.models import Agency, ApiKey, StaffRole, User
from civicstack.core.selectors import acting_agency, staff_scope
from civicstack.core.services import api_key_create, audit_record

from . import retrieval, text
from .errors import EntryInvalid, ImportInvalid
from .models import Conversation, Entry, IndexVersion, KnowledgeBase, Turn, Venue, VenueKey

ASK_SCOPE = "chatbot.ask"
ONLINE_APPLICATIONS_BASE = "online-applications"
MAX_QUESTION_LENGTH = 500
CATALOG_CHECK_SECONDS = 60
_catalog_checked_at = -CATALOG_CHECK_SECONDS


def _bump_index_version() -> None:
    IndexVersion.objects.update_or_create(pk=1, defaults={"token": uuid.uuid4().hex})


def may_edit_entry(user: User, agency_id: int | None) -> bool:
    """Staff edit the entries of the agencies they act for; entries of no agency need a city administrator."""
    scope = staff_scope(user)
    if agency_id is None:
        return scope.has_role(StaffRole.Role.CITY_ADMIN)
    return scope.is_staff and scope.acts_for(agency_id)


# --- entries ------------------------------------------------------------------------------------------


@dataclass
class EntryInput:
    external_id: str
    question: str
    answer: str
    knowledge_base: KnowledgeBase
    category: str = ""
    phrasings: list[str] | None = None
    link: str = ""
    agency: Agency | None = None
    venue: Venue | None = None
    language: str = Entry.Language.CHINESE
    translation_of: Entry | None = None
    review_on: datetime.date | None = None

    @property
    def agency_id(self) -> int | None:
        return self.agency.pk if self.agency else None


def _validate(data: EntryInput) -> dict[str, str]:
    errors = {}
    if not data.external_id.strip() or len(data.external_id) > 40:
        errors["id"] = _("An id of 1 to 40 characters is required.")
    if not data.question.strip() or len(data.question) > 200:
        errors["question"] = _("A question of 1 to 200 characters is required.")
    if not data.answer.strip():
        errors["answer"] = _("An answer is required.")
    if len(data.category) > 40:
        errors["category"] = _("A category has at most 40 characters.")
    if data.language not in Entry.Language.values:
        errors["language"] = _("Language must be zh-hant or en.")
    if data.link and not data.link.startswith(("https://", "http://", "/")):
        errors["link"] = _("A link must start with https://, http:// or /.")
    return errors


def _apply(entry: Entry, data: EntryInput, actor: User | None) -> Entry:
    entry.external_id = data.external_id.strip()
    entry.knowledge_base = data.knowledge_base
    entry.question = data.question.strip()
    entry.answer = data.answer.strip()
    entry.category = data.category.strip()
    entry.phrasings = "\n".join(p.strip() for p in (data.phrasings or []) if p.strip())
    entry.link = data.link
    entry.agency = data.agency
    entry.venue = data.venue
    entry.language = data.language
    entry.translation_of = data.translation_of
    entry.review_on = data.review_on
    entry.updated_by = actor if actor is not None and actor.pk else None
    return entry


@transaction.atomic
def entry_save(*, actor: User | None, data: EntryInput, entry: Entry | None = None) -> Entry:
    """Create an entry, or change ``entry``; ``actor`` None is the system (demo, catalog sync)."""
    if actor is not None:
        touched = {entry.agency_id if entry else data.agency_id, data.agency_id}
        if not all(may_edit_entry(actor, agency_id) for agency_id in touched):
            raise PermissionDenied(_("You may not edit entries of this agency."))
    errors = _validate(data)
    clash = Entry.objects.filter(external_id=data.external_id.strip())
    if entry is not None:
        clash = clash.exclude(pk=entry.pk)
    if clash.exists():
        errors["id"] = _("Another entry has this id.")
    if errors:
        raise EntryInvalid(_("The entry is not valid."), details=errors)
    created = entry is None
    entry = _apply(entry or Entry(), data, actor)
    entry.save()
    _bump_index_version()
    audit_record(actor=actor, action="chatbot.entry_created" if created else "chatbot.entry_changed", obj=entry,
                 agency=entry.agency, data={"external_id": entry.external_id})  # fmt: skip
    return entry


@transaction.atomic
def entry_deactivate(*, actor: User, entry: Entry) -> Entry:
    if not may_edit_entry(actor, entry.agency_id):
        raise PermissionDenied(_("You may not edit entries of this agency."))
    if entry.is_active:
        entry.is_active = False
        entry.save(update_fields=["is_active", "updated_at"])
        _bump_index_version()
        audit_record(actor=actor, action="chatbot.entry_deactivated", obj=entry, agency=entry.agency)
    return entry


@dataclass
class ImportResult:
    created: int
    updated: int


@transaction.atomic
def entries_import(
    *, actor: User | None, rows: list[tuple[int, dict[str, str]]], knowledge_base: KnowledgeBase
) -> ImportResult:
    """Create or update (by ``id``, the external id) every row, or none: any bad row raises
    ``ImportInvalid`` listing every bad row with its line number."""
    venues = {v.code: v for v in Venue.objects.all()}
    agencies = {a.code: a for a in Agency.objects.all()}
    ids_in_file = [row.get("id", "").strip() for _, row in rows]
    existing = {e.external_id: e for e in Entry.objects.filter(external_id__in=ids_in_file)}
    translations = {e.external_id: e for e in Entry.objects.filter(external_id__in=[r.get("translation_of", "") for _, r in rows])}  # fmt: skip
    problems, prepared, seen = [], [], {}
    for line, row in rows:
        errors = []
        venue_code, agency_code = row.get("venue", "").strip(), row.get("agency", "").strip()
        venue, agency = venues.get(venue_code), agencies.get(agency_code)
        if venue_code and venue is None:
            errors.append(_("Unknown venue %(code)s.") % {"code": venue_code})
        if agency_code and agency is None:
            errors.append(_("Unknown agency %(code)s.") % {"code": agency_code})
        review_on = None
        if row.get("review_on", "").strip():
            try:
                review_on = datetime.date.fromisoformat(row["review_on"].strip()[:10])
            except ValueError:
                errors.append(_("review_on must be a date (YYYY-MM-DD)."))
        translation_code = row.get("translation_of", "").strip()
        if translation_code and translation_code not in translations:
            errors.append(_("translation_of names an unknown entry %(id)s.") % {"id": translation_code})
        external_id = row.get("id", "").strip()
        if external_id in seen:
            errors.append(
                _("The id %(id)s is also on line %(line)d.") % {"id": external_id, "line": seen[external_id]}
            )
        seen.setdefault(external_id, line)
        phrasings = [p for chunk in row.get("phrasings", "").splitlines() for p in chunk.split("|")]
        data = EntryInput(
            external_id=external_id, question=row.get("question", ""), answer=row.get("answer", ""),
            knowledge_base=knowledge_base, category=row.get("category", ""), phrasings=phrasings,
            link=row.get("link", "").strip(), agency=agency, venue=venue,
            language=row.get("language", "").strip().lower() or Entry.Language.CHINESE,
            translation_of=translations.get(translation_code), review_on=review_on,
        )  # fmt: skip
        errors.extend(_validate(data).values())
        current = existing.get(external_id)
        touched = {current.agency_id if current else data.agency_id, data.agency_id}
        if actor is not None and not all(may_edit_entry(actor, agency_id) for agency_id in touched):
            errors.append(_("You may not edit entries of this agency."))
        if errors:
            problems.append({"line": line, "errors": errors})
        else:
            prepared.append((current, data))
    if problems:
        raise ImportInvalid(
            _("%(count)d row(s) have errors; nothing was imported.") % {"count": len(problems)},
            details=problems,
        )
    created = [_apply(Entry(), data, actor) for current, data in prepared if current is None]
    updated = [_apply(current, data, actor) for current, data in prepared if current is not None]
    Entry.objects.bulk_create(created, batch_size=2_000)
    fields = ["knowledge_base", "question", "answer", "category", "phrasings", "link", "agency", "venue",
              "language", "translation_of", "review_on", "updated_by"]  # fmt: skip
    now = timezone.now()
    for entry in updated:
        entry.updated_at = now
        entry.is_active = True
    Entry.objects.bulk_update(updated, [*fields, "updated_at", "is_active"], batch_size=2_000)
    _bump_index_version()
    audit_record(actor=actor, action="chatbot.entries_imported", obj=knowledge_base,
                 data={"created": len(created), "updated": len(updated)})  # fmt: skip
    return ImportResult(len(created), len(updated))


def entry_row(entry: Entry) -> dict:
    """An entry in the columns of import files."""
    return {
        "id": entry.external_id, "question": entry.question, "answer": entry.answer, "category": entry.category,
        "venue": entry.venue.code if entry.venue else "", "phrasings": entry.phrasings, "link": entry.link,
        "agency": entry.agency.code if entry.agency else "", "language": entry.language,
        "translation_of": entry.translation_of.external_id if entry.translation_of else "",
        "review_on": entry.review_on.isoformat() if entry.review_on else "",
    }  # fmt: skip


# --- the online-application catalog -------------------------------------------------------------


@transaction.atomic
def catalog_sync(*, actor: User | None = None) -> ImportResult:
    """Turn every active item of the online-application catalog into an answer (``APP-<code>``) and
    retire answers of items that left the catalog. Safe to run as often as you like."""
    from civicstack.eservices.models import ServiceItem

    base, _created = KnowledgeBase.objects.get_or_create(
        key=ONLINE_APPLICATIONS_BASE,
        defaults={"name": "線上申辦資訊", "source": KnowledgeBase.Source.ESERVICES,
                  "description": "Generated from the online-application catalog."},
    )  # fmt: skip
    items = list(ServiceItem.objects.filter(is_active=True).select_related("agency").order_by("code"))
    stamp = _catalog_stamp()
    existing = {e.external_id: e for e in Entry.objects.filter(knowledge_base=base)}
    created, updated = [], []
    for item in items:
        documents = "、".join(line.strip() for line in item.required_documents.splitlines() if line.strip())
        answer = f"{item.name}由{item.agency.name}受理。{item.description}".strip()
        if documents:
            answer += f" 應備文件：{documents}。"
        answer += f" 規費：{item.fee}元；處理期限：{item.time_limit_days}個工作天。"
        if item.applies_online:
            answer += " 可線上申辦。"
        fields = {
            "question": f"{item.name}怎麼申請"[:200], "answer": answer, "category": item.category[:40],
            "phrasings": f"{item.name}要準備什麼\n{item.name}規費多少\n{item.name}要多久", "agency": item.agency,
            "link": f"/eservices/items/{item.code}/", "is_active": True,
        }  # fmt: skip
        entry = existing.pop(f"APP-{item.code}", None)
        if entry is None:
            created.append(Entry(external_id=f"APP-{item.code}", knowledge_base=base, **fields))
        elif any(getattr(entry, name) != value for name, value in fields.items()):
            for name, value in fields.items():
                setattr(entry, name, value)
            entry.updated_at = timezone.now()
            updated.append(entry)
    for entry in existing.values():
        if entry.is_active:
            entry.is_active = False
            updated.append(entry)
    Entry.objects.bulk_create(created, batch_size=2_000)
    Entry.objects.bulk_update(updated, ["question", "answer", "category", "phrasings", "agency", "link",
                                        "is_active", "updated_at"], batch_size=2_000)  # fmt: skip
    if base.source_stamp != stamp:
        base.source_stamp = stamp
        base.save(update_fields=["source_stamp"])
    if created or updated:
        _bump_index_version()
        audit_record(actor=actor, action="chatbot.catalog_synced", obj=base,
                     data={"created": len(created), "updated": len(updated)})  # fmt: skip
    return ImportResult(len(created), len(updated))


def _catalog_stamp() -> str:
    from django.db.models import Count, Max

    from civicstack.eservices.models import ServiceItem

    stats = ServiceItem.objects.aggregate(count=Count("id"), latest=Max("updated_at"))
    return f"{stats['count']}/{stats['latest'].isoformat() if stats['latest'] else ''}"


def catalog_refresh_if_changed() -> bool:
    """Sync the catalog's answers when the catalog changed; checked at most once a minute per process,
    so a question costs no extra query in between."""
    global _catalog_checked_at
    now = time.monotonic()
    if now - _catalog_checked_at < CATALOG_CHECK_SECONDS:
        return False
    _catalog_checked_at = now
    synced = (
        KnowledgeBase.objects.filter(key=ONLINE_APPLICATIONS_BASE)
        .values_list("source_stamp", flat=True)
        .first()
    )
    if synced == _catalog_stamp():
        return False
    catalog_sync()
    return True


# --- questions and feedback ---------------------------------------------------------------------


@dataclass
class Answer:
    turn: Turn
    conversation: Conversation
    result: retrieval.Result
    entries: list[Entry]
    venue: Venue | None


def question_ask(
    *, question: str, venue: Venue | None = None, language: str | None = None,
    channel: str = Conversation.Channel.WEB, conversation_id=None,
) -> Answer:  # fmt: skip
    """Answer a question and log it masked. ``conversation_id`` (the public UUID) continues a conversation."""
    question = (question or "").strip()[:MAX_QUESTION_LENGTH]
    catalog_refresh_if_changed()
    result = retrieval.current_index().search(
        question, venue_id=venue.pk if venue else None, language=language
    )
    entries_by_id = Entry.objects.select_related("venue").in_bulk([c.entry_id for c in result.candidates])
    entries = [entries_by_id[c.entry_id] for c in result.candidates if c.entry_id in entries_by_id]
    with transaction.atomic():
        conversation = None
        if conversation_id is not None:
            conversation = Conversation.objects.filter(public_id=conversation_id).first()
        if conversation is None:
            conversation = Conversation.objects.create(channel=channel, venue=venue)
        best = entries[0] if entries else None
        turn = Turn.objects.create(
            conversation=conversation, question=text.mask_personal_data(question)[:MAX_QUESTION_LENGTH],
            language=result.language, outcome=result.outcome, entry=best,
            suggestions=[{"id": c.entry_id, "score": c.score} for c in result.candidates],
            score=result.candidates[0].score if result.candidates else 0.0, category=best.category if best else "",
        )  # fmt: skip
    return Answer(turn, conversation, result, entries, venue)


@transaction.atomic
def feedback_record(*, conversation_id, turn_id: int, helpful: bool, entry: Entry | None = None) -> Turn:
    """A citizen marks an answer of their conversation helpful or not (the last mark counts)."""
    turn = (
        Turn.objects.select_for_update().filter(pk=turn_id, conversation__public_id=conversation_id).first()
    )
    if turn is None:
        raise NotFound(_("No such answer in this conversation."))
    turn.feedback = Turn.Feedback.HELPFUL if helpful else Turn.Feedback.UNHELPFUL
    turn.feedback_entry = entry or turn.entry
    if not helpful:
        turn.reviewed_at = None  # back in the review queue, even if staff had dealt with it before
    turn.save(update_fields=["feedback", "feedback_entry", "reviewed_at"])
    return turn


# --- the improvement loop -----------------------------------------------------------------------


def _require_staff(actor: User) -> None:
    if not staff_scope(actor).is_staff:
        raise PermissionDenied(_("Staff only."))


@transaction.atomic
def phrasing_add(*, actor: User, entry: Entry, phrasings: list[str], turns: list[Turn]) -> Entry:
    """Teach an entry how citizens asked (the masked questions of ``turns``, or ``phrasings``)."""
    if not may_edit_entry(actor, entry.agency_id):
        raise PermissionDenied(_("You may not edit entries of this agency."))
    known = set(entry.phrasing_list()) | {entry.question}
    added = [
        p.strip() for p in [*phrasings, *(t.question for t in turns)] if p.strip() and p.strip() not in known
    ]
    added = [p for p in dict.fromkeys(added) if "[" not in p]  # a masked question is no phrasing to learn
    if added:
        entry.phrasings = "\n".join([*entry.phrasing_list(), *added])
        entry.updated_by = actor
        entry.save(update_fields=["phrasings", "updated_by", "updated_at"])
        _bump_index_version()
    turns_mark_reviewed(actor=actor, turns=turns)
    audit_record(actor=actor, action="chatbot.phrasings_added", obj=entry, agency=entry.agency,
                 data={"phrasings": added, "turns": [t.pk for t in turns]})  # fmt: skip
    return entry


@transaction.atomic
def entry_create_from_turns(*, actor: User, data: EntryInput, turns: list[Turn]) -> Entry:
    """A new entry answering the questions of ``turns``; their masked questions become its phrasings."""
    data.phrasings = [*(data.phrasings or []), *(t.question for t in turns if "[" not in t.question)]
    if data.agency is None and not staff_scope(actor).has_role(StaffRole.Role.CITY_ADMIN):
        data.agency = acting_agency(actor)
    entry = entry_save(actor=actor, data=data)
    turns_mark_reviewed(actor=actor, turns=turns)
    return entry


@transaction.atomic
def turns_mark_reviewed(*, actor: User, turns: list[Turn]) -> int:
    _require_staff(actor)
    ids = [t.pk for t in turns]
    done = Turn.objects.filter(pk__in=ids, reviewed_at__isnull=True).update(reviewed_at=timezone.now())
    if done:
        audit_record(actor=actor, action="chatbot.questions_reviewed", object_type="chatbot.turn",
                     object_id=",".join(map(str, ids[:50])), data={"count": done})  # fmt: skip
    return done


# --- venues -------------------------------------------------------------------------------------


@transaction.atomic
def venue_api_key_create(
    *, actor: User | None, venue: Venue, name: str, days: int = 365
) -> tuple[str, ApiKey]:
    """A partner key with the ``chatbot.ask`` scope bound to ``venue``: its robot's questions are asked there."""
    agency = venue.agency or Agency.objects.order_by("id").first()
    raw, key = api_key_create(
        actor=actor, name=name, partner=venue.name, agency=agency, scopes=[ASK_SCOPE],
        expires_at=timezone.now() + datetime.timedelta(days=days),
    )  # fmt: skip
    VenueKey.objects.create(api_key=key, venue=venue)
    audit_record(actor=actor, action="chatbot.venue_key_created", obj=venue, agency=agency,
                 data={"key_prefix": key.prefix})  # fmt: skip
    return raw, key


def venue_of_key(api_key: ApiKey | None) -> Venue | None:
    if api_key is None:
        return None
    link = VenueKey.objects.select_related("venue").filter(api_key=api_key).first()
    return link.venue if link else None
