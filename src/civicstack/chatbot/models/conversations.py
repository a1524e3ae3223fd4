"""What citizens asked, already masked: no identification numbers, phones or e-mails are stored."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class Conversation(models.Model):
    class Channel(models.TextChoices):
        WEB = "web", _("Web chat")
        ROBOT = "robot", _("Venue robot or kiosk")
        API = "api", _("API")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices, default=Channel.WEB)
    venue = models.ForeignKey("chatbot.Venue", verbose_name=_("venue"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="conversations")  # fmt: skip
    started_at = models.DateTimeField(_("started at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")

    def __str__(self) -> str:
        return str(self.public_id)


class Turn(models.Model):
    """One question and what the bot answered."""

    class Outcome(models.TextChoices):
        ANSWERED = "answered", _("Answered")
        SUGGESTED = "suggested", _("Suggestions offered")
        HANDOFF = "handoff", _("Handed off")
        OUT_OF_SCOPE = "out_of_scope", _("Out of scope")

    class Feedback(models.TextChoices):
        HELPFUL = "helpful", _("Helpful")
        UNHELPFUL = "unhelpful", _("Not helpful")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="turns")
    question = models.CharField(_("question (masked)"), max_length=500)
    language = models.CharField(_("language"), max_length=8)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, db_index=True)
    entry = models.ForeignKey("chatbot.Entry", verbose_name=_("best answer"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="turns")  # fmt: skip
    suggestions = models.JSONField(_("answers offered"), default=list)  # [{"id": entry id, "score": 0.81}, …]
    score = models.FloatField(_("confidence"), default=0.0)
    category = models.CharField(_("category"), max_length=40, blank=True)
    feedback = models.CharField(_("feedback"), max_length=10, choices=Feedback.choices, blank=True)
    feedback_entry = models.ForeignKey("chatbot.Entry", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+")  # fmt: skip
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("asked at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("question asked")
        verbose_name_plural = _("questions asked")
        indexes = [models.Index(fields=["reviewed_at", "outcome"]), models.Index(fields=["feedback"])]

    def __str__(self) -> str:
        return self.question
