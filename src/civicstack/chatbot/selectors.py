"""Reads of the chatbot module: entries, venues, the review queue (clustered) and statistics."""

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from civicstack.core.errors import NotFound, PermissionDenied
from civicstack.core.models import User
from civicstack.core.selectors import staff_scope

from . import text
from .models import Entry, KnowledgeBase, Turn, Venue

REVIEW_WINDOW = 2_000  # the most recent open questions clustered on the review page
CLUSTER_SIMILARITY = 0.5


def require_staff(user: User) -> None:
    if not staff_scope(user).is_staff:
        raise PermissionDenied(_("Staff only."))


def venue_by_code(code: str) -> Venue:
    venue = Venue.objects.filter(code=code).first()
    if venue is None:
        raise NotFound(_("No such venue."))
    return venue


def knowledge_base_by_key(key: str) -> KnowledgeBase:
    base = KnowledgeBase.objects.filter(key=key).first()
    if base is None:
        raise NotFound(_("No such knowledge base."))
    return base


def entries(
    *, query: str = "", knowledge_base: str = "", venue: str = "", category: str = ""
) -> QuerySet[Entry]:
    """Active entries, filtered; the knowledge is public, so no access check is needed to read it."""
    found = Entry.objects.filter(is_active=True).select_related(
        "knowledge_base", "venue", "agency", "translation_of"
    )
    if query:
        found = found.filter(
            Q(question__icontains=query) | Q(phrasings__icontains=query) | Q(external_id=query)
        )
    if knowledge_base:
        found = found.filter(knowledge_base__key=knowledge_base)
    if venue:
        found = found.filter(venue__code=venue)
    if category:
        found = found.filter(category=category)
    return found.order_by("external_id")


def entry_by_external_id(external_id: str) -> Entry:
    entry = (
        Entry.objects.select_related("knowledge_base", "venue", "agency")
        .filter(external_id=external_id)
        .first()
    )
    if entry is None:
        raise NotFound(_("No such entry."))
    return entry


def open_questions() -> QuerySet[Turn]:
    """Questions staff should look at: handed off, only suggestions offered, or marked unhelpful."""
    return (
        Turn.objects.filter(reviewed_at__isnull=True)
        .filter(
            Q(outcome__in=[Turn.Outcome.HANDOFF, Turn.Outcome.SUGGESTED])
            | Q(feedback=Turn.Feedback.UNHELPFUL)
        )
        .select_related("entry", "conversation__venue")
        .order_by("-created_at")
    )


@dataclass
class Cluster:
    """Questions that ask the same thing, most frequent phrasing first."""

    turns: list[Turn] = field(default_factory=list)
    grams: set = field(default_factory=set)

    @property
    def label(self) -> str:
        return self.turns[0].question

    @property
    def size(self) -> int:
        return len(self.turns)

    @property
    def unhelpful(self) -> int:
        return sum(1 for t in self.turns if t.feedback == Turn.Feedback.UNHELPFUL)

    @property
    def suggested_entry(self) -> Entry | None:
        """The entry the bot offered most often for these questions, the likely home of a new phrasing."""
        counts: dict[int, int] = {}
        for turn in self.turns:
            if turn.entry_id:
                counts[turn.entry_id] = counts.get(turn.entry_id, 0) + 1
        if not counts:
            return None
        best = max(counts, key=counts.get)
        return next(t.entry for t in self.turns if t.entry_id == best)

    @property
    def turn_ids(self) -> str:
        return ",".join(str(t.pk) for t in self.turns)


def _grams(question: str) -> set[str]:
    normalized = text.normalize(question)
    return set(text.words(normalized)) | set(text.bigrams(normalized))


def review_clusters(user: User, *, limit: int = REVIEW_WINDOW) -> list[Cluster]:
    """Open questions grouped greedily: a question joins the first cluster whose words and bigrams it
    shares at least half of (Jaccard), else starts its own; biggest clusters first."""
    require_staff(user)
    clusters: list[Cluster] = []
    for turn in open_questions()[:limit]:
        grams = _grams(turn.question)
        for cluster in clusters:
            union = grams | cluster.grams
            if union and len(grams & cluster.grams) / len(union) >= CLUSTER_SIMILARITY:
                cluster.turns.append(turn)
                break
        else:
            clusters.append(Cluster([turn], grams))
    clusters.sort(key=lambda c: (-c.size, -c.unhelpful))
    return clusters


def turns_by_ids(user: User, ids: list[int]) -> list[Turn]:
    require_staff(user)
    return list(Turn.objects.filter(pk__in=ids[:500]))


@dataclass
class Statistics:
    questions: int
    handoff_rate: float
    helpful: int
    unhelpful: int
    by_outcome: dict[str, int]
    by_venue: list[tuple[str, int, float]]  # venue name, questions, hand-off rate
    by_day: list[tuple[datetime.date, int, int]]  # day, questions, hand-offs
    by_category: list[tuple[str, int]]


def statistics(user: User, *, since: datetime.date | None = None) -> Statistics:
    require_staff(user)
    since = since or timezone.localdate() - datetime.timedelta(days=30)
    turns = Turn.objects.filter(created_at__date__gte=since)
    handoff = Q(outcome__in=[Turn.Outcome.HANDOFF, Turn.Outcome.OUT_OF_SCOPE, Turn.Outcome.SUGGESTED])
    totals = turns.aggregate(
        questions=Count("id"), handoffs=Count("id", filter=handoff),
        helpful=Count("id", filter=Q(feedback=Turn.Feedback.HELPFUL)),
        unhelpful=Count("id", filter=Q(feedback=Turn.Feedback.UNHELPFUL)),
    )  # fmt: skip
    by_outcome = dict(turns.values_list("outcome").annotate(n=Count("id")).order_by())
    venues = (
        turns.values_list("conversation__venue__name")
        .annotate(n=Count("id"), h=Count("id", filter=handoff))
        .order_by("-n")
    )
    days = (
        turns.annotate(day=TruncDate("created_at"))
        .values_list("day")
        .annotate(n=Count("id"), h=Count("id", filter=handoff))
        .order_by("day")
    )
    categories = (
        turns.exclude(category="").values_list("category").annotate(n=Count("id")).order_by("-n")[:20]
    )
    return Statistics(
        questions=totals["questions"],
        handoff_rate=totals["handoffs"] / totals["questions"] if totals["questions"] else 0.0,
        helpful=totals["helpful"], unhelpful=totals["unhelpful"], by_outcome=by_outcome,
        by_venue=[(name or _("Web chat"), n, h / n if n else 0.0) for name, n, h in venues],
        by_day=list(days), by_category=list(categories),
    )  # fmt: skip
