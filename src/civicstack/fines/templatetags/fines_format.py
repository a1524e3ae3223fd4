"""``thousands``: 12345 → 12,345 for NT$ amounts, without django.contrib.humanize (not installed)."""

from django import template

register = template.Library()


@register.filter
def thousands(value) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return ""
