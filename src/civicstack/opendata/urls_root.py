"""Paths that harvesters and CKAN clients expect at the site root: ``/api/3/action/<name>`` and
``/catalog.ttl|jsonld|rdf``."""

from django.urls import path  # noqa: F401

urlpatterns = []
