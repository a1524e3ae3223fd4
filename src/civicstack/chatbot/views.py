"""Chatbot pages: the full chat (the same widget the portal includes), and for staff the review queue
(clustered questions turned into phrasings or new entries in a click), statistics, and knowledge
import/export. Thin: they parse, call selectors/services, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civicstack.core.errors import ServiceError
from civicstack.core.selectors import staff_scope

from . import selectors, services, transfer
from .models import Entry, KnowledgeBase, Venue


def chat(request: HttpRequest) -> HttpResponse:
    venue = Venue.objects.filter(code=request.GET.get("venue", "")[:40]).first()
    return render(request, "chatbot/chat.html", {"venue": venue, "venues": Venue.objects.all()})


def _staff(request: HttpRequest) -> None:
    if not staff_scope(request.user).is_staff:
        raise DjangoPermissionDenied


@login_required
def staff_review(request: HttpRequest) -> HttpResponse:
    _staff(request)
    clusters = selectors.review_clusters(request.user)[:50]
    return render(request, "chatbot/staff_review.html", {
        "clusters": clusters, "bases": KnowledgeBase.objects.exclude(source=KnowledgeBase.Source.ESERVICES),
    })  # fmt: skip


@login_required
@require_POST
def staff_review_resolve(request: HttpRequest) -> HttpResponse:
    _staff(request)
    ids = [int(i) for i in request.POST.get("turn_ids", "").split(",") if i.strip().isdigit()]
    turns = selectors.turns_by_ids(request.user, ids)
    action = request.POST.get("action")
    try:
        if action == "add_phrasing":
            entry = selectors.entry_by_external_id(request.POST.get("entry_id", "").strip())
            services.phrasing_add(actor=request.user, entry=entry, phrasings=[], turns=turns)
            messages.success(
                request, _("The questions were added as phrasings of %(id)s.") % {"id": entry.external_id}
            )
        elif action == "new_entry":
            base = selectors.knowledge_base_by_key(request.POST.get("knowledge_base", ""))
            entry = services.entry_create_from_turns(actor=request.user, turns=turns, data=services.EntryInput(
                external_id=request.POST.get("external_id", "").strip(), question=request.POST.get("question", ""),
                answer=request.POST.get("answer", ""), knowledge_base=base, category=request.POST.get("category", ""),
            ))  # fmt: skip
            messages.success(request, _("Entry %(id)s was created.") % {"id": entry.external_id})
        else:
            services.turns_mark_reviewed(actor=request.user, turns=turns)
            messages.success(request, _("The questions were dismissed."))
    except ServiceError as exc:
        details = exc.details.values() if isinstance(exc.details, dict) else []
        messages.error(request, " ".join([exc.message, *map(str, details)]))
    return redirect("chatbot:staff_review")


@login_required
def staff_statistics(request: HttpRequest) -> HttpResponse:
    _staff(request)
    return render(request, "chatbot/staff_statistics.html", {"stats": selectors.statistics(request.user)})


@login_required
def staff_knowledge(request: HttpRequest) -> HttpResponse:
    _staff(request)
    problems = []
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise ServiceError(_("Choose a CSV or XLSX file."))
            base = selectors.knowledge_base_by_key(request.POST.get("knowledge_base", ""))
            rows = transfer.read_rows(upload.read(), upload.name)
            result = services.entries_import(actor=request.user, rows=rows, knowledge_base=base)
            messages.success(request, _("Imported: %(created)d new, %(updated)d updated.")
                             % {"created": result.created, "updated": result.updated})  # fmt: skip
            return redirect("chatbot:staff_knowledge")
        except ServiceError as exc:
            messages.error(request, exc.message)
            problems = exc.details if isinstance(exc.details, list) else []
    return render(request, "chatbot/staff_knowledge.html", {
        "bases": KnowledgeBase.objects.all(), "problems": problems, "entry_count": Entry.objects.filter(is_active=True).count(),
        "columns": transfer.COLUMNS,
    })  # fmt: skip


@login_required
def staff_export(request: HttpRequest, file_format: str) -> HttpResponse:
    _staff(request)
    base = request.GET.get("knowledge_base", "")[:40]
    rows = [services.entry_row(e) for e in selectors.entries(knowledge_base=base)]
    if file_format == "xlsx":
        response = HttpResponse(transfer.write_xlsx(rows),
                                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")  # fmt: skip
    else:
        file_format = "csv"
        response = HttpResponse(transfer.write_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="chatbot-{base or "all"}.{file_format}"'
    return response
