from django import template

register = template.Library()


@register.filter
def reading(value) -> str:
    """A measured value as people write it: at most two decimals, no trailing zeros (5.4, 35, 0.05)."""
    if value is None or value == "":
        return ""
    return f"{round(float(value), 2):.12g}"
