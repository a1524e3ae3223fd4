"""Number and date formats where the city's usage differs from Django's locale defaults
(``FORMAT_MODULE_PATH``); a name not set here falls back to Django's own locale module."""
