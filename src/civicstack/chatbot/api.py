"""Chatbot API: ``ask`` (citizens anonymously, robots and kiosks with a venue API key), feedback on an
answer, and for staff the knowledge (list, edit, import/export), the review queue and statistics.
Thin: parse, call selectors/services, shape the answer."""

import datetime
import uuid
from typing import Literal

from django.http import HttpRequest, HttpResponse
from ninja import File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field

from civicstack.core.api_support import (
    ERROR_RESPONSES,
    USER_AUTH,
    PartnerKey,
    UserSession,
    UserToken,
    require_scope,
    require_staff,
    require_user,
)  # fmt: skip
from civicstack.core.errors import InvalidInput, NotFound
from civicstack.core.models import Agency

from . import selectors, services, transfer
from .models import Conversation, Entry

router = Router(tags=["chatbot"])


def _anyone(request: HttpRequest) -> bool:
    """Asking needs no login; a partner key, when sent, must be valid and binds the venue."""
    return "HTTP_X_API_KEY" not in request.META


ASK_AUTH = [PartnerKey(), UserToken(), UserSession(), _anyone]


# --- asking ---------------------------------------------------------------------------------------


class AskIn(Schema):
    question: str = Field(min_length=1, max_length=services.MAX_QUESTION_LENGTH)
    venue: str | None = Field(None, max_length=40, description="venue code; implied by a venue API key")
    lang: Literal["zh-hant", "en"] | None = Field(None, description="answer language; detected when null")
    conversation_id: uuid.UUID | None = Field(None, description="continue a conversation")


class AnswerOut(Schema):
    id: str = Field(description="the entry's external id")
    question: str
    answer: str
    link: str
    score: float = Field(description="calibrated confidence that this answers the question (0–1)")


class HandoffOut(Schema):
    name: str
    phone: str | None = None


class AskOut(Schema):
    answers: list[AnswerOut] = Field(description="best first, at most 3")
    handoff: bool = Field(
        description="true when the bot is not confident: offer the hotline or the venue's counter"
    )
    outcome: Literal["answered", "suggested", "handoff", "out_of_scope"]
    handoff_to: HandoffOut | None = None
    conversation_id: uuid.UUID
    turn_id: int = Field(description="send it back with feedback on this answer")


def ask_out(answer: services.Answer) -> AskOut:
    scores = {c.entry_id: c.score for c in answer.result.candidates}
    outcome = answer.result.outcome
    handoff = outcome != "answered"
    target = None
    if handoff:
        target = (HandoffOut(name=answer.venue.counter or answer.venue.name) if answer.venue
                  else HandoffOut(name="1999", phone="1999"))  # fmt: skip
    return AskOut(
        answers=[AnswerOut(id=e.external_id, question=e.question, answer=e.answer, link=e.link, score=scores[e.pk])
                 for e in answer.entries],
        handoff=handoff, outcome=outcome, handoff_to=target, conversation_id=answer.conversation.public_id,
        turn_id=answer.turn.pk,
    )  # fmt: skip


@router.post("/ask", response={200: AskOut, **ERROR_RESPONSES}, auth=ASK_AUTH)
def ask(request: HttpRequest, payload: AskIn):
    api_key = require_scope(request, services.ASK_SCOPE)
    venue = services.venue_of_key(api_key)
    if venue is None and payload.venue:
        venue = selectors.venue_by_code(payload.venue)
    channel = Conversation.Channel.ROBOT if api_key is not None else Conversation.Channel.WEB
    answer = services.question_ask(question=payload.question, venue=venue, language=payload.lang, channel=channel,
                                   conversation_id=payload.conversation_id)  # fmt: skip
    return ask_out(answer)


class FeedbackIn(Schema):
    conversation_id: uuid.UUID
    turn_id: int
    helpful: bool
    answer_id: str | None = Field(None, description="the entry rated, when not the first answer")


class FeedbackOut(Schema):
    turn_id: int
    feedback: str


@router.post("/feedback", response={200: FeedbackOut, **ERROR_RESPONSES}, auth=ASK_AUTH)
def feedback(request: HttpRequest, payload: FeedbackIn):
    require_scope(request, services.ASK_SCOPE)
    entry = selectors.entry_by_external_id(payload.answer_id) if payload.answer_id else None
    turn = services.feedback_record(conversation_id=payload.conversation_id, turn_id=payload.turn_id,
                                    helpful=payload.helpful, entry=entry)  # fmt: skip
    return FeedbackOut(turn_id=turn.pk, feedback=turn.feedback)


