from django.urls import path, re_path

from . import views

app_name = "opendata"

urlpatterns = [
    path("", views.search, name="search"),
    path("dataset/<slug:name>/", views.dataset_detail, name="dataset"),
    re_path(
        r"^dataset/(?P<name>[-\w]+)\.(?P<extension>ttl|jsonld|rdf)$", views.dataset_feed, name="dataset_feed"
    ),
    path("resource/<uuid:resource_id>/", views.resource_detail, name="resource"),
    path("resource/<uuid:resource_id>/download", views.resource_download, name="resource_download"),
    path("resource/<uuid:resource_id>/openapi.json", views.resource_openapi, name="resource_openapi"),
    path("organization/", views.organization_list, name="organizations"),
    path("organization/<str:code>/", views.organization_detail, name="organization"),
    path("quality/", views.quality_report, name="quality"),
    path("staff/", views.staff_datasets, name="staff_datasets"),
    path("staff/new/", views.staff_dataset_edit, name="staff_dataset_new"),
    path("staff/<slug:name>/", views.staff_dataset_edit, name="staff_dataset_edit"),
    path("staff/<slug:name>/resource/", views.staff_resource_add, name="staff_resource_add"),
    path("staff/<slug:name>/state/", views.staff_dataset_state, name="staff_dataset_state"),
    path("staff/export.csv", views.staff_export, name="staff_export"),
]
