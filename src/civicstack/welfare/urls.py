from django.urls import path

from . import views

app_name = "welfare"

urlpatterns = [
    path("", views.start, name="start"),
    path("interview/<str:token>/", views.interview, name="interview"),
    path("interview/<str:token>/answer/", views.answer, name="answer"),
    path("interview/<str:token>/back/", views.back, name="back"),
    path("interview/<str:token>/results/", views.results, name="results"),
    path("benefits/", views.catalog, name="catalog"),
    path("benefits/<str:code>/", views.benefit_detail, name="benefit"),
    path("staff/", views.staff_catalog, name="staff_catalog"),
    path("staff/test/", views.staff_test, name="staff_test"),
    path("staff/benefits/<str:code>/", views.staff_rule_editor, name="staff_rule_editor"),
    path("staff/benefits/<str:code>/details/", views.staff_benefit_edit, name="staff_benefit_edit"),
]
