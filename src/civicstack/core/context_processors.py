from django.utils.translation import get_language

from .city_profile import city_name


def city(request):
    language = (get_language() or "").startswith("en") and "en" or "zh"
    return {"city_name": city_name(language)}
