from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("", views.index, name="index"),
    path("d/<slug:slug>/", views.dashboard, name="dashboard"),
    path("charts/<int:chart_id>.csv", views.chart_csv, name="chart_csv"),
    path("sources/", views.sources, name="sources"),
    path("sources/<slug:code>/", views.source_detail, name="source_detail"),
    path("editor/", views.editor, name="editor"),
    path("editor/dashboards/new/", views.dashboard_edit, name="dashboard_new"),
    path("editor/dashboards/<slug:slug>/", views.dashboard_edit, name="dashboard_edit"),
    path("editor/charts/new/", views.chart_edit, name="chart_new"),
    path("editor/charts/<int:chart_id>/", views.chart_edit, name="chart_edit"),
    path("districts.geojson", views.districts_geojson, name="districts_geojson"),
]
