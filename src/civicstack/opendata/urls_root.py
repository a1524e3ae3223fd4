"""Paths that harvesters and CKAN clients expect at the site root: ``/api/3/action/<name>`` and
``/catalog.ttl|jsonld|rdf``."""

from django.urls import path, re_path

from . import ckan_api, views

urlpatterns = [
    path("api/3/action/<str:name>", ckan_api.action, name="opendata_ckan_action"),
    path("api/action/<str:name>", ckan_api.action),
    re_path(r"^catalog\.(?P<extension>ttl|jsonld|rdf)$", views.catalog_feed, name="opendata_catalog_feed"),
]
