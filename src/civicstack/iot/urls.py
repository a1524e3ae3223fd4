from django.urls import path

from . import views

app_name = "iot"

urlpatterns = [
    path("", views.station_list, name="stations"),
    path("stations/<str:code>/", views.station_detail, name="station"),
    path("quality/", views.data_quality, name="quality"),
]