# --- knowledge (staff) ----------------------------------------------------------------------------


class EntryOut(Schema):
    id: str
    knowledge_base: str
    question: str
    phrasings: list[str]
    answer: str
    link: str
    category: str
    agency: str | None
    venue: str | None
    language: str
    translation_of: str | None
    review_on: datetime.date | None

    @staticmethod
    def of(entry: Entry) -> "EntryOut":
        return EntryOut(
            id=entry.external_id, knowledge_base=entry.knowledge_base.key, question=entry.question,
            phrasings=entry.phrasing_list(), answer=entry.answer, link=entry.link, category=entry.category,
            agency=entry.agency.code if entry.agency else None, venue=entry.venue.code if entry.venue else None,
            language=entry.language, translation_of=entry.translation_of.external_id if entry.translation_of else None,
            review_on=entry.review_on,
        )  # fmt: skip


class EntryPageOut(Schema):
    items: list[EntryOut]
    count: int
    page: int
    page_size: int
    pages: int


class EntryQuery(Schema):
    q: str = Field("", max_length=100)
    knowledge_base: str = Field("", max_length=40)
    venue: str = Field("", max_length=40)
    category: str = Field("", max_length=40)
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=200)


@router.get("/entries", response={200: EntryPageOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def entry_list(request: HttpRequest, query: Query[EntryQuery]):
    require_staff(request)
    found = selectors.entries(query=query.q, knowledge_base=query.knowledge_base, venue=query.venue,
                              category=query.category)  # fmt: skip
    offset = (query.page - 1) * query.page_size
    count = found.count()
    return EntryPageOut(items=[EntryOut.of(e) for e in found[offset : offset + query.page_size]], count=count,
                        page=query.page, page_size=query.page_size, pages=-(-count // query.page_size))  # fmt: skip


class EntryIn(Schema):
    question: str = Field(max_length=200)
    answer: str = Field(max_length=5_000)
    knowledge_base: str = Field(max_length=40)
    phrasings: list[str] = Field(default_factory=list, max_length=100)
    link: str = Field("", max_length=200)
    category: str = Field("", max_length=40)
    agency: str | None = Field(None, max_length=20)
    venue: str | None = Field(None, max_length=40)
    language: Literal["zh-hant", "en"] = "zh-hant"
    translation_of: str | None = Field(None, max_length=40)
    review_on: datetime.date | None = None


def _entry_input(external_id: str, payload: EntryIn) -> services.EntryInput:
    agency = None
    if payload.agency:
        agency = Agency.objects.filter(code=payload.agency).first()
        if agency is None:
            raise InvalidInput("unknown agency", details={"agency": payload.agency})
    return services.EntryInput(
        external_id=external_id, question=payload.question, answer=payload.answer,
        knowledge_base=selectors.knowledge_base_by_key(payload.knowledge_base), category=payload.category,
        phrasings=payload.phrasings, link=payload.link, agency=agency,
        venue=selectors.venue_by_code(payload.venue) if payload.venue else None, language=payload.language,
        translation_of=selectors.entry_by_external_id(payload.translation_of) if payload.translation_of else None,
        review_on=payload.review_on,
    )  # fmt: skip


@router.put(
    "/entries/{external_id}", response={200: EntryOut, 201: EntryOut, **ERROR_RESPONSES}, auth=USER_AUTH
)
def entry_put(request: HttpRequest, external_id: str, payload: EntryIn):
    """Create the entry with this id, or replace it."""
    user = require_user(request)
    require_staff(request)
    try:
        current = selectors.entry_by_external_id(external_id)
    except NotFound:
        current = None
    entry = services.entry_save(actor=user, data=_entry_input(external_id, payload), entry=current)
    return Status(200 if current else 201, EntryOut.of(entry))


@router.delete("/entries/{external_id}", response={204: None, **ERROR_RESPONSES}, auth=USER_AUTH)
def entry_delete(request: HttpRequest, external_id: str):
    """Retire the entry (kept for the conversation logs that cite it)."""
    user = require_user(request)
    require_staff(request)
    services.entry_deactivate(actor=user, entry=selectors.entry_by_external_id(external_id))
    return Status(204, None)


class ImportOut(Schema):
    created: int
    updated: int


@router.post("/import", response={200: ImportOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def entries_import(request: HttpRequest, knowledge_base: str, file: File[UploadedFile]):
    """A CSV (UTF-8) or XLSX file with the columns id,question,answer,category,venue (others optional):
    all rows are imported, or none; bad rows come back in ``details`` with their line numbers."""
    user = require_user(request)
    require_staff(request)
    base = selectors.knowledge_base_by_key(knowledge_base)
    if file.size > 20 * 1024 * 1024:
        raise InvalidInput("the file is larger than 20 MB")
    rows = transfer.read_rows(file.read(), file.name or "")
    result = services.entries_import(actor=user, rows=rows, knowledge_base=base)
    return ImportOut(created=result.created, updated=result.updated)


@router.get("/export", response={200: None, **ERROR_RESPONSES}, auth=USER_AUTH)
def entries_export(request: HttpRequest, knowledge_base: str = "", format: Literal["csv", "xlsx"] = "csv"):
    require_staff(request)
    rows = [services.entry_row(e) for e in selectors.entries(knowledge_base=knowledge_base)]
    if format == "xlsx":
        content, kind = (
            transfer.write_xlsx(rows),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        content, kind = transfer.write_csv(rows), "text/csv; charset=utf-8"
    response = HttpResponse(content, content_type=kind)
    response["Content-Disposition"] = f'attachment; filename="chatbot-{knowledge_base or "all"}.{format}"'
    return response


# --- review and statistics (staff) ----------------------------------------------------------------


class QuestionOut(Schema):
    turn_id: int
    question: str
    outcome: str
    feedback: str
    venue: str | None
    asked_at: datetime.datetime


class ClusterOut(Schema):
    label: str
    size: int
    unhelpful: int
    suggested_entry: str | None
    questions: list[QuestionOut]


@router.get("/review", response={200: list[ClusterOut], **ERROR_RESPONSES}, auth=USER_AUTH)
def review(request: HttpRequest):
    """Unanswered, suggestion-only and unhelpful questions, clustered, biggest first."""
    user = require_user(request)
    return [
        ClusterOut(label=c.label, size=c.size, unhelpful=c.unhelpful,
                   suggested_entry=c.suggested_entry.external_id if c.suggested_entry else None,
                   questions=[QuestionOut(turn_id=t.pk, question=t.question, outcome=t.outcome, feedback=t.feedback,
                                          venue=t.conversation.venue.code if t.conversation.venue else None,
                                          asked_at=t.created_at) for t in c.turns])
        for c in selectors.review_clusters(user)[:100]
    ]  # fmt: skip


class ResolveIn(Schema):
    turn_ids: list[int] = Field(min_length=1, max_length=500)
    action: Literal["add_phrasing", "dismiss"]
    entry_id: str | None = Field(
        None, max_length=40, description="for add_phrasing: the entry that answers them"
    )


class ResolveOut(Schema):
    reviewed: int


@router.post("/review", response={200: ResolveOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def review_resolve(request: HttpRequest, payload: ResolveIn):
    """Teach an entry the questions' phrasings, or dismiss them (to make a new entry, PUT /entries)."""
    user = require_user(request)
    turns = selectors.turns_by_ids(user, payload.turn_ids)
    if payload.action == "add_phrasing":
        if not payload.entry_id:
            raise InvalidInput("entry_id is required to add phrasings", details={"entry_id": "required"})
        services.phrasing_add(actor=user, entry=selectors.entry_by_external_id(payload.entry_id), phrasings=[],
                              turns=turns)  # fmt: skip
        return ResolveOut(reviewed=len(turns))
    return ResolveOut(reviewed=services.turns_mark_reviewed(actor=user, turns=turns))


class CountOut(Schema):
    name: str
    questions: int
    handoff_rate: float | None = None


class DayOut(Schema):
    day: datetime.date
    questions: int
    handoffs: int


class StatisticsOut(Schema):
    questions: int
    handoff_rate: float
    helpful: int
    unhelpful: int
    by_outcome: dict[str, int]
    by_venue: list[CountOut]
    by_day: list[DayOut]
    by_category: list[CountOut]


@router.get("/statistics", response={200: StatisticsOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def statistics(request: HttpRequest, since: datetime.date | None = None):
    user = require_user(request)
    stats = selectors.statistics(user, since=since)
    return StatisticsOut(
        questions=stats.questions, handoff_rate=stats.handoff_rate, helpful=stats.helpful, unhelpful=stats.unhelpful,
        by_outcome=stats.by_outcome,
        by_venue=[CountOut(name=n, questions=q, handoff_rate=r) for n, q, r in stats.by_venue],
        by_day=[DayOut(day=d, questions=q, handoffs=h) for d, q, h in stats.by_day],
        by_category=[CountOut(name=n, questions=q) for n, q in stats.by_category],
    )  # fmt: skip
