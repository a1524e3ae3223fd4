from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("", views.index, name="index"),
    path("d/<slug:slug>/", views.dashboard, name="dashboard"),
    path("charts/<int:chart_id>.csv", views.chart_csv, name="chart_csv"),
    path("sources/", views.sources, name="sources"),
    path("sources/<slug:code>/", views.source_detail, name="source_detail"),
    path("districts.geojson", views.districts_geojson, name="districts_geojson"),
]
